/** Short texts for the sidebar: state values, events, times. */

/** `"Idle"`, `{ Negotiate: "Propose" }` → `Negotiate.Propose`, parallel → `Cooking.(Oven.Baking, Plates.Full)`. */
export function stateLabel(value: unknown): string {
  if (value === null || value === undefined) return '';
  if (typeof value === 'string') return value;
  if (typeof value !== 'object' || Array.isArray(value)) return JSON.stringify(value);
  const entries = Object.entries(value as Record<string, unknown>);
  if (!entries.length) return '';
  const part = ([key, child]: [string, unknown]) => {
    const inner = stateLabel(child);
    return inner ? `${key}.${inner}` : key;
  };
  if (entries.length === 1) return part(entries[0]);
  return `(${entries.map(part).join(', ')})`;
}

/** An event's type: the event object's `type`, or the string itself. */
export function eventLabel(event: unknown): string {
  if (typeof event === 'string') return event;
  if (event && typeof event === 'object' && typeof (event as { type?: unknown }).type === 'string') return (event as { type: string }).type;
  return event === undefined || event === null ? '' : JSON.stringify(event);
}

export function toDate(value: unknown): Date | undefined {
  if (typeof value !== 'string' && typeof value !== 'number') return undefined;
  const date = new Date(value);
  return Number.isNaN(date.getTime()) ? undefined : date;
}

/** `3s`, `2m 5s`, `1h 4m`, `2d 3h`. */
export function duration(ms: number): string {
  const s = Math.round(Math.abs(ms) / 1000);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return s % 60 ? `${m}m ${s % 60}s` : `${m}m`;
  const hours = Math.floor(m / 60);
  if (hours < 48) return m % 60 ? `${hours}h ${m % 60}m` : `${hours}h`;
  const days = Math.floor(hours / 24);
  return hours % 24 ? `${days}d ${hours % 24}h` : `${days}d`;
}

/** A time of day, with the date when it is not today. */
export function clock(date: Date, now = new Date()): string {
  const time = date.toLocaleTimeString();
  return date.toDateString() === now.toDateString() ? time : `${date.toLocaleDateString()} ${time}`;
}

/**
 * What the event field holds, as an event: a JSON object as it is, a JSON string or a plain word as
 * the type (`agree` → `{ "type": "agree" }`). Undefined for an empty field; text that starts like a
 * JSON object or array but does not parse throws (it is a typo, not an event type).
 */
export function eventFromText(text: string): Record<string, unknown> | undefined {
  const trimmed = text.trim();
  if (!trimmed) return undefined;
  try {
    const parsed: unknown = JSON.parse(trimmed);
    if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) return parsed as Record<string, unknown>;
    if (typeof parsed === 'string') return { type: parsed };
  } catch (err) {
    if (/^[[{]/.test(trimmed)) throw err;
  }
  return { type: trimmed };
}
