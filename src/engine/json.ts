import { problemText } from './texts';
/**
 * JSON hygiene shared by definitions and events: data from the outside must not reach an object's
 * prototype (`__proto__` keys), nor nest deep enough to exhaust the stack of the code that walks it.
 */
export const MAX_JSON_DEPTH = 64;

export type JsonObject = { [key: string]: unknown };

export function isPlainObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !Buffer.isBuffer(value);
}

/** Returns a problem description, or undefined when the value is safe JSON data. */
export function findUnsafeJson(value: unknown, maxDepth = MAX_JSON_DEPTH): string | undefined {
  const walk = (node: unknown, depth: number, path: string): string | undefined => {
    if (node === null || typeof node !== 'object') {
      if (typeof node === 'number' && !Number.isFinite(node)) return problemText('reasonNotFinite', { path: path || problemText('reasonValue') });
      // PostgreSQL's jsonb cannot hold a NUL character.
      if (typeof node === 'string' && node.includes('\u0000')) return problemText('reasonNul', { path: path || problemText('reasonValue') });
      if (typeof node === 'function' || typeof node === 'symbol' || typeof node === 'bigint') {
        return problemText('reasonNotJson', { path: path || problemText('reasonValue') });
      }
      return undefined;
    }
    if (depth > maxDepth) return problemText('reasonTooDeep', { max: maxDepth });
    if (Array.isArray(node)) {
      for (let i = 0; i < node.length; i++) {
        const problem = walk(node[i], depth + 1, `${path}[${i}]`);
        if (problem) return problem;
      }
      return undefined;
    }
    for (const key of Object.keys(node)) {
      if (key === '__proto__') return problemText('reasonProto', { key: '__proto__', path: path || problemText('reasonTopLevel') });
      if (key.includes('\u0000')) return problemText('reasonKeyNul', { path: path || problemText('reasonTopLevel') });
      const problem = walk((node as JsonObject)[key], depth + 1, path ? `${path}.${key}` : key);
      if (problem) return problem;
    }
    return undefined;
  };
  return walk(value, 0, '');
}

/**
 * Names that plain objects already have (`toString`, `constructor`, `__proto__`...): looked up by
 * name in an object of implementations or data, they find a built-in function instead of nothing.
 */
const INHERITED = new Set(Object.getOwnPropertyNames(Object.prototype));

export function isInheritedName(name: string): boolean {
  return INHERITED.has(name);
}
