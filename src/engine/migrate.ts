import type { AnyMachineSnapshot, AnyStateNode, StateValue } from 'xstate';
import type { DefinitionProblem } from './definition';
import { ChartError, messageOf } from './errors';
import { errorText, problemText } from './texts';
import { findUnsafeJson, isPlainObject, type JsonObject } from './json';
import { restoreSnapshot, type CompiledMachine } from './machine';

/**
 * How running charts move to a new version of their machine (SPEC §6): a map from state paths of
 * older versions to state paths of this one, and defaults for context keys this version adds.
 */
export interface MigrateMap {
  states: Record<string, string>;
  context: JsonObject;
}

export const NO_MIGRATE: MigrateMap = { states: {}, context: {} };

/** `migrate` as a node property (JSON text), in `msg.machine` or the admin API (an object); empty is none. */
export function parseMigrate(source: unknown): MigrateMap {
  let value = source;
  if (value === undefined || value === null || (typeof value === 'string' && value.trim() === '')) return NO_MIGRATE;
  if (typeof value === 'string') {
    try {
      value = JSON.parse(value);
    } catch (err) {
      throw new ChartError('definition_invalid', errorText('migrateNotJson', { message: messageOf(err) }));
    }
  }
  if (!isPlainObject(value)) throw new ChartError('definition_invalid', errorText('migrateNotObject'));
  const unsafe = findUnsafeJson(value);
  if (unsafe) throw new ChartError('definition_invalid', errorText('migrateNotPlain', { reason: unsafe }));
  const { states = {}, context = {}, ...rest } = value;
  const extra = Object.keys(rest);
  if (extra.length > 0) throw new ChartError('definition_invalid', errorText('migrateUnknownKeys', { keys: extra.join(', ') }));
  if (!isPlainObject(states) || !Object.values(states).every((to) => typeof to === 'string')) {
    throw new ChartError('definition_invalid', errorText('migrateStates'));
  }
  if (!isPlainObject(context)) throw new ChartError('definition_invalid', errorText('migrateContext'));
  return { states: states as Record<string, string>, context };
}

export function isEmptyMigrate(migrate: MigrateMap): boolean {
  return Object.keys(migrate.states).length === 0 && Object.keys(migrate.context).length === 0;
}

/** The state node at a dotted path below the root, or undefined. */
function stateAt(machine: CompiledMachine, path: string): AnyStateNode | undefined {
  let node: AnyStateNode = machine.logic.root;
  for (const key of path.split('.')) {
    const next = node.states?.[key];
    if (!next) return undefined;
    node = next;
  }
  return node;
}

/** Whether a machine definition (JSON) has a state at a dotted path below the root. */
export function definesState(definition: unknown, path: string): boolean {
  let node = definition;
  for (const key of path.split('.')) {
    const states = isPlainObject(node) ? node.states : undefined;
    if (!isPlainObject(states) || !Object.prototype.hasOwnProperty.call(states, key)) return false;
    node = states[key];
  }
  return isPlainObject(node);
}

/**
 * Each map entry whose target is not a state of the new version, or whose source is a state of
 * none of the older ones (when they are known), with the JSON path of the entry in the map.
 */
export function migrateProblems(migrate: MigrateMap, target: JsonObject, older?: unknown[]): DefinitionProblem[] {
  const problems: DefinitionProblem[] = [];
  for (const [from, to] of Object.entries(migrate.states)) {
    const at = `migrate.states[${JSON.stringify(from)}]`;
    if (!definesState(target, to)) problems.push({ path: at, message: problemText('migrateUnknownTarget', { from, to }) });
    if (older && older.length > 0 && !older.some((definition) => definesState(definition, from))) {
      problems.push({ path: at, message: problemText('migrateUnknownSource', { from, machineId: String(target.id) }) });
    }
  }
  return problems;
}

/** Dotted paths of the atomic (leaf) states of a state value. */
export function leafPaths(value: StateValue, prefix = ''): string[] {
  if (typeof value === 'string') return [prefix ? `${prefix}.${value}` : value];
  const paths: string[] = [];
  for (const [key, child] of Object.entries(value)) {
    const path = prefix ? `${prefix}.${key}` : key;
    const below = child === undefined || (typeof child === 'object' && Object.keys(child).length === 0) ? [path] : leafPaths(child as StateValue, path);
    paths.push(...below);
  }
  return paths;
}

/** A state value from leaf paths (the inverse of {@link leafPaths}). */
function valueOf(paths: string[]): StateValue {
  const tree: Record<string, unknown> = {};
  for (const path of paths) {
    let cursor = tree;
    for (const key of path.split('.')) cursor = (cursor[key] ??= {}) as Record<string, unknown>;
  }
  const collapse = (node: Record<string, unknown>): StateValue => {
    const keys = Object.keys(node);
    if (keys.length === 1 && Object.keys(node[keys[0]] as object).length === 0) return keys[0];
    return Object.fromEntries(keys.map((key) => [key, Object.keys(node[key] as object).length === 0 ? {} : collapse(node[key] as Record<string, unknown>)]));
  };
  return collapse(tree);
}

/** Where a leaf path goes under the map: its longest mapped prefix replaced, or itself. */
function mapPath(path: string, states: Record<string, string>): string {
  const segments = path.split('.');
  for (let n = segments.length; n > 0; n--) {
    const from = segments.slice(0, n).join('.');
    const to = states[from];
    if (to !== undefined) return [to, ...segments.slice(n)].join('.');
  }
  return path;
}

/** What moving to a version does to a chart in a state: nothing to map, a mapped move, or no way there. */
export type Move = { kind: 'move' } | { kind: 'map'; value: StateValue; paths: Map<string, string> } | { kind: 'stay'; reason: string };

/**
 * How a chart in `value` (of version `from`) gets to version `to`: as it is when its states exist
 * there; through the map when they do not and the map leads them to states that exist (each leaf
 * state to where its longest mapped prefix goes); else it stays.
 */
export function planMove(value: StateValue, to: CompiledMachine, migrate: MigrateMap): Move {
  const leaves = leafPaths(value);
  if (leaves.every((path) => stateAt(to, path))) return { kind: 'move' };
  const paths = new Map(leaves.map((path) => [path, mapPath(path, migrate.states)]));
  const missing = [...paths.values()].filter((path) => !stateAt(to, path));
  if (missing.length > 0) {
    const states = missing.map((p) => JSON.stringify(p)).join(', ');
    const mapped = Object.keys(migrate.states).length > 0;
    return { kind: 'stay', reason: mapped ? errorText('stateGoneUnmapped', { states }) : errorText('stateGone', { states }) };
  }
  return { kind: 'map', value: valueOf([...paths.values()]), paths };
}

/** A snapshot of `from` restored in `to` through a planned map; history is not carried over, context gains the map's defaults. */
export function mappedSnapshot(snapshot: AnyMachineSnapshot, from: CompiledMachine, to: CompiledMachine, move: Move & { kind: 'map' }, migrate: MigrateMap): AnyMachineSnapshot {
  const persisted = from.logic.getPersistedSnapshot(snapshot) as JsonObject;
  return restoreSnapshot(to, { ...persisted, value: move.value, historyValue: {}, context: withDefaults(persisted.context, migrate) });
}

/** The context with the map's default for each key it lacks. */
export function withDefaults(context: unknown, migrate: MigrateMap): JsonObject {
  const base = isPlainObject(context) ? context : {};
  const added = Object.entries(migrate.context).filter(([key]) => !(key in base));
  return added.length === 0 ? base : { ...base, ...structuredClone(Object.fromEntries(added)) };
}

/** The `after` timers of a machine: event type → the state's path and the delay key. */
function afterTimers(machine: CompiledMachine): Map<string, { path: string; delay: string }> {
  const timers = new Map<string, { path: string; delay: string }>();
  const visit = (node: AnyStateNode) => {
    for (const transition of (node.after ?? []) as Array<{ eventType: string; delay: unknown }>) {
      timers.set(transition.eventType, { path: node.path.join('.'), delay: String(transition.delay) });
    }
    for (const child of Object.values(node.states ?? {})) visit(child as AnyStateNode);
  };
  visit(machine.logic.root);
  return timers;
}

/**
 * What becomes of a pending timer (its event type) when its chart moves from `from` to `to`
 * (through `paths`, old leaf path → new): the same event when it still names a state of `to` with
 * that delay; the event of the mapped state's same delay; or undefined: the timer has nowhere to
 * fire and is dropped. Events that are not `after` timers (a delayed raise) are kept as they are.
 */
export function movedTimer(eventType: string, from: CompiledMachine, to: CompiledMachine, paths?: Map<string, string>): string | undefined {
  const old = afterTimers(from).get(eventType);
  if (!old) return eventType;
  const now = afterTimers(to);
  const mapped = paths ? mapPrefix(old.path, paths) : old.path;
  for (const [type, timer] of now) if (timer.path === mapped && timer.delay === old.delay) return type;
  return undefined;
}

/** A state path under a map of leaf paths (a compound state goes where its leaves' common prefix maps). */
function mapPrefix(path: string, paths: Map<string, string>): string {
  for (const [from, to] of paths) {
    if (from === path) return to;
    if (from.startsWith(`${path}.`)) {
      const rest = from.slice(path.length);
      if (to.endsWith(rest)) return to.slice(0, to.length - rest.length);
    }
  }
  return path;
}
