'use strict';
// Node-RED in the test process (node-red-node-test-helper) with the real MQTT nodes and ours.
const path = require('node:path');
const fs = require('node:fs');
const helper = require('node-red-node-test-helper');
const { dataRoot } = require('./env');
const { chartFlow, flowAnswers } = require('./flows');

helper.init(require.resolve('node-red'));
const userDir = path.join(dataRoot, 'userDir');
fs.mkdirSync(userDir, { recursive: true });
helper.settings({ userDir });

/**
 * The test helper's node API lacks `RED.hooks`, though its flow engine runs Node-RED's real hooks
 * (`@node-red/util`'s, the very module Node-RED hands nodes as `RED.hooks`). Handing it to our nodes
 * makes the in-process tests follow messages to `mqtt out` and its broker acknowledgements as a
 * real Node-RED does.
 */
const { hooks } = require('@node-red/util');

/**
 * The test helper's `RED._` gives keys back untranslated; Node-RED resolves them from the module's
 * message catalogs. Ours are read here the same way (`namespace:key`, `__name__` placeholders), so
 * tests see the texts users see. Other namespaces keep the helper's behaviour.
 */
const MODULE = 'node-red-contrib-xstate-durable/';
const catalogs = new Map();
function translate(key, values = {}) {
  if (!key.startsWith(MODULE)) return key;
  const [namespace, path] = key.slice(MODULE.length).split(':');
  if (!catalogs.has(namespace)) catalogs.set(namespace, require(`../../nodes/${namespace}/locales/en-US/${namespace}.json`));
  const text = path.split('.').reduce((node, part) => node?.[part], catalogs.get(namespace));
  if (typeof text !== 'string') return key;
  return text.replace(/__([A-Za-z0-9]+)__/g, (whole, name) => (name in values ? String(values[name]) : whole));
}
const withHooks = (register) => (RED) => register(Object.assign(RED, { hooks: RED.hooks ?? hooks, _: translate }));

const mqttNodes = require('@node-red/nodes/core/network/10-mqtt.js');
const storeNode = withHooks(require('../../nodes/xstate-store/xstate-store.js'));
const chartNode = withHooks(require('../../nodes/xstate-chart/xstate-chart.js'));
const actionNode = withHooks(require('../../nodes/xstate-action/xstate-action.js'));
const ourNodes = [storeNode, chartNode, actionNode];
const allNodes = [mqttNodes, ...ourNodes];

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

module.exports = { helper, allNodes, ourNodes, chartFlow, flowAnswers, statusCalls, statusMatching, translate };
