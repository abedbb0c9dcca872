import { ChartError, messageOf } from './errors';
import { errorText } from './texts';
import { findUnsafeJson, isPlainObject } from './json';
import type { EventObject } from './machine';

export const MAX_EVENT_BYTES = 256 * 1024;
const CHART_ID = /^[A-Za-z0-9_\-.:]{1,128}$/;
const EVENT_ID_MAX = 256;
const EVENT_TYPE_MAX = 256;
const utf8 = new TextDecoder('utf-8', { fatal: true });

export function isValidChartId(chartId: unknown): chartId is string {
  return typeof chartId === 'string' && CHART_ID.test(chartId);
}

export function checkChartId(chartId: unknown): string {
  if (isValidChartId(chartId)) return chartId;
  const shown = typeof chartId === 'string' ? JSON.stringify(chartId.slice(0, 140)) : String(chartId);
  throw new ChartError('invalid_event', errorText('invalidChartId', { chartId: shown }));
}

/**
 * A chart node's topic prefix, trimmed of trailing slashes: the first levels of every topic it
 * publishes, so it cannot hold MQTT wildcards or control characters.
 */
export function checkTopicPrefix(prefix: unknown, fallback: string): string {
  const text = typeof prefix === 'string' ? prefix.trim().replace(/\/+$/, '') : '';
  if (text === '') return fallback;
  if (/[+#\u0000-\u001f\u007f]/.test(text)) {
    throw new ChartError('definition_invalid', errorText('invalidTopicPrefix', { prefix: JSON.stringify(text) }));
  }
  return text;
}

/** `{prefix}/{chartId}/event` → chartId; undefined when the topic is not of that form. */
export function chartIdFromTopic(topic: unknown, prefix: string): string | undefined {
  if (typeof topic !== 'string') return undefined;
  const head = `${prefix}/`;
  if (!topic.startsWith(head) || !topic.endsWith('/event')) return undefined;
  return topic.slice(head.length, topic.length - '/event'.length);
}

/**
 * An event from MQTT or a flow: an object, JSON text or a Buffer of it; a plain string that is not
 * JSON is the event type. Returns `{ type, data?, id? }`, copied so nothing outside can change it.
 */
export function parseEvent(payload: unknown, maxBytes = MAX_EVENT_BYTES): EventObject {
  let value: unknown = payload;
  if (Buffer.isBuffer(value)) {
    if (value.length > maxBytes) throw tooLarge(value.length, maxBytes);
    try {
      value = utf8.decode(value);
    } catch {
      throw new ChartError('invalid_event', errorText('notUtf8'));
    }
  }
  if (typeof value === 'string') {
    const bytes = Buffer.byteLength(value);
    if (bytes > maxBytes) throw tooLarge(bytes, maxBytes);
    const text = value.trim();
    if (text === '') throw new ChartError('invalid_event', errorText('emptyEvent'));
    if (/^[[{"]/.test(text)) {
      // Meant as JSON: broken JSON is refused, not taken for an event type.
      try {
        value = JSON.parse(text);
      } catch (err) {
        throw new ChartError('invalid_event', errorText('notJson', { message: messageOf(err) }));
      }
    } else {
      // A number, true, false or null is JSON (and no event); any other text, `1st` or `2fa-ok`
      // included, is the event type.
      const scalar = jsonScalar(text);
      value = scalar ? scalar.value : { type: text };
    }
  } else if (isPlainObject(value)) {
    let bytes: number;
    try {
      bytes = Buffer.byteLength(JSON.stringify(value));
    } catch (err) {
      throw new ChartError('invalid_event', errorText('notJsonData', { message: messageOf(err) }));
    }
    if (bytes > maxBytes) throw tooLarge(bytes, maxBytes);
  }
  if (!isPlainObject(value)) {
    throw new ChartError('invalid_event', errorText('notObject'));
  }
  const unsafe = findUnsafeJson(value);
  if (unsafe) throw new ChartError('invalid_event', errorText('notPlainJson', { reason: unsafe }));
  const { type, data, id } = value;
  if (typeof type !== 'string' || type.trim() === '') {
    throw new ChartError('invalid_event', errorText('noType'));
  }
  if (type.length > EVENT_TYPE_MAX) {
    throw new ChartError('invalid_event', errorText('typeTooLong', { length: type.length, max: EVENT_TYPE_MAX }));
  }
  if (type.startsWith('xstate.')) {
    throw new ChartError('invalid_event', errorText('reservedType', { type }));
  }
  if (id !== undefined && (typeof id !== 'string' || id === '' || id.length > EVENT_ID_MAX)) {
    throw new ChartError('invalid_event', errorText('invalidId', { max: EVENT_ID_MAX }));
  }
  const event: EventObject = { type };
  if (data !== undefined) event.data = structuredClone(data);
  if (id !== undefined) event.id = id;
  return event;
}

/** The text as a JSON number, boolean or null (wrapped: null is a value here), else undefined. */
function jsonScalar(text: string): { value: unknown } | undefined {
  if (!/^(-?\d|true$|false$|null$)/.test(text)) return undefined;
  try {
    return { value: JSON.parse(text) };
  } catch {
    return undefined;
  }
}

function tooLarge(bytes: number, maxBytes: number): ChartError {
  return new ChartError('invalid_event', errorText('eventTooLarge', { bytes, max: maxBytes }));
}
