import { createHash } from 'node:crypto';
import {
  createActor,
  createMachine,
  type AnyActorScope,
  type AnyMachineSnapshot,
  type AnyStateMachine,
  type ExecutableActionObject,
} from 'xstate';
import { ChartError, messageOf } from './errors';
import { parseDefinition, type ImplementationNames, NO_IMPLEMENTATIONS } from './definition';
import type { JsonObject } from './json';

/** A compound or parallel state whose value is published on `value/{stateId}`. */
export interface ValueState {
  /** Topic level: the path below the root joined with dots; the machine id for the root. */
  stateId: string;
  /** Keys from the root's value down to this state's value. */
  path: string[];
}

/**
 * A machine ready to step charts: built and checked once per deploy, so the per-event path only
 * transitions. Holds one inert actor scope (XState's own `transition()` builds an actor per call).
 */
export interface CompiledMachine {
  id: string;
  definition: JsonObject;
  /** sha256 of the canonical definition: equal definitions are the same version in the store. */
  digest: string;
  logic: AnyStateMachine;
  valueStates: ValueState[];
  scope: AnyActorScope;
  collected: ExecutableActionObject[];
}

export interface CompileOptions {
  implementationNames?: ImplementationNames;
}

export function compileMachine(source: unknown, options: CompileOptions = {}): CompiledMachine {
  const definition = parseDefinition(source, options.implementationNames ?? NO_IMPLEMENTATIONS);
  let logic: AnyStateMachine;
  try {
    logic = createMachine(definition as never);
  } catch (err) {
    throw new ChartError('definition_invalid', `XState rejected the machine: ${messageOf(err)}`);
  }
  const compiled: CompiledMachine = {
    id: logic.id,
    definition,
    digest: digestOf(definition),
    logic,
    valueStates: collectValueStates(logic),
    scope: undefined as unknown as AnyActorScope,
    collected: [],
  };
  compiled.scope = createScope(compiled);
  try {
    initialStep(compiled);
  } catch (err) {
    throw new ChartError('definition_invalid', `The machine cannot enter its initial state: ${messageOf(err)}`);
  }
  return compiled;
}

/** What `createInertActorScope` in XState's transition.ts builds, once instead of per event. */
function createScope(compiled: CompiledMachine): AnyActorScope {
  const self = createActor(compiled.logic);
  return {
    self,
    id: '',
    sessionId: '',
    logger: () => {},
    defer: () => {},
    emit: () => {},
    system: self.system,
    stopChild: () => {},
    actionExecutor: (action: ExecutableActionObject) => {
      compiled.collected.push(action);
    },
  } as unknown as AnyActorScope;
}

function collectValueStates(logic: AnyStateMachine): ValueState[] {
  const result: ValueState[] = [];
  const visit = (node: AnyStateMachine['root'], path: string[]) => {
    if (node.type === 'compound' || node.type === 'parallel') {
      result.push({ stateId: path.length === 0 ? logic.id : path.join('.'), path });
    }
    for (const [key, child] of Object.entries(node.states)) visit(child, [...path, key]);
  };
  visit(logic.root, []);
  return result;
}

/** Canonical JSON (sorted keys) so that key order in the editor does not make a new version. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.keys(value)
      .sort()
      .map((key) => `${JSON.stringify(key)}:${canonicalJson((value as JsonObject)[key])}`);
    return `{${entries.join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

function digestOf(definition: JsonObject): string {
  return createHash('sha256').update(canonicalJson(definition)).digest('hex');
}

export interface ExternalAction {
  type: string;
  params: unknown;
}

export interface Step {
  snapshot: AnyMachineSnapshot;
  /** XState's own persisted snapshot: what an exact restore (history included) needs. */
  persisted: JsonObject;
  actions: ExternalAction[];
}

export function initialStep(compiled: CompiledMachine): Step {
  return run(compiled, () => compiled.logic.getInitialSnapshot(compiled.scope));
}

export function restoreSnapshot(compiled: CompiledMachine, persisted: JsonObject): AnyMachineSnapshot {
  return compiled.logic.restoreSnapshot(persisted as never, compiled.scope) as AnyMachineSnapshot;
}

export type EventObject = { type: string; data?: unknown; id?: string };

/**
 * Whether the chart's current state has an enabled transition for the event (guards evaluated).
 * A chart that reached its final state accepts nothing.
 */
export function accepts(compiled: CompiledMachine, snapshot: AnyMachineSnapshot, event: EventObject): boolean {
  if (snapshot.status !== 'active') return false;
  return guarded(() => compiled.logic.getTransitionData(snapshot, event as never).length > 0);
}

/** Computes the next snapshot and the actions to run, without running any of them. */
export function step(compiled: CompiledMachine, snapshot: AnyMachineSnapshot, event: EventObject): Step {
  return run(compiled, () => compiled.logic.transition(snapshot, event as never, compiled.scope));
}

function run(compiled: CompiledMachine, compute: () => AnyMachineSnapshot): Step {
  compiled.collected.length = 0;
  const snapshot = guarded(compute);
  const collected = compiled.collected.splice(0);
  if (snapshot.status === 'error') {
    throw new ChartError('implementation_error', `The chart failed: ${messageOf(snapshot.error)}`);
  }
  const actions: ExternalAction[] = [];
  for (const action of collected) {
    // Implemented and built-in actions (assign, raise...) are already applied to the snapshot.
    if (action.exec !== undefined || action.type.startsWith('xstate.')) continue;
    actions.push({ type: action.type, params: action.params ?? {} });
  }
  const persisted = compiled.logic.getPersistedSnapshot(snapshot) as JsonObject;
  return { snapshot, persisted, actions };
}

function guarded<T>(compute: () => T): T {
  try {
    return compute();
  } catch (err) {
    throw new ChartError('implementation_error', `A guard, action or delay threw: ${messageOf(err)}`, { cause: err });
  }
}
