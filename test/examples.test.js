'use strict';
// The example flows as shipped, in Node-RED with the real core nodes, over a real broker.
// Runtime: the in-process test helper (node-red-node-test-helper). Its node API lacks RED.hooks;
// test/support/node-red.js hands our nodes Node-RED's own hooks module, which its flow engine runs,
// so a chart's message counts as delivered when every `mqtt out` on its way completed it (the
// broker's acknowledgement), as in a real Node-RED.
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { backends, describeIf } = require('./support/env');
const { flowSuite } = require('./support/harness');
const { helper, allNodes } = require('./support/node-red');
const { flowAnswers } = require('./support/flows');

const coreNodes = ['function/89-delay.js', 'function/15-change.js', 'common/20-inject.js', 'common/21-debug.js', 'common/90-comment.js'].map((file) =>
  require(`@node-red/nodes/core/${file}`),
);

/** An example flow pointed at the test broker and a store schema of its own, under a topic prefix of its own. */
function example(name, brokerUrl, store, prefix) {
  const url = new URL(brokerUrl);
  const flow = JSON.parse(fs.readFileSync(path.join(__dirname, '..', 'examples', name), 'utf8'));
  for (const node of flow) {
    if (node.type === 'mqtt-broker') Object.assign(node, { broker: url.hostname, port: url.port });
    if (node.type === 'xstate-store') Object.assign(node, store);
    if (node.type === 'mqtt in') node.topic = `${prefix}/+/event`;
    if (node.type === 'xstate-chart') node.topicPrefix = prefix;
  }
  return flow;
}

for (const backend of backends) {
  describeIf(backend.skip, `example flows (${backend.name})`, function () {
    this.timeout(60000);
    let broker;
    let client;
    let store;
    let prefix;
    const suite = flowSuite({ backend, label: 'ex', storeNodeIds: ['b2e0c0de00000015', 'a1f0c0de00000011'] });
    beforeEach(() => ({ broker, client, prefix, store } = suite));

    it('order-with-action-handler: the xstate-action flow answers the chart, which ends Paid', async () => {
      await helper.load([...allNodes, ...coreNodes], example('order-with-action-handler.json', broker.url, store, prefix));
      await flowAnswers(client, prefix);
      await client.publish(`${prefix}/order-1/event`, { type: 'submit', data: { amount: 42 }, id: 'submit-1' });
      const charge = await client.waitFor((m) => m.topic === `${prefix}/order-1/action/charge`);
      assert.equal(charge.json.context.amount, 42);
      const paid = await client.waitFor((m) => m.topic === `${prefix}/order-1/state` && m.json.value === 'Paid');
      assert.equal(paid.json.status, 'done');
      assert.deepEqual(paid.json.metadata.event, { type: 'charged', id: 'order-1:1:0:charged' });
      await client.waitFor((m) => m.topic === `${prefix}/order-1/action/sendReceipt`);
    });
  });
}
