import type { AnyMachineSnapshot, AnyStateMachine, StateValue } from 'xstate';
import type { CompiledMachine, ValueState } from './machine';
import type { JsonObject } from './json';

export interface EventSummary {
  type: string;
  id?: string;
}

/** The persisted state of SPEC section 4: the `state` payload and the `state` column. */
export interface ChartState {
  chartId: string;
  machine: { id: string; version: number };
  status: string;
  value: StateValue;
  context: JsonObject;
  history: Record<string, HistoryEntry>;
  metadata: {
    timestamp: number;
    seq: number;
    event?: EventSummary;
    /** Stable id of this state: `{chartId}:{seq}`; receivers drop duplicates by it. */
    id: string;
  };
}

export interface HistoryEntry {
  current: StateValue;
  states: Record<string, never>;
}

export function chartStateOf(
  compiled: CompiledMachine,
  snapshot: AnyMachineSnapshot,
  fields: { chartId: string; version: number; seq: number; timestamp: number; event?: EventSummary },
): ChartState {
  const { chartId, version, seq, timestamp, event } = fields;
  const metadata: ChartState['metadata'] = { timestamp, seq, id: `${chartId}:${seq}` };
  if (event) metadata.event = event;
  return {
    chartId,
    machine: { id: compiled.id, version },
    status: snapshot.status,
    value: snapshot.value,
    context: snapshot.context,
    history: historyOf(compiled.logic, snapshot),
    metadata,
  };
}

/**
 * XState keys history by the history node's id and lists the remembered state nodes; the SPEC shows
 * it per compound state, as `{ current, states }` with `current` the remembered value below it.
 */
function historyOf(logic: AnyStateMachine, snapshot: AnyMachineSnapshot): Record<string, HistoryEntry> {
  const result: Record<string, HistoryEntry> = {};
  const historyValue = snapshot.historyValue as Record<string, Array<{ id: string }>>;
  for (const [historyId, remembered] of Object.entries(historyValue ?? {})) {
    let historyNode;
    try {
      historyNode = logic.getStateNodeById(historyId);
    } catch {
      continue;
    }
    const parent = historyNode.parent;
    if (!parent || remembered.length === 0) continue;
    const value: Record<string, unknown> = {};
    for (const ref of remembered) {
      const node = logic.getStateNodeById(ref.id);
      const relative = node.path.slice(parent.path.length);
      let cursor = value;
      relative.forEach((key: string, index: number) => {
        if (index === relative.length - 1) {
          if (!(key in cursor)) cursor[key] = {};
        } else {
          cursor[key] = typeof cursor[key] === 'object' ? cursor[key] : {};
          cursor = cursor[key] as Record<string, unknown>;
        }
      });
    }
    const stateId = parent.path.length === 0 ? logic.id : parent.path.join('.');
    result[stateId] = { current: collapse(value), states: {} };
  }
  return result;
}

/** `{ A: {} }` → `'A'`, the way XState writes a state value whose child is atomic. */
function collapse(value: Record<string, unknown>): StateValue {
  const keys = Object.keys(value);
  if (keys.length === 1 && Object.keys(value[keys[0]] as object).length === 0) return keys[0];
  const out: Record<string, StateValue> = {};
  for (const key of keys) {
    const child = value[key] as Record<string, unknown>;
    out[key] = Object.keys(child).length === 0 ? {} : collapse(child);
  }
  return out;
}

/** The values of the active compound and parallel states, serialized for comparison and publishing. */
export function valuesOf(valueStates: ValueState[], value: StateValue): Map<string, string> {
  const result = new Map<string, string>();
  for (const state of valueStates) {
    let cursor: StateValue | undefined = value;
    for (const key of state.path) {
      cursor = typeof cursor === 'object' && cursor !== null ? (cursor as Record<string, StateValue>)[key] : undefined;
      if (cursor === undefined) break;
    }
    if (cursor === undefined) continue;
    result.set(state.stateId, typeof cursor === 'string' ? cursor : JSON.stringify(cursor));
  }
  return result;
}

export interface ValueChange {
  stateId: string;
  /** The new value, or '' when the state became inactive. */
  payload: string;
}

export function valueChanges(before: Map<string, string> | undefined, after: Map<string, string>): ValueChange[] {
  const changes: ValueChange[] = [];
  for (const [stateId, payload] of after) {
    if (before?.get(stateId) !== payload) changes.push({ stateId, payload });
  }
  if (before) {
    for (const stateId of before.keys()) {
      if (!after.has(stateId)) changes.push({ stateId, payload: '' });
    }
  }
  return changes;
}
