'use strict';
// Fault injection: Node-RED killed with SIGKILL at random points of a stream of events, restarted,
// and a careful publisher that re-sends what it has not seen reflected.
// Runtime: Node-RED as a child process (the real runtime, with RED.hooks: messages count as
// delivered when the broker acknowledged them). Store: PostgreSQL only, to keep CI's budget (the
// path is the same code on both stores; a SIGKILL on the embedded store is covered by
// timers-process.test.js). Broker: MQTT_URL (Mosquitto in CI), else the embedded aedes broker; both
// are MQTT brokers over TCP to the Node-RED process.
const assert = require('node:assert/strict');
const { ChartStore } = require('../../dist/index.js');
const { postgres, describeIf, uniqueName, mqttBroker, closeBroker } = require('../support/env');
const { watchTable } = require('../support/db-watch');
const { MqttRecorder } = require('../support/mqtt-client');
const { chartFlow, flowAnswers } = require('../support/flows');
const { NodeRedProcess } = require('../support/node-red-process');

const counter = {
  id: 'Counter',
  initial: 'On',
  context: { n: 0 },
  states: { On: { on: { tick: { actions: [{ type: 'assign', params: { n: { '+': [{ var: 'context.n' }, 1] } } }, { type: 'counted' }] } } } },
};

describeIf(postgres.skip, 'faults: SIGKILL during a stream (PostgreSQL)', function () {
  this.timeout(600000);
  const CHARTS = 20;
  const PER_CHART = 250;
  const KILLS = 5;
  let broker;
  let client;
  let nodeRed;
  let store;

  before(async () => {
    broker = await mqttBroker();
  });
  after(async () => {
    await nodeRed?.kill();
    await client?.end();
    await closeBroker();
  });

  it(`applies ${CHARTS * PER_CHART} events across ${CHARTS} charts exactly once through ${KILLS} kills`, async () => {
    store = postgres.store();
    const prefix = `${uniqueName('crash')}/chart`;
    client = await MqttRecorder.connect(broker.url);
    for (const topic of ['+/state', '+/action/+', '+/error']) await client.subscribe(`${prefix}/${topic}`);
    const flows = chartFlow({ brokerUrl: broker.url, store, prefix, definition: counter });
    nodeRed = new NodeRedProcess({ flows });
    await nodeRed.start();
    await flowAnswers(client, prefix);

    const charts = Array.from({ length: CHARTS }, (_, i) => `k${i}`);
    const sent = new Map(charts.map((c) => [c, 0])); // events sent per chart: indexes 0..sent-1
    const reflected = new Map(charts.map((c) => [c, -1])); // highest index seen in a state message
    const indexOf = (id) => Number(id.slice(id.lastIndexOf('-') + 1));
    client.client.on('message', (topic, payload) => {
      if (!topic.endsWith('/state') || payload.length === 0) return;
      const state = JSON.parse(payload.toString());
      const id = state.metadata?.event?.id;
      if (id) reflected.set(state.chartId, Math.max(reflected.get(state.chartId), indexOf(id)));
    });
    const outstanding = () => charts.reduce((sum, c) => sum + (sent.get(c) - 1 - reflected.get(c)), 0);
    const publish = (chartId, index) => client.publish(`${prefix}/${chartId}/event`, { type: 'tick', id: `${chartId}-${index}` });
    let published = 0;
    let resent = 0;

    /** The careful client: everything sent but not reflected yet goes again. */
    const resendUnreflected = async () => {
      for (const chartId of charts) {
        for (let i = reflected.get(chartId) + 1; i < sent.get(chartId); i++) {
          await publish(chartId, i);
          resent++;
        }
      }
    };

    const total = CHARTS * PER_CHART;
    const killAt = new Set();
    while (killAt.size < KILLS) killAt.add(200 + Math.floor(Math.random() * (total - 400)));
    const restarts = [];
    for (let n = 0; n < total; n++) {
      const chartId = charts[n % CHARTS];
      if (outstanding() >= 200) await client.waitFor(() => outstanding() < 200, 30000, 'the window to open').catch(() => resendUnreflected());
      await publish(chartId, sent.get(chartId));
      sent.set(chartId, sent.get(chartId) + 1);
      published++;
      if (killAt.has(n)) {
        const killedAt = Date.now();
        await nodeRed.kill();
        nodeRed = new NodeRedProcess({ flows, userDir: nodeRed.userDir });
        await nodeRed.start();
        await flowAnswers(client, prefix);
        restarts.push(Date.now() - killedAt);
        await resendUnreflected();
      }
    }
    // Until every event is reflected: re-send what is missing, a bounded number of rounds.
    for (let round = 0; round < 20 && outstanding() > 0; round++) {
      await client.waitFor(() => outstanding() === 0, 3000, 'the rest').catch(() => resendUnreflected());
    }
    assert.equal(outstanding(), 0, 'every event is reflected in its chart');

    const db = new ChartStore(store);
    try {
      const { rows } = await db.query(`select chart_id, seq, state from "${store.schema}".charts order by chart_id`);
      assert.equal(rows.length, CHARTS);
      for (const row of rows) {
        assert.equal(row.state.context.n, PER_CHART, `${row.chart_id}: counter equals the distinct events sent`);
        assert.equal(Number(row.seq), PER_CHART, `${row.chart_id}: one transition per distinct event`);
      }
      // Every state message the broker delivered is a committed state: one content per (chart, seq),
      // with counter = seq, and no event applied at two seqs.
      const states = client.filter((m) => m.topic.endsWith('/state') && m.json?.metadata);
      const bySeq = new Map();
      for (const { json } of states) {
        const key = `${json.chartId}:${json.metadata.seq}`;
        const seen = bySeq.get(key);
        if (seen) assert.deepEqual({ ...json, metadata: { ...json.metadata, timestamp: 0 } }, { ...seen, metadata: { ...seen.metadata, timestamp: 0 } }, key);
        else bySeq.set(key, json);
        assert.equal(json.context.n, json.metadata.seq, key);
      }
      for (const chartId of charts) {
        const ids = [...bySeq.values()].filter((s) => s.chartId === chartId).map((s) => s.metadata.event.id);
        assert.equal(new Set(ids).size, ids.length, `${chartId}: no event applied twice`);
      }
      // No committed action was left unpublished.
      const actions = new Set(client.filter((m) => m.topic.endsWith('/action/counted')).map((m) => m.json.id));
      for (const chartId of charts) {
        for (let seq = 1; seq <= PER_CHART; seq++) assert.ok(actions.has(`${chartId}:${seq}:0`), `action ${chartId}:${seq}:0 published`);
      }
      const duplicateStates = states.length - bySeq.size;
      console.log(`      ${published} events published + ${resent} re-sent; ${KILLS} kills, restarts took ${restarts.join(', ')} ms; ` +
        `${states.length} state messages for ${bySeq.size} transitions (${duplicateStates} replayed), ${client.filter((m) => m.topic.endsWith('/action/counted')).length} action messages for ${CHARTS * PER_CHART} actions`);
      // Delivered rows are deleted in batches after the acknowledgements: await the last deletion.
      const outbox = await watchTable(store.connection, store.schema, 'outbox');
      try {
        const outboxLeft = async () => Number((await outbox.query(`select count(*) as n from "${store.schema}".outbox`)).rows[0].n);
        await outbox.until(async () => (await outboxLeft()) === 0, 10000, 'the outbox to be empty').catch(() => {});
        assert.equal(await outboxLeft(), 0, 'the outbox is empty once all is delivered');
      } finally {
        await outbox.close();
      }
      await db.query(`drop schema "${store.schema}" cascade`);
    } finally {
      await db.close();
    }
  });
});
