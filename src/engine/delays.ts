/**
 * ISO 8601 durations as `after` keys ("PT5M", "P2DT3H", "PT0.5S"). Years and months have no fixed
 * length, so they are refused rather than guessed.
 */
const ISO_DURATION = /^P(?:(\d+(?:\.\d+)?)W)?(?:(\d+(?:\.\d+)?)D)?(?:T(?:(\d+(?:\.\d+)?)H)?(?:(\d+(?:\.\d+)?)M)?(?:(\d+(?:\.\d+)?)S)?)?$/;

export function isIsoDuration(text: string): boolean {
  return text !== 'P' && text !== 'PT' && !text.endsWith('T') && ISO_DURATION.test(text);
}

/** Milliseconds of an ISO 8601 duration, or undefined when it is not one. */
export function isoDurationMs(text: string): number | undefined {
  if (!isIsoDuration(text)) return undefined;
  const [, weeks, days, hours, minutes, seconds] = ISO_DURATION.exec(text) as RegExpExecArray;
  const n = (part: string | undefined) => (part === undefined ? 0 : Number(part));
  return Math.round(((((n(weeks) * 7 + n(days)) * 24 + n(hours)) * 60 + n(minutes)) * 60 + n(seconds)) * 1000);
}
