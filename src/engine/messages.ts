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

/**
 * Metadata with the given id, field by field: a spread (`{ ...base, id }`) of an object made per
 * transition takes V8's slow path, 1.3 µs a copy against 0.02, and a ring transition made four
 * (three messages, then each message's copy for Node-RED).
 */
export function messageMeta(base: Omit<MessageMeta, 'id'>, id: string): MessageMeta {
  return { chartId: base.chartId, machineId: base.machineId, machineVersion: base.machineVersion, seq: base.seq, id };
}

export interface OutMessage {
  output: Output;
  topic: string;
  payload: unknown;
  retain: boolean;
  xstate: MessageMeta;
  /** The payload as JSON text, once it was serialized (not part of the message itself). */
  payloadJson?: string;
}

/**
 * Gives each message its payload's JSON, from which its delivery parses a copy (the state
 * message's payload is the chart's state, whose JSON the caller has already).
 */
export function preparePayloads(messages: OutMessage[], known?: { payload: unknown; json: string }): void {
  for (const message of messages) {
    const payloadJson = known && message.payload === known.payload ? known.json : JSON.stringify(message.payload);
    Object.defineProperty(message, 'payloadJson', { value: payloadJson, enumerable: false, configurable: true });
  }
}

/**
 * What the outbox keeps of a transition: what {@link transitionMessages} makes its messages from,
 * not the messages. They repeat the state (the state message, and the context twice in every
 * action message), topics and ids: for the ring of bench/ the record is half the size, and a chart
 * with a context and several actions per transition saves more.
 */
export interface OutboxRecord {
  prefix: string;
  state: ChartState;
  values: ValueChange[];
  actions: ExternalAction[];
  /** Messages of the transition that are not made from it (notices), as they are. */
  more?: OutMessage[];
}

/**
 * An {@link OutboxRecord} as JSON text, without its state: the store's commit puts in the state it
 * writes to the chart's row (the same text), so the state travels to the database once, not twice.
 */
export function outboxRecordJson(prefix: string, values: ValueChange[], actions: ExternalAction[], more: OutMessage[]): string {
  const rest = more.length > 0 ? `,"more":${JSON.stringify(more)}` : '';
  return `{"prefix":${JSON.stringify(prefix)},"values":${JSON.stringify(values)},"actions":${JSON.stringify(actions)}${rest}}`;
}

/**
 * The messages of an outbox row: made again from its record, or as they are in a row written
 * before records (an array of messages).
 */
export function outboxMessages(stored: unknown): OutMessage[] {
  if (Array.isArray(stored)) return stored as OutMessage[];
  const record = stored as OutboxRecord;
  const made = transitionMessages(record.prefix, record.state, record.values, record.actions);
  return record.more ? [...made, ...record.more] : made;
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
  /** The refused input, echoed; over {@link MAX_ECHO_CHARS} as the start of its JSON text. */
  event?: unknown;
  /** Present when `event` is cut short (or could not be shown at all). */
  truncated?: true;
  timestamp: number;
}

/** How much of a refused input an error message echoes: enough to recognise it, never the whole of a big one. */
export const MAX_ECHO_CHARS = 1024;

/**
 * The input as an error message shows it: as it came when its JSON is short; else the first
 * {@link MAX_ECHO_CHARS} characters of its JSON text, flagged `truncated`. Input too deep to
 * serialize at all is described instead of echoed (it would break the message itself).
 */
export function echoOf(input: unknown): { event: unknown; truncated?: true } {
  let text: string | undefined;
  try {
    text = typeof input === 'string' ? input : JSON.stringify(input);
  } catch {
    return { event: '(not shown: the input cannot be serialized as JSON)', truncated: true };
  }
  if (text === undefined || text.length <= MAX_ECHO_CHARS) return { event: input };
  return { event: text.slice(0, MAX_ECHO_CHARS), truncated: true };
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
    { output: Output.State, topic: `${prefix}/${chartId}/state`, payload: state, retain: true, xstate: messageMeta(base, metadata.id) },
  ];
  for (const change of values) {
    messages.push({
      output: Output.State,
      topic: `${prefix}/${chartId}/value/${change.stateId}`,
      payload: change.payload,
      retain: true,
      xstate: messageMeta(base, `${chartId}:${metadata.seq}:value:${change.stateId}`),
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
    messages.push({ output: Output.Action, topic: `${prefix}/${chartId}/action/${action.type}`, payload, retain: false, xstate: messageMeta(base, id) });
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
  if (fields.event !== undefined) Object.assign(payload, echoOf(fields.event));
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
