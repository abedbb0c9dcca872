'use strict';
// Mocha hooks shared by the tests of deployed flows (Node-RED in the test process).
const { uniqueName, mqttBroker, closeBroker } = require('./env');
const { MqttRecorder } = require('./mqtt-client');
const { helper } = require('./node-red');

/**
 * For the suite: a broker and the test helper's server. For each test: store settings with a
 * schema of their own, a topic prefix of its own and an outside MQTT client subscribed to `topics`
 * under it; afterwards the schema is dropped, the flow unloaded and the client closed. Returns the
 * object the hooks fill in (`broker`, `store`, `prefix`, `client`).
 */
function flowSuite({ backend, label = 'test', topics = ['#'], storeNodeIds = ['store'] }) {
  const suite = {};
  before(async () => {
    suite.broker = await mqttBroker();
    await new Promise((resolve) => helper.startServer(resolve));
  });
  after(async () => {
    await new Promise((resolve) => helper.stopServer(resolve));
    await closeBroker();
  });
  beforeEach(async () => {
    suite.store = backend.store();
    suite.prefix = `${uniqueName(label)}/chart`;
    suite.client = await MqttRecorder.connect(suite.broker.url);
    for (const topic of topics) await suite.client.subscribe(`${suite.prefix}/${topic}`);
  });
  afterEach(async () => {
    const storeNode = storeNodeIds.map((id) => helper.getNode(id)).find(Boolean);
    if (storeNode) await storeNode.store.query(`drop schema if exists "${suite.store.schema}" cascade`).catch(() => {});
    await helper.unload();
    await suite.client.end();
  });
  return suite;
}

/**
 * For the tests of nodes wired to helper nodes (no broker): store settings with a schema of their
 * own for each test; afterwards the schema is dropped and the flow unloaded. Returns the object the
 * hooks fill in (`store`).
 */
function nodeSuite({ backend }) {
  const suite = {};
  beforeEach(() => {
    suite.store = backend.store();
  });
  afterEach(async () => {
    const storeNode = helper.getNode('store');
    if (storeNode) await storeNode.store.query(`drop schema if exists "${suite.store.schema}" cascade`);
    await helper.unload();
  });
  return suite;
}

module.exports = { flowSuite, nodeSuite };
