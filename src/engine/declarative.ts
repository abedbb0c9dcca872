import jsonLogic from 'json-logic-js';
import { assign } from 'xstate';
import { isInheritedName, isPlainObject } from './json';
import { problemText } from './texts';

/**
 * Implementations that are data, safe to keep in the database: JSON Logic (jsonlogic.com) rules
 * evaluated over `{ context, event }`.
 *   guard  { "type": "expr",   "params": <rule> }
 *   action { "type": "assign", "params": { "key": <rule>, ... } }
 * json-logic-js 2.x has no `method` operation, so a rule cannot call code.
 */
export const DECLARATIVE_GUARDS = ['expr'] as const;
export const DECLARATIVE_ACTIONS = ['assign'] as const;

const OPERATORS = new Set([
  '==', '===', '!=', '!==', '>', '>=', '<', '<=', '!!', '!', '%', 'log', 'in', 'cat', 'substr', '+', '*', '-', '/',
  'min', 'max', 'merge', 'var', 'missing', 'missing_some', 'if', '?:', 'and', 'or', 'filter', 'map', 'reduce', 'all', 'none', 'some',
]);

/** A description of what is wrong with a JSON Logic rule, or undefined when it is well formed. */
export function jsonLogicProblem(rule: unknown): string | undefined {
  if (Array.isArray(rule)) {
    for (const item of rule) {
      const problem = jsonLogicProblem(item);
      if (problem) return problem;
    }
    return undefined;
  }
  if (!isPlainObject(rule)) return undefined;
  const keys = Object.keys(rule);
  // Objects with several keys are data to JSON Logic; one key is an operation.
  if (keys.length !== 1) return undefined;
  const [operator] = keys;
  if (!OPERATORS.has(operator)) return problemText('reasonUnknownOperator', { operator });
  if (operator === 'var') {
    const path = Array.isArray(rule.var) ? rule.var[0] : rule.var;
    const inherited = typeof path === 'string' ? path.split('.').find(isInheritedName) : undefined;
    if (inherited) return problemText('reasonInheritedVar', { name: inherited });
  }
  return jsonLogicProblem(rule[operator]);
}

/**
 * json-logic-js's own `var` walks any property, inherited ones included (`context.constructor` is
 * a function). This one reads only the data's own properties; for data it answers the same. It
 * replaces the operation in the module, which is shared: other users get the same answers for data.
 */
function ownVar(this: unknown, path: unknown, fallback?: unknown): unknown {
  const notFound = fallback === undefined ? null : fallback;
  if (path === undefined || path === null || path === '') return this;
  let data: unknown = this;
  for (const key of String(path).split('.')) {
    if (data === null || data === undefined || !Object.prototype.hasOwnProperty.call(data, key)) return notFound;
    data = (data as Record<string, unknown>)[key];
    if (data === undefined) return notFound;
  }
  return data;
}
jsonLogic.add_operation('var', ownVar as never);

type Scope = { context: unknown; event: unknown };

export function evaluate(rule: unknown, scope: Scope): unknown {
  return jsonLogic.apply(rule as never, scope as never);
}

export function declarativeImplementations() {
  return {
    guards: {
      expr: ({ context, event }: Scope, rule: unknown) => jsonLogic.truthy(evaluate(rule, { context, event })),
    },
    actions: {
      assign: assign(({ context, event }: Scope, params: unknown) => {
        const patch: Record<string, unknown> = {};
        for (const [key, rule] of Object.entries(params as Record<string, unknown>)) {
          if (key === '__proto__') continue;
          patch[key] = evaluate(rule, { context, event });
        }
        return patch;
      }),
    },
  };
}
