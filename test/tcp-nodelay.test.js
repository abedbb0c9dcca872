'use strict';
// TCP_NODELAY on the MQTT connections of the brokers a chart node is wired to (SPEC §11): real
// `mqtt in` / `mqtt out` nodes, a real broker, and every call of net.Socket#setNoDelay recorded;
// and, with it, the messages of one commit leaving the `mqtt out` connection in one socket write.
// No timing is measured here; bench/ does that.
const assert = require('node:assert/strict');
const net = require('node:net');
const { backends } = require('./support/env');
const { flowSuite } = require('./support/harness');
const { helper, allNodes, chartFlow, flowAnswers } = require('./support/node-red');
const { ticker } = require('./fixtures/machines');

const delay = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** Records every call of net.Socket#setNoDelay (and calls through) until `restore()`. */
function recordSetNoDelay() {
  const calls = [];
  const original = net.Socket.prototype.setNoDelay;
  net.Socket.prototype.setNoDelay = function recordingSetNoDelay(...args) {
    calls.push({ socket: this, noDelay: args[0] });
    return original.apply(this, args);
  };
  return { calls, restore: () => (net.Socket.prototype.setNoDelay = original) };
}

/**
 * Records what each net.Socket hands to the kernel in one go: Node's Writable calls `_write` for one
 * chunk and `_writev` for the chunks buffered meanwhile (corked, or while a write was in progress).
 */
function recordSocketWrites() {
  const writes = [];
  const { _write, _writev } = net.Socket.prototype;
  net.Socket.prototype._write = function recordingWrite(chunk, encoding, callback) {
    writes.push({ socket: this, data: Buffer.from(chunk, encoding) });
    return _write.call(this, chunk, encoding, callback);
  };
  net.Socket.prototype._writev = function recordingWritev(chunks, callback) {
    writes.push({ socket: this, data: Buffer.concat(chunks.map(({ chunk, encoding }) => Buffer.from(chunk, encoding))) });
    return _writev.call(this, chunks, callback);
  };
  return {
    writes,
    restore: () => Object.assign(net.Socket.prototype, { _write, _writev }),
  };
}

/** A chart whose transition to B sends two messages: the state and the action `notify`. */
const notifier = { id: 'Notifier', initial: 'A', states: { A: { on: { go: 'B' } }, B: { entry: 'notify', on: { go: 'A' } } } };

async function until(predicate, what, timeoutMs = 15000) {
  const started = Date.now();
  while (!predicate()) {
    if (Date.now() - started > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await delay(20);
  }
}

describe('TCP_NODELAY on the MQTT connections of a chart node', function () {
  this.timeout(60000);
  // The store does not matter here: PostgreSQL when there is one (faster to open), else embedded.
  const suite = flowSuite({ backend: backends[backends.length - 1], label: 'nodelay' });
  let recorder;
  let savedSettings;

  before(() => {
    recorder = recordSetNoDelay();
    // mqtt.js reconnects after `mqttReconnectTime` (default 5 s): shorter, so the tests are quick.
    savedSettings = { ...helper.settings() };
    helper.settings({ ...savedSettings, mqttReconnectTime: 200 });
  });
  after(() => {
    recorder.restore();
    helper.settings(savedSettings);
  });
  beforeEach(() => {
    recorder.calls.length = 0;
  });

  const brokerPort = () => Number(new URL(suite.broker.url).port || 1883);
  const client = (brokerId) => helper.getNode(brokerId).client;
  /** Whether the package called setNoDelay(true) on this very socket, one of the broker's. */
  const setOn = (socket) => recorder.calls.some((call) => call.socket === socket && call.noDelay === true);

  /**
   * mqtt in (broker "broker") → chart → mqtt out (broker "broker-out"), and an `mqtt in` on a third
   * broker that feeds nothing of ours and must be left alone.
   */
  function flow() {
    return flowOf(ticker);
  }

  function flowOf(definition) {
    const nodes = chartFlow({ brokerUrl: suite.broker.url, store: suite.store, prefix: suite.prefix, definition });
    const broker = nodes.find((n) => n.id === 'broker');
    nodes.find((n) => n.id === 'out').broker = 'broker-out';
    nodes.push(
      { ...broker, id: 'broker-out' },
      { ...broker, id: 'broker-other' },
      { id: 'other-in', type: 'mqtt in', topic: `${suite.prefix}/other`, qos: '0', datatype: 'auto-detect', broker: 'broker-other', nl: false, rap: true, rh: 0, inputs: 0, wires: [[]] },
    );
    return nodes;
  }

  async function deploy(nodes = flow()) {
    await helper.load(allNodes, nodes);
    await flowAnswers(suite.client, suite.prefix);
    await until(() => client('broker-other')?.connected, 'the unrelated broker to connect');
  }

  it('sets it on the sockets of the brokers of its mqtt in and mqtt out nodes, not on others', async () => {
    await deploy();
    for (const id of ['broker', 'broker-out']) {
      const socket = client(id).stream;
      assert.equal(socket.remotePort, brokerPort(), `${id}'s socket is its connection to the broker`);
      assert.ok(setOn(socket), `setNoDelay(true) on the socket of ${id}`);
      assert.equal(recorder.calls.filter((call) => call.socket === socket).length, 1, `${id}'s socket is set once`);
    }
    assert.ok(!setOn(client('broker-other').stream), 'a broker no chart is wired to is left alone');
  });

  it('sets it again on the new socket after a reconnect, without adding listeners', async () => {
    await deploy();
    for (const id of ['broker', 'broker-out']) {
      const mqttClient = client(id);
      const before = mqttClient.stream;
      const listeners = { connect: mqttClient.listenerCount('connect'), end: mqttClient.listenerCount('end') };
      for (let round = 1; round <= 2; round++) {
        const old = mqttClient.stream;
        old.destroy(); // the connection drops; mqtt.js makes a new socket on its own
        await until(() => mqttClient.connected && mqttClient.stream !== old, `${id} to reconnect`);
        assert.equal(client(id), mqttClient, 'mqtt.js reconnected the same client');
        assert.equal(mqttClient.stream.remotePort, brokerPort());
        assert.ok(setOn(mqttClient.stream), `setNoDelay(true) on ${id}'s socket after reconnect ${round}`);
      }
      assert.ok(setOn(before));
      assert.deepEqual({ connect: mqttClient.listenerCount('connect'), end: mqttClient.listenerCount('end') }, listeners, 'no listener per reconnect');
    }
    await flowAnswers(suite.client, suite.prefix);
  });

  it('follows the new client Node-RED makes after the disconnect and connect actions', async () => {
    await deploy();
    const out = helper.getNode('out');
    const old = client('broker-out');
    const connectListeners = old.listenerCount('connect');
    assert.equal(old.listenerCount('end'), 1, 'ours (Node-RED listens to no end event)');
    out.receive({ action: 'disconnect' });
    await until(() => !helper.getNode('broker-out').connected, 'the disconnect action');
    out.receive({ action: 'connect' });
    await until(() => client('broker-out') !== old && client('broker-out').connected, 'a new client');
    await until(() => setOn(client('broker-out').stream), 'setNoDelay on the new client\'s socket');
    // Node-RED removed its own connect listener from the ended client, and we removed ours.
    assert.equal(old.listenerCount('connect'), connectListeners - 2, 'our connect listener is gone from the ended client');
    assert.equal(old.listenerCount('end'), 0, 'and our end listener');
    await flowAnswers(suite.client, suite.prefix);
  });

  it('removes its listeners when the chart node closes', async () => {
    await deploy();
    const mqttClient = client('broker');
    const withChart = mqttClient.listenerCount('connect');
    // Deploy the flow without the chart node: the brokers stay connected with the same clients.
    await helper.setFlows(flow().filter((n) => n.id !== 'chart'), 'nodes');
    assert.equal(client('broker'), mqttClient, 'the same client');
    assert.equal(mqttClient.listenerCount('connect'), withChart - 1, 'our connect listener is gone');
    const old = mqttClient.stream;
    old.destroy();
    await until(() => mqttClient.connected && mqttClient.stream !== old, 'a reconnect');
    assert.ok(!setOn(mqttClient.stream), 'no chart node is wired to it any more: its new socket is left alone');
  });

  /** The writes on a socket that carry a topic: the socket writes its messages left by. */
  function writesCarrying(writes, socket, topic) {
    return writes.filter((write) => write.socket === socket && write.data.includes(topic));
  }

  /** Sends `go` to a new notifier chart and returns the writes that carried its state and action messages. */
  async function sendGo(writes) {
    const chartId = `notifier-${Date.now()}`;
    const state = `${suite.prefix}/${chartId}/state`;
    const action = `${suite.prefix}/${chartId}/action/notify`;
    const acted = suite.client.waitFor((m) => m.topic === action, 15000, 'the action message');
    await suite.client.publish(`${suite.prefix}/${chartId}/event`, { type: 'go' });
    await acted;
    const socket = client('broker-out').stream;
    return { state: writesCarrying(writes, socket, state), action: writesCarrying(writes, socket, action) };
  }

  it('sends the messages of a transition in one socket write on the mqtt out connection', async () => {
    const recorder = recordSocketWrites();
    try {
      await deploy(flowOf(notifier));
      const { state, action } = await sendGo(recorder.writes);
      // Created in A, then B: two state messages and the action, all handed over by one commit.
      assert.equal(state.length, 1, 'the state messages left by one write');
      assert.equal(action.length, 1, 'the action message left by one write');
      assert.ok(state[0] === action[0], 'the state and the action messages left by the same write');
      const data = state[0].data.toString('latin1');
      assert.ok(data.indexOf('"value":"A"') < data.indexOf('"value":"B"'), 'the states in order');
      assert.ok(data.indexOf('"value":"B"') < data.indexOf('/action/notify'), 'the state before the action');
    } finally {
      recorder.restore();
    }
  });

  it('leaves every socket alone with settings.js xstate: { tcpNoDelay: false }', async () => {
    const settings = helper.settings();
    helper.settings({ ...settings, xstate: { tcpNoDelay: false } });
    try {
      await deploy(flowOf(notifier));
      for (const id of ['broker', 'broker-out']) assert.ok(!setOn(client(id).stream), `${id}'s socket is left alone`);
      // mqtt.js writes each message by itself: what the test above sees in one write is ours.
      const recorder = recordSocketWrites();
      try {
        const { state, action } = await sendGo(recorder.writes);
        assert.ok(state.length >= 1 && action.length === 1);
        assert.ok(!state.includes(action[0]), 'the action message left by a write of its own');
      } finally {
        recorder.restore();
      }
      const mqttClient = client('broker');
      const old = mqttClient.stream;
      old.destroy();
      await until(() => mqttClient.connected && mqttClient.stream !== old, 'a reconnect');
      await delay(100);
      assert.ok(!setOn(mqttClient.stream), 'also after a reconnect');
    } finally {
      helper.settings(settings);
    }
  });
});

describe('one write per hand-over (oneWriteFor)', () => {
  const { Writable } = require('node:stream');
  const { oneWriteFor } = require('../dist/index.js');
  const turn = () => new Promise((resolve) => setImmediate(resolve));

  it('holds a stream only for the deliveries queued by send(), even when send() throws', async () => {
    // What reaches the sink in one go (a socket's one syscall): one chunk, or the chunks held.
    const written = [];
    const stream = new Writable({
      write: (chunk, encoding, done) => done(written.push(chunk.toString()) && undefined),
      writev: (chunks, done) => done(written.push(chunks.map(({ chunk }) => chunk.toString()).join('')) && undefined),
    });
    oneWriteFor([stream], () => setImmediate(() => stream.write('a')));
    oneWriteFor([stream], () => setImmediate(() => stream.write('b')));
    assert.throws(() => oneWriteFor([stream], () => {
      setImmediate(() => stream.write('c'));
      throw new Error('send failed');
    }), /send failed/);
    await turn();
    await turn();
    assert.equal(stream.writableCorked, 0, 'released after the deliveries, the failed send() included');
    assert.deepEqual(written, ['abc'], 'what the deliveries wrote left together, in order');
    stream.write('d');
    await turn();
    assert.deepEqual(written, ['abc', 'd'], 'later writes are not held');
  });
});

describe('TCP_NODELAY on the embedded broker of npm start', function () {
  it('sets it on every connection it accepts', async () => {
    const { startEmbeddedBroker } = require('../scripts/embedded-broker');
    const { MqttRecorder } = require('./support/mqtt-client');
    const { calls, restore } = recordSetNoDelay();
    const broker = await startEmbeddedBroker(0);
    try {
      const recorder = await MqttRecorder.connect(broker.url);
      const clientSocket = recorder.client.stream;
      const accepted = calls.filter((call) => call.socket.localPort === broker.port && call.socket.remotePort === clientSocket.localPort);
      await recorder.end();
      assert.equal(accepted.length, 1, 'the broker\'s side of the connection');
      assert.equal(accepted[0].noDelay, true);
    } finally {
      restore();
      await broker.close();
    }
  });
});
