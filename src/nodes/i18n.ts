import type { NodeAPI } from './node-red';
import { useTranslation } from '../engine/texts';

const MODULE = 'node-red-contrib-xstate-durable';

/**
 * A node's runtime texts (status, log lines) from its message catalog,
 * `nodes/{node}/locales/{lang}/{node}.json` under `{node}.runtime`, as Node-RED core nodes do with
 * `RED._`. Values fill `__name__` placeholders.
 */
export function runtimeText(RED: NodeAPI, nodeType: 'xstate-chart' | 'xstate-store' | 'xstate-action') {
  return (key: string, values?: Record<string, unknown>): string => RED._(`${MODULE}/${nodeType}:${nodeType}.runtime.${key}`, values);
}

/**
 * The engine's texts (engine/texts.ts: chart errors, problems of a definition) in Node-RED's
 * language: from the chart node's catalog through `RED._`, or the package's English where Node-RED
 * has none.
 */
export function translateEngineTexts(RED: NodeAPI): void {
  useTranslation((key, values) => {
    const path = `xstate-chart.${key}`;
    const text = RED._(`${MODULE}/xstate-chart:${path}`, values);
    // A key Node-RED does not know comes back as it was asked for.
    return typeof text === 'string' && text !== '' && !text.endsWith(path) ? text : undefined;
  });
}
