import type { ChartState, ValueChange } from './chart-state';
import type { ErrorCode } from './errors';
import type { ExternalAction } from './machine';
import type { EventObject } from './machine';

/** Which output of the chart node a message leaves on. */
export const Output = { State: 0, Action: 1, Error: 2 } as const;
export type Output = (typeof Output)[keyof typeof Output];

/** Message metadata every output carries as `msg.xstate` (SPEC section 4). */
export interface MessageMeta {
  chartId: string;
  machineId: string;
  machineVersion: number;
  seq: number;
  /** Stable id: the same message replayed after a crash has the same id. */
  id: string;
}

export interface OutMessage {
  output: Output;
  topic: string;
  payload: unknown;
  retain: boolean;
  xstate: MessageMeta;
}

export interface ActionMessage {
  type: string;
  params: unknown;
  context: unknown;
  state: { value: unknown; context: unknown };
  chartId: string;
  id: string;
}

export interface ErrorPayload {
  code: ErrorCode;
  message: string;
  chartId: string | null;
  event?: unknown;
  timestamp: number;
}

/** Topic level used for errors whose chartId is missing or invalid (it has no chart to name). */
export const INVALID_CHART_TOPIC_LEVEL = '_invalid';

/** The messages of one committed transition: the state, the changed values, then the actions. */
export function transitionMessages(
  prefix: string,
  state: ChartState,
  values: ValueChange[],
  actions: ExternalAction[],
): OutMessage[] {
  const { chartId, metadata } = state;
  const base = { chartId, machineId: state.machine.id, machineVersion: state.machine.version, seq: metadata.seq };
  const messages: OutMessage[] = [
    { output: Output.State, topic: `${prefix}/${chartId}/state`, payload: state, retain: true, xstate: { ...base, id: metadata.id } },
  ];
  for (const change of values) {
    messages.push({
      output: Output.State,
      topic: `${prefix}/${chartId}/value/${change.stateId}`,
      payload: change.payload,
      retain: true,
      xstate: { ...base, id: `${chartId}:${metadata.seq}:value:${change.stateId}` },
    });
  }
  actions.forEach((action, index) => {
    const id = `${chartId}:${metadata.seq}:${index}`;
    const payload: ActionMessage = {
      type: action.type,
      params: action.params,
      context: state.context,
      state: { value: state.value, context: state.context },
      chartId,
      id,
    };
    messages.push({ output: Output.Action, topic: `${prefix}/${chartId}/action/${action.type}`, payload, retain: false, xstate: { ...base, id } });
  });
  return messages;
}

export function errorMessage(
  prefix: string,
  error: { code: ErrorCode; message: string },
  fields: { chartId?: string; event?: EventObject | unknown; machineId: string; machineVersion: number; seq?: number; timestamp: number },
): OutMessage {
  const chartId = fields.chartId ?? null;
  const payload: ErrorPayload = { code: error.code, message: error.message, chartId, timestamp: fields.timestamp };
  if (fields.event !== undefined) payload.event = fields.event;
  return {
    output: Output.Error,
    topic: `${prefix}/${chartId ?? INVALID_CHART_TOPIC_LEVEL}/error`,
    payload,
    retain: false,
    xstate: {
      chartId: chartId ?? '',
      machineId: fields.machineId,
      machineVersion: fields.machineVersion,
      seq: fields.seq ?? 0,
      id: `${chartId ?? INVALID_CHART_TOPIC_LEVEL}:error:${fields.timestamp}`,
    },
  };
}
