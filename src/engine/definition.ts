import { ChartError, messageOf } from './errors';
import { problemText } from './texts';
import { findUnsafeJson, isInheritedName, isPlainObject, JsonObject } from './json';
import { isIsoDuration } from './delays';
import { DECLARATIVE_ACTIONS, DECLARATIVE_GUARDS, jsonLogicProblem } from './declarative';

/** Names of the implementations a machine may reference (the code itself is bound later). */
export interface ImplementationNames {
  actions: ReadonlySet<string>;
  guards: ReadonlySet<string>;
  delays: ReadonlySet<string>;
}

export const NO_IMPLEMENTATIONS: ImplementationNames = {
  actions: new Set(),
  guards: new Set(),
  delays: new Set(),
};

/**
 * For machines written to the store, whose implementations live in the chart nodes that run them:
 * any guard or delay name is accepted here and checked by each node when it loads the machine.
 */
const ANY_NAME = { has: () => true } as unknown as ReadonlySet<string>;
export const ANY_IMPLEMENTATIONS: ImplementationNames = { actions: ANY_NAME, guards: ANY_NAME, delays: ANY_NAME };

/** MQTT topic levels cannot hold wildcards or separators; control characters make topics nobody can type. */
const NOT_IN_TOPIC_LEVEL = /[/+#\u0000-\u001f\u007f]/;

/** A machine id is published as a topic level (`value/{machine id}`) and referenced as `#id`. */
const MACHINE_ID = /^[A-Za-z0-9_\-:]{1,128}$/;
const STATE_TYPES = new Set(['atomic', 'compound', 'parallel', 'final', 'history']);
const TRANSITION_KEYS = ['on', 'after', 'always', 'onDone'] as const;

interface StateInfo {
  /** Path below the root, joined with dots; '' for the root. */
  path: string;
  /** Where its config sits in the definition, as a JSON path ('' for the root). */
  at: string;
  config: JsonObject;
  parent?: StateInfo;
  children: Map<string, StateInfo>;
}

/** One thing wrong with a definition: where (a JSON path into it, '' for the whole) and what. */
export interface DefinitionProblem {
  path: string;
  message: string;
}

/** A definition that failed validation: the message a person reads, and each problem with its path. */
export class DefinitionError extends ChartError {
  constructor(readonly problems: DefinitionProblem[]) {
    const shown = problems.slice(0, 10).map((p) => p.message);
    const more = problems.length > shown.length ? problemText('andMore', { n: problems.length - shown.length }) : '';
    super('definition_invalid', shown.join(' ') + more);
  }
}

type Problems = DefinitionProblem[];

/** `a.b` + `c` → `a.b.c`; keys that are not plain names are quoted (`on["a.b"]`), indexes bracketed. */
export function jsonPath(base: string, key: string | number): string {
  if (typeof key === 'number') return `${base}[${key}]`;
  if (/^[A-Za-z0-9_$-]+$/.test(key)) return base ? `${base}.${key}` : key;
  return `${base}[${JSON.stringify(key)}]`;
}

/**
 * Parses and checks a machine definition (JSON text or object) the way a person needs it: every
 * problem named with the state and event it sits in, no stack traces. XState checks less at
 * `createMachine` (it names only the first id of a bad target) and lets an unknown named delay fire
 * at once, so the checks that matter are made here first.
 */
export function parseDefinition(source: unknown, names: ImplementationNames = NO_IMPLEMENTATIONS): JsonObject {
  let definition: unknown = source;
  const fail = (message: string) => new DefinitionError([{ path: '', message }]);
  if (typeof source === 'string') {
    if (source.trim() === '') throw fail(problemText('definitionEmpty'));
    try {
      definition = JSON.parse(source);
    } catch (err) {
      throw fail(problemText('definitionNotJson', { message: messageOf(err) }));
    }
  }
  if (!isPlainObject(definition)) throw fail(problemText('definitionNotObject'));
  const unsafe = findUnsafeJson(definition);
  if (unsafe) throw fail(problemText('definitionNotPlain', { reason: unsafe }));

  const problems: Problems = [];
  const id = definition.id;
  if (typeof id !== 'string' || !MACHINE_ID.test(id)) {
    problems.push({
      path: 'id',
      message: problemText('machineId'),
    });
  }
  if ('context' in definition && !isPlainObject(definition.context)) {
    problems.push({ path: 'context', message: problemText('contextNotObject') });
  }
  if (problems.length === 0) {
    const root = collectStates(definition, problems);
    const ids = collectIds(root, id as string, problems);
    checkStates(root, ids, names, problems);
  }
  if (problems.length > 0) throw new DefinitionError(problems);
  return definition;
}

function collectStates(config: JsonObject, problems: Problems, path = '', at = '', parent?: StateInfo): StateInfo {
  const info: StateInfo = { path, at, config, parent, children: new Map() };
  const states = config.states;
  if (states === undefined) return info;
  const statesAt = jsonPath(at, 'states');
  if (!isPlainObject(states)) {
    problems.push({ path: statesAt, message: placed(describe(path), problemText('statesNotObject')) });
    return info;
  }
  for (const [key, child] of Object.entries(states)) {
    const childPath = path ? `${path}.${key}` : key;
    const childAt = jsonPath(statesAt, key);
    if (key === '' || key.includes('.') || NOT_IN_TOPIC_LEVEL.test(key)) {
      problems.push({ path: childAt, message: problemText('badStateName', { name: JSON.stringify(childPath) }) });
      continue;
    }
    if (!isPlainObject(child)) {
      problems.push({ path: childAt, message: problemText('stateNotObject', { path: childPath }) });
      continue;
    }
    info.children.set(key, collectStates(child, problems, childPath, childAt, info));
  }
  return info;
}

/** The `#id` table XState builds: custom `id`s, and the machine id for the root. */
function collectIds(root: StateInfo, machineId: string, problems: Problems): Map<string, StateInfo> {
  const ids = new Map<string, StateInfo>([[machineId, root]]);
  const visit = (state: StateInfo) => {
    for (const child of state.children.values()) {
      const customId = child.config.id;
      if (customId !== undefined) {
        if (typeof customId !== 'string' || customId === '' || customId.includes('.')) {
          problems.push({ path: jsonPath(child.at, 'id'), message: problemText('badStateId', { path: child.path }) });
        } else if (ids.has(customId)) {
          problems.push({ path: jsonPath(child.at, 'id'), message: problemText('duplicateId', { path: child.path, id: customId }) });
        } else {
          ids.set(customId, child);
        }
      }
      visit(child);
    }
  };
  visit(root);
  return ids;
}

/** Where a check looks: the words that name it for a person, and its JSON path in the definition. */
interface Place {
  label: string;
  at: string;
}

const at = (place: Place, key: string | number): Place => ({ label: place.label, at: jsonPath(place.at, key) });

function checkStates(root: StateInfo, ids: Map<string, StateInfo>, names: ImplementationNames, problems: Problems): void {
  const visit = (state: StateInfo) => {
    const { config, path } = state;
    const where = describe(path);
    const here = (key: string, label = where): Place => ({ label, at: jsonPath(state.at, key) });
    const type = config.type;
    if (type !== undefined && (typeof type !== 'string' || !STATE_TYPES.has(type))) {
      problems.push({ path: here('type').at, message: placed(where, problemText('unknownType', { type: JSON.stringify(type), types: [...STATE_TYPES].join(', ') })) });
    }
    if (config.invoke !== undefined) {
      problems.push({ path: here('invoke').at, message: placed(where, problemText('invoke')) });
    }
    if (state.children.size > 0 && type !== 'parallel' && config.initial !== undefined) {
      if (typeof config.initial !== 'string' || !state.children.has(config.initial)) {
        problems.push({ path: here('initial').at, message: placed(where, problemText('badInitial', { initial: JSON.stringify(config.initial), states: [...state.children.keys()].join(', ') })) });
      }
    }
    if (state.children.size > 0 && type !== 'parallel' && config.initial === undefined) {
      problems.push({ path: state.at, message: placed(where, problemText('noInitial', { states: [...state.children.keys()].join(', ') })) });
    }
    checkActionList(config.entry, here('entry', problemText('placeKey', { place: where, key: 'entry' })), names, problems);
    checkActionList(config.exit, here('exit', problemText('placeKey', { place: where, key: 'exit' })), names, problems);
    for (const key of TRANSITION_KEYS) {
      const group = config[key];
      if (group === undefined) continue;
      if (key === 'always' || key === 'onDone') {
        checkTransitions(group, state, here(key, problemText('placeKey', { place: where, key })), ids, names, problems);
        continue;
      }
      if (!isPlainObject(group)) {
        problems.push({ path: here(key).at, message: placed(where, problemText('groupNotObject', { key })) });
        continue;
      }
      for (const [name, transitions] of Object.entries(group)) {
        const place = { label: key === 'on' ? problemText('placeEvent', { place: where, name }) : problemText('placeAfter', { place: where, name }), at: jsonPath(jsonPath(state.at, key), name) };
        if (key === 'after') checkDelay(name, { label: where, at: place.at }, names, problems);
        checkTransitions(transitions, state, place, ids, names, problems);
      }
    }
    for (const child of state.children.values()) visit(child);
  };
  visit(root);
}

function checkDelay(name: string, place: Place, names: ImplementationNames, problems: Problems): void {
  if (/^\d+$/.test(name) || isIsoDuration(name)) return;
  if (isInheritedName(name)) {
    problems.push({ path: place.at, message: placed(place.label, problemText('inheritedDelay', { name })) });
    return;
  }
  if (names.delays.has(name)) return;
  problems.push({ path: place.at, message: placed(place.label, problemText('unknownDelay', { name })) });
}

/** Every `after` key of the definition that is an ISO 8601 duration. */
export function isoDelayKeys(definition: JsonObject): string[] {
  const keys = new Set<string>();
  const visit = (state: JsonObject) => {
    if (isPlainObject(state.after)) for (const key of Object.keys(state.after)) if (isIsoDuration(key)) keys.add(key);
    if (isPlainObject(state.states)) for (const child of Object.values(state.states)) if (isPlainObject(child)) visit(child);
  };
  visit(definition);
  return [...keys];
}

function checkTransitions(value: unknown, source: StateInfo, place: Place, ids: Map<string, StateInfo>, names: ImplementationNames, problems: Problems): void {
  const list = Array.isArray(value) ? value : [value];
  list.forEach((transition, index) => {
    const one = Array.isArray(value) ? at(place, index) : place;
    if (transition === undefined || transition === null) return;
    if (typeof transition === 'string') {
      checkTarget(transition, source, one, ids, problems);
      return;
    }
    if (!isPlainObject(transition)) {
      problems.push({ path: one.at, message: placed(place.label, problemText('badTransition')) });
      return;
    }
    const targets = transition.target === undefined ? [] : Array.isArray(transition.target) ? transition.target : [transition.target];
    targets.forEach((target, i) => {
      const targetAt = Array.isArray(transition.target) ? at(at(one, 'target'), i) : at(one, 'target');
      if (typeof target !== 'string') problems.push({ path: targetAt.at, message: placed(place.label, problemText('targetNotString')) });
      else checkTarget(target, source, targetAt, ids, problems);
    });
    if (transition.guard !== undefined) checkGuard(transition.guard, at(one, 'guard'), names, problems);
    checkActionList(transition.actions, at(one, 'actions'), names, problems);
  });
}

/** Resolves a target the way XState does: `#id.path`, `.child`, or a sibling path. */
function checkTarget(target: string, source: StateInfo, place: Place, ids: Map<string, StateInfo>, problems: Problems): void {
  const problem = (message: string) => problems.push({ path: place.at, message: placed(place.label, message) });
  let base: StateInfo | undefined;
  let path: string[];
  if (target.startsWith('#')) {
    const [id, ...rest] = target.slice(1).split('.');
    base = ids.get(id);
    if (!base) {
      problem(problemText('unknownId', { target, id, ids: [...ids.keys()].join(', ') }));
      return;
    }
    path = rest;
  } else if (target.startsWith('.')) {
    base = source;
    path = target.slice(1).split('.');
  } else {
    base = source.parent;
    path = target.split('.');
    if (!base) {
      problem(problemText('rootSibling', { target }));
      return;
    }
  }
  let node = base;
  for (const segment of path) {
    const next = node.children.get(segment);
    if (!next) {
      problem(problemText('noChild', { target, state: describe(node.path), segment }));
      return;
    }
    node = next;
  }
}

function checkGuard(guard: unknown, place: Place, names: ImplementationNames, problems: Problems): void {
  const problem = (message: string, path = place.at) => problems.push({ path, message: placed(place.label, message) });
  const type = typeof guard === 'string' ? guard : isPlainObject(guard) ? guard.type : undefined;
  if (typeof type !== 'string') return void problem(problemText('guardShape'));
  if (isInheritedName(type)) return void problem(problemText('inheritedGuard', { type }));
  if ((DECLARATIVE_GUARDS as readonly string[]).includes(type)) {
    const rule = jsonLogicProblem(isPlainObject(guard) ? guard.params : undefined);
    if (!isPlainObject(guard) || guard.params === undefined) problem(problemText('guardNeedsParams', { type }));
    else if (rule) problem(problemText('guardInvalidRule', { type, rule }), jsonPath(place.at, 'params'));
  } else if (!names.guards.has(type)) {
    problem(problemText('guardNoImplementation', { type }));
  }
}

function checkActionList(value: unknown, place: Place, names: ImplementationNames, problems: Problems): void {
  if (value === undefined) return;
  const list = Array.isArray(value) ? value : [value];
  list.forEach((action, index) => {
    const one = Array.isArray(value) ? at(place, index) : place;
    const problem = (message: string, path = one.at) => problems.push({ path, message: placed(place.label, message) });
    const type = typeof action === 'string' ? action : isPlainObject(action) ? action.type : undefined;
    if (typeof type !== 'string' || type === '') {
      problem(problemText('actionShape'));
    } else if (isInheritedName(type)) {
      problem(problemText('inheritedAction', { type }));
    } else if (NOT_IN_TOPIC_LEVEL.test(type)) {
      problem(problemText('actionTopic', { type: JSON.stringify(type) }));
    } else if ((DECLARATIVE_ACTIONS as readonly string[]).includes(type)) {
      const params = isPlainObject(action) ? action.params : undefined;
      if (!isPlainObject(params)) {
        problem(problemText('actionNeedsParams', { type }));
      } else {
        for (const [key, rule] of Object.entries(params)) {
          const ruleProblem = jsonLogicProblem(rule);
          if (ruleProblem) problem(problemText('actionInvalidRule', { type, key, rule: ruleProblem }), jsonPath(jsonPath(one.at, 'params'), key));
        }
      }
    } else if (type.startsWith('xstate.') && !names.actions.has(type)) {
      problem(problemText('actionReserved', { type }));
    }
  });
}

function describe(path: string): string {
  return path === '' ? problemText('rootState') : problemText('state', { path });
}

/** A problem as a person reads it: where (a state, its event...), then what. */
function placed(label: string, problem: string): string {
  return problemText('placed', { place: label, problem });
}
