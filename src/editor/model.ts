/**
 * A machine definition (the JSON config the package runs) read as a diagram: its states as a tree and
 * its transitions with their labels and resolved targets. Pure and forgiving: whatever part of a
 * half-typed definition can be read is returned, nothing throws. Target resolution follows XState v5's
 * `resolveTarget`: `#id.path`, `.child` (from the source) and `sibling.path` (from the source's parent).
 */

export type StateKind = 'atomic' | 'compound' | 'parallel' | 'final' | 'history';

export interface DiagramState {
  /** State keys below the root joined with dots; the root is `""`. */
  path: string;
  /** The state's key; for the root, the machine id. */
  key: string;
  parent: string | null;
  kind: StateKind;
  /** For history states. */
  history?: 'shallow' | 'deep';
  /** Path of the initial child of a compound state, when it names one that exists. */
  initial?: string;
  /** Child paths in definition order. */
  children: string[];
  entry: string[];
  exit: string[];
}

export interface DiagramTarget {
  /** The target as written. */
  text: string;
  /** The resolved state's path, or null when it cannot be resolved. */
  path: string | null;
}

export interface DiagramTransition {
  /** Unique within the model, in definition order. */
  id: string;
  /** `{source path}:{event}`, the value of `data-transition`. */
  key: string;
  source: string;
  /** The event as shown: the event type, `after 2s`, `always`, `onDone`. */
  event: string;
  guard?: string;
  /** `event [guard]`. */
  label: string;
  actions: string[];
  /** Empty for a targetless transition (drawn as a self-loop). */
  targets: DiagramTarget[];
}

export interface DiagramModel {
  /** The machine id, `(machine)` when it has none (as XState names it). */
  id: string;
  /** States in document order, parents before their children; the root first. */
  states: DiagramState[];
  transitions: DiagramTransition[];
}

type Json = Record<string, unknown>;

const isObject = (value: unknown): value is Json => typeof value === 'object' && value !== null && !Array.isArray(value);

const toArray = <T>(value: T | T[] | undefined): T[] => (value === undefined ? [] : Array.isArray(value) ? value : [value]);

/** The names of actions or a guard: a string, or an object's `type`. */
function nameOf(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (isObject(value) && typeof value.type === 'string') return value.type;
  return undefined;
}

const namesOf = (value: unknown): string[] => toArray(value).map(nameOf).filter((name): name is string => name !== undefined);

/** XState's `toStatePath`: a dotted path, `\` escaping the next character. */
export function toStatePath(text: string): string[] {
  const result: string[] = [];
  let segment = '';
  for (let i = 0; i < text.length; i++) {
    const char = text[i];
    if (char === '\\') {
      segment += text[i + 1] ?? '';
      i++;
    } else if (char === '.') {
      result.push(segment);
      segment = '';
    } else {
      segment += char;
    }
  }
  result.push(segment);
  return result;
}

const UNITS: Array<[number, string]> = [
  [3_600_000, 'h'],
  [60_000, 'm'],
  [1000, 's'],
];

/** A delay in ms as people write it: `500ms`, `2s`, `1.5s`, `5m`, `2h`. */
export function formatDelay(ms: number): string {
  if (!Number.isFinite(ms)) return String(ms);
  if (ms !== 0) {
    for (const [size, unit] of UNITS) if (ms % size === 0) return `${ms / size}${unit}`;
  }
  if (Math.abs(ms) < 1000) return `${ms}ms`;
  return `${ms / 1000}s`;
}

/** The label of an `after` key: numbers are ms (as XState reads them: `+key`), others as written. */
export function delayLabel(key: string): string {
  const ms = +key;
  return `after ${Number.isNaN(ms) || key.trim() === '' ? key : formatDelay(ms)}`;
}

interface Node {
  state: DiagramState;
  config: Json;
  states: Map<string, Node>;
  parentNode: Node | null;
}

/** A definition as an object: JSON text is parsed, anything unreadable is an empty machine. */
function readDefinition(definition: unknown): Json {
  if (typeof definition === 'string') {
    try {
      definition = JSON.parse(definition);
    } catch {
      return {};
    }
  }
  return isObject(definition) ? definition : {};
}

function kindOf(config: Json, states: Json | undefined): StateKind {
  const type = config.type;
  if (type === 'parallel' || type === 'final' || type === 'history' || type === 'atomic' || type === 'compound') {
    return type === 'compound' && !states ? 'atomic' : type;
  }
  if (states && Object.keys(states).length) return 'compound';
  return config.history ? 'history' : 'atomic';
}

/** Reads a definition into the diagram's states and transitions. */
export function graphModel(definition: unknown): DiagramModel {
  const root = readDefinition(definition);
  const machineId = typeof root.id === 'string' && root.id ? root.id : '(machine)';
  const states: DiagramState[] = [];
  const byId = new Map<string, Node>();
  const nodes: Node[] = [];

  const visit = (config: Json, key: string, path: string, parentNode: Node | null): Node => {
    const children = isObject(config.states) ? config.states : undefined;
    const kind = kindOf(config, children);
    const state: DiagramState = {
      path,
      key,
      parent: parentNode ? parentNode.state.path : null,
      kind,
      children: [],
      entry: namesOf(config.entry),
      exit: namesOf(config.exit),
    };
    if (kind === 'history') state.history = config.history === 'deep' ? 'deep' : 'shallow';
    const node: Node = { state, config, states: new Map(), parentNode };
    states.push(state);
    nodes.push(node);
    const id = typeof config.id === 'string' && config.id ? config.id : [machineId, ...(path ? [path] : [])].join('.');
    // XState's idMap: a later state with the same id replaces an earlier one.
    byId.set(id, node);
    if (kind !== 'history' && children) {
      for (const [childKey, childConfig] of Object.entries(children)) {
        const childPath = path ? `${path}.${childKey}` : childKey;
        const child = visit(isObject(childConfig) ? childConfig : {}, childKey, childPath, node);
        node.states.set(childKey, child);
        state.children.push(childPath);
      }
    }
    const initial = nameOfInitial(config.initial);
    if (kind === 'compound' && initial !== undefined && node.states.has(initial)) state.initial = node.states.get(initial)!.state.path;
    return node;
  };
  visit(root, machineId, '', null);

  const byPath = (from: Node, segments: string[]): Node | null => {
    let current: Node | undefined = from;
    for (const segment of segments) {
      if (!segment.length) break;
      current = segment.startsWith('#') ? byStateId(segment) : current.states.get(segment);
      if (!current) return null;
    }
    return current;
  };
  const byStateId = (text: string): Node | undefined => {
    const [first, ...rest] = toStatePath(text);
    const node = byId.get(first.slice(1));
    return node ? byPath(node, rest) ?? undefined : undefined;
  };
  const resolve = (source: Node, target: string): string | null => {
    let found: Node | null | undefined;
    if (target.startsWith('#')) found = byStateId(target);
    else if (target.startsWith('.')) found = source.parentNode ? byPath(source.parentNode, toStatePath(source.state.key + target)) : byPath(source, toStatePath(target.slice(1)));
    else found = source.parentNode ? byPath(source.parentNode, toStatePath(target)) : null;
    return found ? found.state.path : null;
  };

  const transitions: DiagramTransition[] = [];
  const add = (source: Node, event: string, configLike: unknown) => {
    for (const entry of toArray(configLike)) {
      const config: Json = typeof entry === 'string' ? { target: entry } : isObject(entry) ? entry : {};
      const guard = nameOf(config.guard);
      const targets = toArray(config.target)
        .filter((text): text is string => typeof text === 'string')
        .map((text) => ({ text, path: resolve(source, text) }));
      transitions.push({
        id: `t${transitions.length}`,
        key: `${source.state.path}:${event}`,
        source: source.state.path,
        event,
        ...(guard !== undefined ? { guard } : {}),
        label: guard !== undefined ? `${event} [${guard}]` : event,
        actions: namesOf(config.actions),
        targets,
      });
    }
  };
  for (const node of nodes) {
    const { config } = node;
    if (node.state.kind === 'history') continue;
    if (isObject(config.on)) for (const [event, value] of Object.entries(config.on)) add(node, event, value);
    if (isObject(config.after)) for (const [delay, value] of Object.entries(config.after)) add(node, delayLabel(delay), value);
    if (config.always !== undefined) add(node, 'always', config.always);
    if (config.onDone !== undefined) add(node, 'onDone', config.onDone);
  }
  return { id: machineId, states, transitions };
}

function nameOfInitial(initial: unknown): string | undefined {
  if (typeof initial === 'string') return initial;
  if (isObject(initial) && typeof initial.target === 'string') return initial.target;
  return undefined;
}

/**
 * The paths of the states a state value makes active, the root included: `"Idle"`,
 * `{ "Negotiate": "Propose" }`, parallel objects. Keys the model does not know are skipped.
 */
export function activePaths(model: DiagramModel, value: unknown): Set<string> {
  const known = new Set(model.states.map((state) => state.path));
  const active = new Set<string>();
  if (value === undefined || value === null) return active;
  active.add('');
  const walk = (prefix: string, value: unknown) => {
    const mark = (key: string): string | null => {
      const path = prefix ? `${prefix}.${key}` : key;
      if (!known.has(path)) return null;
      active.add(path);
      return path;
    };
    if (typeof value === 'string') mark(value);
    else if (isObject(value)) {
      for (const [key, child] of Object.entries(value)) {
        const path = mark(key);
        if (path !== null) walk(path, child);
      }
    }
  };
  walk('', value);
  return active;
}
