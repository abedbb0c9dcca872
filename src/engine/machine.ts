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
import { errorText } from './texts';
import { isoDelayKeys, parseDefinition, type ImplementationNames } from './definition';
import { isoDurationMs } from './delays';
import { declarativeImplementations } from './declarative';
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
  /** Transitions XState selected for the event in the step being computed (see {@link stepIfAccepted}). */
  selected?: number;
}

/** Implementations by name, as XState's `provide()` takes them. */
export interface Implementations {
  actions?: Record<string, unknown>;
  guards?: Record<string, unknown>;
  /** Milliseconds, or a function of `{ context, event }` returning them. */
  delays?: Record<string, unknown>;
}

export interface CompileOptions {
  /** Named implementations (from the node's JavaScript); `expr` and `assign` are built in. */
  implementations?: Implementations;
  /** Where XState's `log` action writes. */
  logger?: (...args: unknown[]) => void;
}

export function compileMachine(source: unknown, options: CompileOptions = {}): CompiledMachine {
  const implementations = options.implementations ?? {};
  const declarative = declarativeImplementations();
  for (const [section, builtIn] of [['guards', declarative.guards], ['actions', declarative.actions]] as const) {
    for (const name of Object.keys(builtIn)) {
      if (implementations[section]?.[name] !== undefined) {
        throw new ChartError('definition_invalid', errorText('replacesBuiltIn', { section, name }));
      }
    }
  }
  const names: ImplementationNames = {
    actions: new Set(Object.keys(implementations.actions ?? {})),
    guards: new Set(Object.keys(implementations.guards ?? {})),
    delays: new Set(Object.keys(implementations.delays ?? {})),
  };
  const definition = parseDefinition(source, names);
  // ISO 8601 `after` keys are named delays to XState: give each its length.
  const isoDelays = Object.fromEntries(isoDelayKeys(definition).map((key) => [key, isoDurationMs(key) as number]));
  let logic: AnyStateMachine;
  try {
    logic = createMachine(definition as never).provide({
      actions: { ...declarative.actions, ...implementations.actions },
      guards: { ...declarative.guards, ...implementations.guards },
      delays: { ...isoDelays, ...implementations.delays },
    } as never);
  } catch (err) {
    throw new ChartError('definition_invalid', errorText('xstateRejected', { message: messageOf(err) }));
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
  compiled.scope = createScope(compiled, options.logger);
  try {
    initialStep(compiled);
  } catch (err) {
    throw new ChartError('definition_invalid', errorText('noInitialState', { message: messageOf(err) }));
  }
  return compiled;
}

/** What `createInertActorScope` in XState's transition.ts builds, once instead of per event. */
function createScope(compiled: CompiledMachine, logger: (...args: unknown[]) => void = () => {}): AnyActorScope {
  const self = createActor(compiled.logic);
  // XState reports each microstep with the transitions it took; the first one of a step is the
  // event's own: none means the event was not accepted (guards evaluated once, by the step itself).
  // Heard here directly rather than through `system.inspect`: an inspected system copies every
  // inspection event (each microstep and action) for its observers, 3% of a transition's time.
  const system = Object.create(self.system, {
    _sendInspectionEvent: {
      value: (event: { type: string; _transitions?: unknown[] }) => {
        if (event.type === '@xstate.microstep' && compiled.selected === undefined) compiled.selected = event._transitions?.length ?? 0;
      },
    },
  });
  return {
    self,
    id: '',
    sessionId: '',
    logger,
    defer: () => {},
    emit: () => {},
    system,
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

export function digestOf(definition: JsonObject): string {
  return createHash('sha256').update(canonicalJson(definition)).digest('hex');
}

/** A version's identity: its definition, and its state map when it has one (a new map is a new version). */
export function versionDigest(definition: JsonObject, migrate?: unknown): string {
  return migrate === undefined ? digestOf(definition) : createHash('sha256').update(canonicalJson({ definition, migrate })).digest('hex');
}

export interface ExternalAction {
  type: string;
  params: unknown;
}

/** A delayed event to schedule (or replace, same id) or to cancel, in the order XState produced them. */
export type TimerChange =
  | { kind: 'schedule'; id: string | undefined; event: EventObject; delayMs: number }
  | { kind: 'cancel'; id: string };

export interface Step {
  snapshot: AnyMachineSnapshot;
  /** XState's own persisted snapshot: what an exact restore (history included) needs. */
  persisted: JsonObject;
  actions: ExternalAction[];
  timers: TimerChange[];
}

export function initialStep(compiled: CompiledMachine): Step {
  return run(compiled, () => compiled.logic.getInitialSnapshot(compiled.scope));
}

export function restoreSnapshot(compiled: CompiledMachine, persisted: JsonObject): AnyMachineSnapshot {
  return compiled.logic.restoreSnapshot(persisted as never, compiled.scope) as AnyMachineSnapshot;
}

/**
 * XState's persisted form of a snapshot: JSON that {@link restoreSnapshot} takes back exactly.
 * XState's `getPersistedSnapshot` copies the snapshot through an object rest that leaves out ten
 * keys, a slow path of V8's: 4.9 µs per transition here, a third as long as the ring's whole
 * `transition()`. A chart has no child actors (definitions refuse `invoke`), and without them its
 * persisted snapshot is these fields, in XState's order (engine.test.js compares the two's JSON
 * across machines with history, parallel and final states). A snapshot with children, should one
 * ever have them, still goes through XState.
 */
export function persistSnapshot(compiled: CompiledMachine, snapshot: AnyMachineSnapshot): JsonObject {
  for (const _child in snapshot.children) return compiled.logic.getPersistedSnapshot(snapshot) as JsonObject;
  const { status, output, error, value, historyValue, context } = snapshot as AnyMachineSnapshot & { historyValue?: Record<string, Array<{ id: string }>> };
  return { status, output, error, value, historyValue: persistedHistory(historyValue), context, children: {} } as unknown as JsonObject;
}

/** XState's serializeHistoryValue: each remembered state node as its id. */
function persistedHistory(historyValue: Record<string, Array<{ id: string }>> | undefined): Record<string, Array<{ id: string }>> {
  const result: Record<string, Array<{ id: string }>> = {};
  if (typeof historyValue !== 'object' || historyValue === null) return result;
  for (const key in historyValue) {
    const nodes = historyValue[key];
    if (Array.isArray(nodes)) result[key] = nodes.map((node) => ({ id: node.id }));
  }
  return result;
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

/**
 * The step an event causes, or undefined when the chart's current state does not accept it (no
 * enabled transition, or the chart is done). Guards run once, inside the step.
 */
export function stepIfAccepted(compiled: CompiledMachine, snapshot: AnyMachineSnapshot, event: EventObject): Step | undefined {
  if (snapshot.status !== 'active') return undefined;
  compiled.selected = undefined;
  const next = step(compiled, snapshot, event);
  const selected = compiled.selected as number | undefined;
  // Should XState stop reporting microsteps, ask it the slow way rather than refuse everything.
  if (selected === undefined) return accepts(compiled, snapshot, event) ? next : undefined;
  return selected > 0 ? next : undefined;
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
    throw new ChartError('implementation_error', errorText('chartFailed', { message: messageOf(snapshot.error) }));
  }
  const actions: ExternalAction[] = [];
  const timers: TimerChange[] = [];
  for (const action of collected) {
    const params = action.params as { delay?: number; id?: string; event?: EventObject; sendId?: string } | undefined;
    if (action.type === 'xstate.raise' && params?.delay !== undefined && params.event) {
      // XState does not keep delayed events across restarts: they become timer rows.
      timers.push({ kind: 'schedule', id: params.id, event: params.event, delayMs: Math.max(0, Number(params.delay)) });
    } else if (action.type === 'xstate.cancel' && typeof params?.sendId === 'string') {
      timers.push({ kind: 'cancel', id: params.sendId });
    } else if (action.exec === undefined && !action.type.startsWith('xstate.')) {
      actions.push({ type: action.type, params: action.params ?? {} });
    } else if (action.exec !== undefined && (!action.type.startsWith('xstate.') || action.type === 'xstate.log')) {
      // JavaScript actions run while the transition is computed, before the commit: one that
      // throws leaves the chart unchanged. Side effects belong in external actions.
      const exec = action.exec;
      guarded(() => exec(action.info, action.params));
    }
    // Other built-in actions (assign, raise without delay...) are already applied.
  }
  return { snapshot, persisted: persistSnapshot(compiled, snapshot), actions, timers };
}

function guarded<T>(compute: () => T): T {
  try {
    return compute();
  } catch (err) {
    throw new ChartError('implementation_error', errorText('implementationThrew', { message: messageOf(err) }), { cause: err });
  }
}
