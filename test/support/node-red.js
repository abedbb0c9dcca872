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
const withHooks = (register) => (RED) => register(Object.assign(RED, { hooks: RED.hooks ?? hooks }));

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

module.exports = { helper, allNodes, ourNodes, chartFlow, flowAnswers, statusCalls, statusMatching };
