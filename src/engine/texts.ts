import { join } from 'node:path';

/**
 * The texts people read of the engine and runtime come from the chart node's message catalog,
 * `nodes/xstate-chart/locales/{lang}/xstate-chart.json`, as Node-RED core's do: the errors (a node's
 * errors and what Catch nodes get, the messages of the error topic) under `xstate-chart.chartErrors`,
 * the problems of a definition (the edit dialog shows them as you type, a deploy reports them) under
 * `xstate-chart.problems`. In Node-RED's language once the node module has handed over its `RED._`
 * ({@link useTranslation}), in English (the package's en-US catalog) before that and outside
 * Node-RED. Values fill `__name__` placeholders.
 */
export type Translate = (key: string, values: Record<string, unknown>) => string | undefined;

type Section = 'chartErrors' | 'problems';

let translate: Translate | undefined;
let english: Record<Section, Record<string, string>> | undefined;

/** Node-RED's translation of a key below `xstate-chart` (`chartErrors.x`); undefined where it has none. */
export function useTranslation(translation: Translate | undefined): void {
  translate = translation;
}

function catalogText(section: Section, key: string, values: Record<string, unknown>): string {
  const translated = translate?.(`${section}.${key}`, values);
  if (translated !== undefined) return translated;
  // Read when first needed, from the package's own files (dist/ and nodes/ travel together).
  english ??= (require(join(__dirname, '..', 'nodes', 'xstate-chart', 'locales', 'en-US', 'xstate-chart.json')) as { 'xstate-chart': Record<Section, Record<string, string>> })['xstate-chart'];
  const template = english[section][key];
  if (template === undefined) return key;
  return template.replace(/__([A-Za-z0-9]+)__/g, (whole, name: string) => (Object.hasOwn(values, name) ? String(values[name]) : whole));
}

/** The text of an error (`chartErrors`), from the message catalog. */
export function errorText(key: string, values: Record<string, unknown> = {}): string {
  return catalogText('chartErrors', key, values);
}

/** The text of a problem of a definition (`problems`), from the message catalog. */
export function problemText(key: string, values: Record<string, unknown> = {}): string {
  return catalogText('problems', key, values);
}
