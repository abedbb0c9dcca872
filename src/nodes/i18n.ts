import type { NodeAPI } from './node-red';

const MODULE = 'node-red-contrib-xstate-durable';

/**
 * A node's runtime texts (status, log lines) from its message catalog,
 * `nodes/{node}/locales/{lang}/{node}.json` under `{node}.runtime`, as Node-RED core nodes do with
 * `RED._`. Values fill `__name__` placeholders. (The error payloads published on the error topic
 * are data, in English, with their `code` as the contract.)
 */
export function runtimeText(RED: NodeAPI, nodeType: 'xstate-chart' | 'xstate-store' | 'xstate-action') {
  return (key: string, values?: Record<string, unknown>): string => RED._(`${MODULE}/${nodeType}:${nodeType}.runtime.${key}`, values);
}
