import { join } from 'node:path';

/**
 * The texts of the errors users read (a node's errors and what Catch nodes get, the messages of the
 * error topic) come from the chart node's message catalog,
 * `nodes/xstate-chart/locales/{lang}/xstate-chart.json` under `xstate-chart.chartErrors`, as Node-RED
 * core's do: in Node-RED's language once the node module has handed over its `RED._`
 * ({@link useTranslation}), in English (the package's en-US catalog) before that and outside
 * Node-RED. Values fill `__name__` placeholders.
 */
export type Translate = (key: string, values: Record<string, unknown>) => string | undefined;

let translate: Translate | undefined;
let english: Record<string, string> | undefined;

/** Node-RED's translation of a key under `chartErrors`; undefined where it has none. */
export function useTranslation(translation: Translate | undefined): void {
  translate = translation;
}

/** The text of an error, from the message catalog (see above). */
export function errorText(key: string, values: Record<string, unknown> = {}): string {
  const translated = translate?.(key, values);
  if (translated !== undefined) return translated;
  // Read when first needed, from the package's own files (dist/ and nodes/ travel together).
  english ??= (require(join(__dirname, '..', 'nodes', 'xstate-chart', 'locales', 'en-US', 'xstate-chart.json')) as { 'xstate-chart': { chartErrors: Record<string, string> } })['xstate-chart'].chartErrors;
  const template = english[key];
  if (template === undefined) return key;
  return template.replace(/__([A-Za-z0-9]+)__/g, (whole, name: string) => (name in values ? String(values[name]) : whole));
}
