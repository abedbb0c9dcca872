'use strict';
// Node-RED in the test process (node-red-node-test-helper) with the real MQTT nodes and ours.
const path = require('node:path');
const fs = require('node:fs');
const helper = require('node-red-node-test-helper');
const { dataRoot } = require('./env');

helper.init(require.resolve('node-red'));
const userDir = path.join(dataRoot, 'userDir');
fs.mkdirSync(userDir, { recursive: true });
helper.settings({ userDir });

const mqttNodes = require('@node-red/nodes/core/network/10-mqtt.js');
const storeNode = require('../../nodes/xstate-store/xstate-store.js');
const chartNode = require('../../nodes/xstate-chart/xstate-chart.js');
const actionNode = require('../../nodes/xstate-action/xstate-action.js');
const ourNodes = [storeNode, chartNode, actionNode];
const allNodes = [mqttNodes, ...ourNodes];

/** A flow: mqtt in → xstate-chart → mqtt out, plus the given extra nodes. */
function chartFlow({ brokerUrl, store, prefix, definition, create = true, strict = true, extra = [] }) {
  const url = new URL(brokerUrl);
  return [
    { id: 'broker', type: 'mqtt-broker', broker: url.hostname, port: url.port || '1883', clientid: '', autoConnect: true, usetls: false, protocolVersion: '4', keepalive: '15', cleansession: true },
    { id: 'store', type: 'xstate-store', ...store },
    { id: 'in', type: 'mqtt in', topic: `${prefix}/+/event`, qos: '1', datatype: 'auto-detect', broker: 'broker', nl: false, rap: true, rh: 0, inputs: 0, wires: [['chart']] },
    {
      id: 'chart',
      type: 'xstate-chart',
      store: 'store',
      source: 'inline',
      definition: typeof definition === 'string' ? definition : JSON.stringify(definition),
      topicPrefix: prefix,
      create,
      strict,
      wires: [['out'], ['out'], ['out']],
    },
    { id: 'out', type: 'mqtt out', topic: '', qos: '', retain: '', broker: 'broker', wires: [] },
    ...extra,
  ];
}

/**
 * Resolves once the flow answers over MQTT: publishes a malformed event to a probe chart until its
 * error comes back, which proves that `mqtt in` is subscribed and `mqtt out` is connected.
 */
async function flowAnswers(recorder, prefix, timeoutMs = 20000) {
  const started = Date.now();
  const probe = `probe-${started}-${Math.random().toString(36).slice(2, 8)}`;
  const answered = recorder.waitFor((m) => m.topic === `${prefix}/${probe}/error`, timeoutMs, 'the flow to answer');
  let done = false;
  answered.then(() => (done = true), () => (done = true));
  while (!done && Date.now() - started < timeoutMs) {
    await recorder.publish(`${prefix}/${probe}/event`, '{probe');
    await Promise.race([answered.catch(() => {}), new Promise((resolve) => setTimeout(resolve, 250))]);
  }
  await answered;
}

/** The calls of the (sinon-spied) Node.status made by one node. */
function statusCalls(node) {
  return node.status.getCalls().filter((call) => call.thisValue === node).map((call) => call.args[0]);
}

/** Resolves with the first status of the node, set already or later, whose text matches. */
function statusMatching(node, pattern) {
  const seen = statusCalls(node).find((status) => pattern.test(status.text ?? ''));
  if (seen) return Promise.resolve(seen);
  return new Promise((resolve) => {
    const listener = (call) => {
      if (!pattern.test(call.args[0]?.text ?? '')) return;
      node.removeListener('call:status', listener);
      resolve(call.args[0]);
    };
    node.on('call:status', listener);
  });
}

module.exports = { helper, allNodes, ourNodes, chartFlow, flowAnswers, statusCalls, statusMatching };
