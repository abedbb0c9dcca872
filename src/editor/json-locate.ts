/**
 * Finds where a JSON path of a validation problem (`states.Negotiate.on.agree[0].target`,
 * `on["a.b"]`, '' for the whole definition) sits in the JSON text the user is typing, so that the
 * code editor can mark that line. Pure and forgiving: text that stops parsing halfway still locates
 * what came before the error.
 */

/** A path's steps: object keys and array indexes. */
export type PathStep = string | number;

/**
 * Reads a JSON path as the validation writes it: plain names joined with dots, array indexes as
 * `[0]`, other keys as quoted JSON strings in brackets (`["a.b"]`, `["x\"y"]`). A key in brackets that
 * is not valid JSON text is taken as written. Dots inside an unquoted name cannot be told from
 * separators here; `locate` takes care of keys that contain dots.
 */
export function parsePath(path: string): PathStep[] {
  const steps: PathStep[] = [];
  let i = 0;
  let name = '';
  let named = false;
  const flush = () => {
    if (named) steps.push(name);
    name = '';
    named = false;
  };
  while (i < path.length) {
    const char = path[i];
    if (char === '.') {
      flush();
      i++;
    } else if (char === '[') {
      flush();
      if (path[i + 1] === '"') {
        // A quoted key: up to the closing quote that is not escaped, then `]`.
        let j = i + 2;
        while (j < path.length && path[j] !== '"') j += path[j] === '\\' ? 2 : 1;
        const quoted = path.slice(i + 1, j + 1);
        let key: string;
        try {
          key = JSON.parse(quoted) as string;
        } catch {
          key = quoted.slice(1, -1);
        }
        steps.push(key);
        i = path[j + 1] === ']' ? j + 2 : j + 1;
      } else {
        const end = path.indexOf(']', i);
        const inside = end < 0 ? path.slice(i + 1) : path.slice(i + 1, end);
        steps.push(/^\d+$/.test(inside) ? Number(inside) : inside);
        i = end < 0 ? path.length : end + 1;
      }
    } else {
      name += char;
      named = true;
      i++;
    }
  }
  flush();
  return steps;
}

/** A value in the text: where it starts and, for objects and arrays, what it holds. */
interface Node {
  start: number;
  /** Object members by key (the last of duplicate keys wins, as in `JSON.parse`), with where the key starts. */
  members?: Map<string, { keyStart: number; value?: Node }>;
  items?: Node[];
}

/**
 * Reads JSON text into positions of its values. Stops at the first syntax error and keeps what it has
 * read so far (the open objects and arrays are left as they are).
 */
export function outline(text: string): Node | undefined {
  let i = 0;
  const space = () => {
    while (i < text.length && /\s/.test(text[i])) i++;
  };
  const fail = (): never => {
    throw new Stop();
  };
  const string = (): string => {
    const start = i;
    i++;
    while (i < text.length && text[i] !== '"') i += text[i] === '\\' ? 2 : 1;
    if (i >= text.length) fail();
    i++;
    try {
      return JSON.parse(text.slice(start, i)) as string;
    } catch {
      return text.slice(start + 1, i - 1);
    }
  };
  /** The items of an object or array, the opening bracket at `i`: `item` reads one, then `,` or `close`. */
  const sequence = (close: string, item: () => void) => {
    i++;
    space();
    if (text[i] === close) {
      i++;
      return;
    }
    for (;;) {
      item();
      space();
      if (text[i] === ',') i++;
      else if (text[i] === close) {
        i++;
        return;
      } else fail();
    }
  };
  const value = (into: (node: Node) => void): void => {
    space();
    const node: Node = { start: i };
    const char = text[i];
    if (char === '{') {
      const members = new Map<string, { keyStart: number; value?: Node }>();
      node.members = members;
      into(node);
      sequence('}', () => {
        space();
        if (text[i] !== '"') fail();
        const keyStart = i;
        const key = string();
        const member: { keyStart: number; value?: Node } = { keyStart };
        members.delete(key);
        members.set(key, member);
        space();
        if (text[i] !== ':') fail();
        i++;
        value((child) => (member.value = child));
      });
    } else if (char === '[') {
      const items: Node[] = [];
      node.items = items;
      into(node);
      sequence(']', () => value((child) => items.push(child)));
    } else if (char === '"') {
      into(node);
      string();
    } else {
      const literal = /^(?:-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?|true|false|null)/.exec(text.slice(i, i + 400));
      if (!literal) fail();
      into(node);
      i += literal![0].length;
    }
  };
  let root: Node | undefined;
  try {
    value((node) => (root = node));
  } catch (err) {
    if (!(err instanceof Stop)) throw err;
  }
  return root;
}

class Stop extends Error {}

export interface Location {
  /** 0-based line, as ace counts (monaco adds 1). */
  row: number;
  /** 0-based column. */
  column: number;
  /** Offset in the text. */
  offset: number;
  /** False when only a part of the path was found (the location of its deepest part that exists). */
  exact: boolean;
}

/** The step's key as it sits in `members`, allowing for unquoted names that contain dots. */
function memberFor(members: Map<string, unknown>, steps: PathStep[], index: number): { key: string; used: number } | undefined {
  const step = steps[index];
  if (typeof step === 'number') return members.has(String(step)) ? { key: String(step), used: 1 } : undefined;
  // The longest run of steps that, joined with dots, is a key: `on.a.b` with a key "a.b".
  let best: { key: string; used: number } | undefined;
  let joined = '';
  for (let n = index; n < steps.length && typeof steps[n] === 'string'; n++) {
    joined = n === index ? (steps[n] as string) : `${joined}.${steps[n] as string}`;
    if (members.has(joined)) best = { key: joined, used: n - index + 1 };
  }
  return best;
}

function position(text: string, offset: number): { row: number; column: number } {
  let row = 0;
  let lineStart = 0;
  for (let i = 0; i < offset && i < text.length; i++) {
    if (text[i] === '\n') {
      row++;
      lineStart = i + 1;
    }
  }
  return { row, column: offset - lineStart };
}

/**
 * Where `path` sits in `text`: an object member at its key, an array item at its first character.
 * When the path goes further than the text (`on.go[0].target` where `"go": "B"` is shorthand), the
 * deepest part that exists, with `exact: false`. Undefined for '' (the whole definition) and when not
 * even the first step exists.
 */
export function locate(text: string, path: string): Location | undefined {
  const steps = parsePath(path);
  if (!steps.length) return undefined;
  let node = outline(text);
  let found: number | undefined;
  let i = 0;
  while (node && i < steps.length) {
    const step = steps[i];
    if (node.members) {
      const member = memberFor(node.members, steps, i);
      if (!member) break;
      const { keyStart, value } = node.members.get(member.key)!;
      found = keyStart;
      node = value;
      i += member.used;
    } else if (node.items && typeof step === 'number' && step < node.items.length) {
      node = node.items[step];
      found = node.start;
      i++;
    } else break;
  }
  if (found === undefined) return undefined;
  return { ...position(text, found), offset: found, exact: i === steps.length };
}
