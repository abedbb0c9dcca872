'use strict';
// Node-RED with the real `mqtt in` / `mqtt out` nodes and a real broker, driven by an outside MQTT
// client; the database is read to prove what changed and what did not.
// Runtime: the in-process test helper (node-red-node-test-helper). Its node API lacks RED.hooks;
// test/support/node-red.js hands our nodes Node-RED's own hooks module, which its flow engine runs,
// so a chart's message counts as delivered when every `mqtt out` on its way completed it (the
// broker's acknowledgement), as in a real Node-RED.
const assert = require('node:assert/strict');
const { backends, describeIf } = require('./support/env');
const { flowSuite } = require('./support/harness');
const { MqttRecorder } = require('./support/mqtt-client');
const { helper, allNodes, chartFlow, flowAnswers } = require('./support/node-red');
const { marketplace, withHistory, ticker } = require('./fixtures/machines');

const switchNode = require('@node-red/nodes/core/function/10-switch.js');
const { hooks } = require('@node-red/util');

const isState = (prefix, chartId, predicate = () => true) => (m) => m.topic === `${prefix}/${chartId}/state` && m.json && predicate(m.json);

async function rowOf(chartId, machineId = 'Workflow') {
  const store = helper.getNode('store').store;
  const { rows } = await store.query(`select seq, status, state, snapshot from "${store.schema}".charts where machine_id = $1 and chart_id = $2`, [machineId, chartId]);
  return rows[0] && { ...rows[0], seq: Number(rows[0].seq) };
}

async function chartCount() {
  const store = helper.getNode('store').store;
  const { rows } = await store.query(`select count(*) as n from "${store.schema}".charts`);
  return Number(rows[0].n);
}

for (const backend of backends) {
  describeIf(backend.skip, `flow over MQTT (${backend.name})`, function () {
    this.timeout(120000);
    let broker;
    let client;
    let prefix;
    let store;
    const suite = flowSuite({ backend });
    beforeEach(() => ({ broker, client, prefix, store } = suite));

    async function deploy(definition, options = {}) {
      await helper.load(allNodes, chartFlow({ brokerUrl: broker.url, store, prefix, definition, ...options }));
      await flowAnswers(client, prefix);
    }

    it('drives two charts of one machine independently, with the SPEC\'s payloads', async () => {
      await deploy(marketplace);
      await client.publish(`${prefix}/order-1/event`, { type: 'reject', id: 'e-1' });
      await client.publish(`${prefix}/order-2/event`, 'agree');

      const rejected = await client.waitFor(isState(prefix, 'order-1'));
      assert.equal(rejected.retain, false, 'a live message is not flagged retained to a subscriber already there');
      assert.deepEqual(rejected.json.value, { Negotiate: 'Reject' });
      assert.deepEqual(rejected.json.context, { requestor: 1, vendor: 2 });
      assert.deepEqual(rejected.json.machine, { id: 'Workflow', version: 1 });
      assert.equal(rejected.json.chartId, 'order-1');
      assert.equal(rejected.json.status, 'active');
      assert.deepEqual(rejected.json.history, {});
      assert.equal(rejected.json.metadata.seq, 1);
      assert.deepEqual(rejected.json.metadata.event, { type: 'reject', id: 'e-1' });
      assert.equal(rejected.json.metadata.id, 'order-1:1');
      assert.equal(typeof rejected.json.metadata.timestamp, 'number');

      const action = await client.waitFor((m) => m.topic === `${prefix}/order-1/action/rejectOffer`);
      assert.deepEqual(action.json, {
        type: 'rejectOffer',
        params: { rejected: 'datetime' },
        context: { requestor: 1, vendor: 2 },
        state: { value: { Negotiate: 'Reject' }, context: { requestor: 1, vendor: 2 } },
        chartId: 'order-1',
        id: 'order-1:1:0',
      });
      const negotiate = await client.waitFor((m) => m.topic === `${prefix}/order-1/value/Negotiate`);
      assert.equal(negotiate.text, 'Reject');
      const root = await client.waitFor((m) => m.topic === `${prefix}/order-1/value/Workflow`);
      assert.deepEqual(root.json, { Negotiate: 'Reject' });

      const performing = await client.waitFor(isState(prefix, 'order-2'));
      assert.deepEqual(performing.json.value, { Perform: 'Initiate' });
      assert.equal((await client.waitFor((m) => m.topic === `${prefix}/order-2/value/Perform`)).text, 'Initiate');
      await client.waitFor((m) => m.topic === `${prefix}/order-2/action/Underway`);
      assert.equal(client.filter((m) => m.topic === `${prefix}/order-2/value/Negotiate`).length, 0, 'a state never active publishes no value');

      assert.equal((await rowOf('order-1')).seq, 1);
      assert.deepEqual((await rowOf('order-2')).state.value, { Perform: 'Initiate' });

      // Retained: a subscriber arriving later gets the last state and values.
      const late = await MqttRecorder.connect(broker.url);
      await late.subscribe(`${prefix}/order-1/#`);
      const retained = await late.waitFor((m) => m.topic === `${prefix}/order-1/state`);
      assert.equal(retained.retain, true);
      assert.equal(retained.json.metadata.seq, 1);
      await late.client.endAsync();
    });

    it('rejects a malformed event, an unknown event type and an event the state does not accept, changing nothing', async () => {
      await deploy(marketplace);
      await client.publish(`${prefix}/order-3/event`, { type: 'reject' });
      await client.waitFor(isState(prefix, 'order-3'));
      const before = await rowOf('order-3');
      const charts = await chartCount();
      const statesBefore = client.filter((m) => m.topic.startsWith(`${prefix}/order-3/state`)).length;

      const cases = [
        { payload: '{"type": "reject"', code: 'invalid_event' },
        { payload: { data: { no: 'type' } }, code: 'invalid_event' },
        { payload: { type: 'explode' }, code: 'event_not_accepted' },
        { payload: { type: 'agree' }, code: 'event_not_accepted' },
      ];
      for (const [index, c] of cases.entries()) {
        const id = `bad-${index}`;
        const payload = typeof c.payload === 'string' ? c.payload : { ...c.payload, id };
        await client.publish(`${prefix}/order-3/event`, payload);
        const error = await client.waitFor((m) => m.topic === `${prefix}/order-3/error` && client.filter((e) => e.topic === m.topic).indexOf(m) === index);
        assert.equal(error.json.code, c.code, JSON.stringify(c.payload));
        assert.equal(error.json.chartId, 'order-3');
        assert.equal(typeof error.json.message, 'string');
        assert.equal(typeof error.json.timestamp, 'number');
      }
      // An event for a chart that does not exist yet and is not accepted there creates nothing.
      await client.publish(`${prefix}/ghost/event`, { type: 'explode' });
      assert.equal((await client.waitFor((m) => m.topic === `${prefix}/ghost/error`)).json.code, 'event_not_accepted');
      // A chartId that breaks the rules.
      await client.publish(`${prefix}/${'x'.repeat(129)}/event`, { type: 'reject' });
      const invalidId = await client.waitFor((m) => m.topic === `${prefix}/_invalid/error`);
      assert.equal(invalidId.json.code, 'invalid_event');
      assert.equal(invalidId.json.chartId, null);

      assert.deepEqual(await rowOf('order-3'), before);
      assert.equal(await chartCount(), charts);
      assert.equal(await rowOf('ghost'), undefined);
      assert.equal(client.filter((m) => m.topic.startsWith(`${prefix}/order-3/state`)).length, statesBefore);
    });

    it('ignores events the state does not accept when strict is off: no error, no message, nothing applied', async () => {
      await deploy(withHistory, { strict: false });
      await client.publish(`${prefix}/lax/event`, { type: 'pause', id: 'p-1' });
      await client.waitFor(isState(prefix, 'lax'));
      const before = await rowOf('lax', 'Job');
      // Paused accepts only resume: one event type the machine knows elsewhere, one it does not know.
      await client.publish(`${prefix}/lax/event`, { type: 'next', id: 'x-1' });
      await client.publish(`${prefix}/lax/event`, { type: 'explode', id: 'x-2' });
      // A barrier the state accepts: once its state is out, the two before it were handled.
      await client.publish(`${prefix}/lax/event`, { type: 'resume', id: 'barrier' });
      const barrier = await client.waitFor(isState(prefix, 'lax', (s) => s.metadata.event.id === 'barrier'));
      assert.equal(barrier.json.metadata.seq, before.seq + 1, 'the ignored events took no seq');
      assert.deepEqual(barrier.json.value, { Work: 'Prepare' });
      assert.equal(client.filter((m) => m.topic === `${prefix}/lax/error`).length, 0, 'no error');
      assert.deepEqual(client.filter(isState(prefix, 'lax')).map((m) => m.json.metadata.event.id), ['p-1', 'barrier'], 'no state message for them');
      assert.equal((await rowOf('lax', 'Job')).seq, before.seq + 1);
    });

    it('refuses an event for an unknown chart when create is off, creating nothing', async () => {
      await deploy(marketplace, { create: false });
      await client.publish(`${prefix}/nobody/event`, { type: 'reject' });
      const error = await client.waitFor((m) => m.topic === `${prefix}/nobody/error`);
      assert.equal(error.json.code, 'unknown_chart');
      assert.equal(await chartCount(), 0);
    });

    it('acknowledges a redelivered old event id silently, with strict on, even when its transition is no longer enabled', async () => {
      const steps = { id: 'Steps', initial: 'A', states: { A: { on: { go: 'B' } }, B: { on: { next: 'C' } }, C: {} } };
      await deploy(steps);
      await client.publish(`${prefix}/s-1/event`, { type: 'go', id: 'g-1' });
      await client.publish(`${prefix}/s-1/event`, { type: 'next', id: 'n-1' });
      await client.waitFor(isState(prefix, 's-1', (s) => s.value === 'C'));
      // g-1 again: applied already, and not the last event; C has no transition for it.
      await client.publish(`${prefix}/s-1/event`, { type: 'go', id: 'g-1' });
      // A barrier: the chart's events are handled in order, so its answer comes after g-1's.
      await client.publish(`${prefix}/s-1/event`, { type: 'go', id: 'g-2' });
      const barrier = await client.waitFor((m) => m.topic === `${prefix}/s-1/error`);
      assert.equal(barrier.json.event.id, 'g-2', 'the redelivered g-1 got no error');
      assert.equal(barrier.json.code, 'event_not_accepted');
      assert.equal((await rowOf('s-1', 'Steps')).seq, 2, 'nothing applied again');
      assert.equal(client.filter((m) => m.topic === `${prefix}/s-1/error`).length, 1);
    });

    it('counts a message that a switch node drops on its way to mqtt out as delivered: the outbox empties', async () => {
      // Only state messages pass the switch; value messages (also on output 1) are dropped there.
      await helper.load([...allNodes, switchNode], chartFlow({
        brokerUrl: broker.url, store, prefix, definition: marketplace,
        extra: [{ id: 'only-states', type: 'switch', property: 'topic', propertyType: 'msg', rules: [{ t: 'regex', v: '/state$' }], checkall: 'true', outputs: 1, wires: [['out']] }],
      }).map((n) => (n.id === 'chart' ? { ...n, wires: [['only-states'], ['out'], ['out']] } : n)));
      await flowAnswers(client, prefix);
      await client.publish(`${prefix}/order-9/event`, { type: 'reject' });
      await client.publish(`${prefix}/order-10/event`, 'agree');
      await client.waitFor(isState(prefix, 'order-9'));
      await client.waitFor(isState(prefix, 'order-10'));
      await helper.getNode('chart').xstate.drained();
      const db = helper.getNode('store').store;
      const { rows } = await db.query(`select count(*) as n from "${db.schema}".outbox`);
      assert.equal(Number(rows[0].n), 0, 'nothing waits in the outbox');
      assert.equal(client.filter((m) => /\/value\//.test(m.topic)).length, 0, 'the switch did drop the value messages');
    });

    it('hands mqtt out the JSON text of a payload on an output wired only to mqtt out, and a copy of the object elsewhere', async () => {
      // Output 0 (state, values) goes to mqtt out only; output 1 (actions) to mqtt out and a helper node.
      const handed = [];
      hooks.add('preDeliver.payloadTextTest', (event) => {
        if (event.source.id === 'chart') handed.push({ to: event.destination.id, topic: event.msg.topic, payload: event.msg.payload });
      });
      try {
        await helper.load(allNodes, chartFlow({ brokerUrl: broker.url, store, prefix, definition: marketplace, extra: [{ id: 'seen', type: 'helper' }] })
          .map((n) => (n.id === 'chart' ? { ...n, wires: [['out'], ['out', 'seen'], ['out']] } : n)));
        await flowAnswers(client, prefix);
        await client.publish(`${prefix}/order-11/event`, { type: 'reject', id: 'e-11' });
        const published = await client.waitFor(isState(prefix, 'order-11'));
        const action = await client.waitFor((m) => m.topic === `${prefix}/order-11/action/rejectOffer`);
        await helper.getNode('chart').xstate.drained();

        const state = handed.find((h) => h.topic === `${prefix}/order-11/state`);
        assert.equal(typeof state.payload, 'string', 'mqtt out is handed the state as text');
        assert.equal(state.payload, published.text, 'and publishes exactly that text');
        assert.deepEqual(JSON.parse(state.payload).metadata.event, { type: 'reject', id: 'e-11' });
        const root = handed.find((h) => h.topic === `${prefix}/order-11/value/Workflow`);
        assert.equal(root.payload, JSON.stringify({ Negotiate: 'Reject' }), 'an object value too');
        assert.equal(handed.find((h) => h.topic === `${prefix}/order-11/value/Negotiate`).payload, 'Reject', 'a text value stays as it is');

        const actions = handed.filter((h) => h.topic === `${prefix}/order-11/action/rejectOffer`);
        assert.deepEqual(actions.map((h) => h.to).sort(), ['out', 'seen']);
        for (const copy of actions) assert.equal(typeof copy.payload, 'object', `${copy.to} is handed an object where another node shares the output`);
        assert.deepEqual(actions[0].payload, action.json);
        assert.notEqual(actions[0].payload, actions[1].payload, 'each node its own copy');
      } finally {
        hooks.remove('*.payloadTextTest');
      }
    });

    it('continues every chart from its persisted state after a restart, history and context intact', async () => {
      await deploy(withHistory);
      await client.publish(`${prefix}/job-1/event`, { type: 'next', id: 'j1-1' });
      await client.publish(`${prefix}/job-1/event`, { type: 'pause', id: 'j1-2' });
      await client.publish(`${prefix}/job-2/event`, { type: 'next', id: 'j2-1' });
      await client.publish(`${prefix}/job-2/event`, { type: 'next', id: 'j2-2' });
      await client.waitFor(isState(prefix, 'job-1', (s) => s.metadata.seq === 2));
      await client.waitFor(isState(prefix, 'job-2', (s) => s.metadata.seq === 2));
      const paused = client.filter(isState(prefix, 'job-1')).pop().json;
      assert.deepEqual(paused.value, 'Paused');
      assert.deepEqual(paused.history, { Work: { current: 'Run', states: {} } });

      // Stop every flow (the store closes its database), then start them again.
      await helper.unload();
      await helper.load(allNodes, chartFlow({ brokerUrl: broker.url, store, prefix, definition: withHistory }));
      await flowAnswers(client, prefix);

      await client.publish(`${prefix}/job-1/event`, { type: 'resume', id: 'j1-3' });
      await client.publish(`${prefix}/job-2/event`, { type: 'pause', id: 'j2-3' });
      const resumed = await client.waitFor(isState(prefix, 'job-1', (s) => s.metadata.seq === 3));
      assert.deepEqual(resumed.json.value, { Work: 'Run' }, 'history returns to the remembered child');
      assert.deepEqual(resumed.json.context, { owner: 'ops', limits: { retries: 3 } });
      const job2 = await client.waitFor(isState(prefix, 'job-2', (s) => s.metadata.seq === 3));
      assert.deepEqual(job2.json.value, 'Paused');
      assert.deepEqual(job2.json.history, { Work: { current: 'Check', states: {} } });
      assert.equal((await rowOf('job-1', 'Job')).seq, 3);
    });

    it('applies a 1,000-event stream delivered twice exactly 1,000 times', async () => {
      const counter = { id: 'Counter', initial: 'On', context: { n: 0 }, states: { On: { on: { tick: { actions: { type: 'assign', params: { n: { '+': [{ var: 'context.n' }, 1] } } } } } } } };
      await deploy(counter);
      const states = () => client.filter(isState(prefix, 'twice')).length;
      for (let i = 0; i < 1000; i++) {
        if (i - states() >= 100) await client.waitFor(isState(prefix, 'twice', (s) => s.metadata.seq >= i - 99));
        await client.publish(`${prefix}/twice/event`, { type: 'tick', id: `e-${i}` });
        // The previous event again: not the chart's last one, so only the stored window can tell.
        if (i > 0) await client.publish(`${prefix}/twice/event`, { type: 'tick', id: `e-${i - 1}` });
      }
      await client.publish(`${prefix}/twice/event`, { type: 'tick', id: 'e-999' });
      await client.publish(`${prefix}/twice/event`, { type: 'tick', id: 'barrier' });
      const last = await client.waitFor(isState(prefix, 'twice', (s) => s.metadata.event.id === 'barrier'), 60000);
      assert.equal(last.json.metadata.seq, 1001);
      assert.equal(last.json.context.n, 1001);
      assert.equal(states(), 1001, 'a duplicate publishes nothing');
      assert.equal(client.filter((m) => m.topic === `${prefix}/twice/error`).length, 0, 'a duplicate is acknowledged, not an error');
      const row = await rowOf('twice', 'Counter');
      assert.equal(row.seq, 1001);
      assert.equal(row.state.context.n, 1001);
    });

    it('applies 1,000 events of one chart in order, and 50 charts fed at once', async () => {
      await deploy(ticker);
      const window = 100;
      const sent = [];
      const stateCount = (chartId) => client.filter(isState(prefix, chartId)).length;
      // Keep at most `window` events in flight (sent, state not yet seen): a broker drops a
      // backlog past its queue limit (Mosquitto: max_queued_messages 1000) silently.
      for (let i = 0; i < 1000; i++) {
        if (i - stateCount('solo') >= window) await client.waitFor(isState(prefix, 'solo', (s) => s.metadata.seq >= i - window + 1));
        const id = `e-${i}`;
        sent.push(id);
        await client.publish(`${prefix}/solo/event`, { type: 'tick', id });
      }
      await client.waitFor(isState(prefix, 'solo', (s) => s.metadata.seq === 1000), 60000);
      const states = client.filter(isState(prefix, 'solo')).map((m) => m.json);
      assert.deepEqual(states.map((s) => s.metadata.seq), sent.map((_, i) => i + 1));
      assert.deepEqual(states.map((s) => s.metadata.event.id), sent);
      assert.equal((await rowOf('solo', 'Ticker')).seq, 1000);

      const charts = Array.from({ length: 50 }, (_, i) => `many-${i}`);
      const perChart = 20;
      let published = 0;
      const received = () => client.filter((m) => m.topic.endsWith('/state') && m.topic.includes('/many-')).length;
      for (let round = 0; round < perChart; round++) {
        for (const chartId of charts) {
          if (published - received() >= window) await client.waitFor(() => published - received() < window, 60000, 'the window to open');
          await client.publish(`${prefix}/${chartId}/event`, { type: 'tick', id: `${chartId}-${round}` });
          published++;
        }
      }
      for (const chartId of charts) {
        const last = await client.waitFor(isState(prefix, chartId, (s) => s.metadata.seq === perChart), 60000);
        assert.equal(last.json.metadata.event.id, `${chartId}-${perChart - 1}`);
        const ids = client.filter(isState(prefix, chartId)).map((m) => m.json.metadata.event.id);
        assert.deepEqual(ids, Array.from({ length: perChart }, (_, r) => `${chartId}-${r}`));
        assert.equal((await rowOf(chartId, 'Ticker')).seq, perChart);
      }
    });
  });
}
