'use strict';
// Two real Node-RED processes on one PostgreSQL store, fed through an MQTT shared subscription on
// Mosquitto (child processes: Node-RED's runtime hooks, so `mqtt out` acknowledgements count). The
// events of one chart land on either process, so each process works charts the other just moved:
// nothing may be refused on what a process remembers, and a timer armed by one fires once,
// whichever process claims it.
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { ChartStore } = require('../dist/index.js');
const { postgres, skipReason, describeIf, uniqueName } = require('./support/env');
const { MqttRecorder } = require('./support/mqtt-client');
const { chartFlow, flowAnswers } = require('./support/flows');
const { NodeRedProcess } = require('./support/node-red-process');

const EVENTS = 30;
const CHARTS = 20;

/** State S{i} accepts only event e{i}; after the last, a timer moves the chart on. */
function ring() {
  const states = {};
  for (let i = 1; i <= EVENTS; i++) states[`S${i}`] = { on: { [`e${i}`]: i === EVENTS ? 'Waiting' : `S${i + 1}` } };
  states.Waiting = { after: { 500: 'Expired' } };
  states.Expired = { type: 'final' };
  return { id: 'Ring', initial: 'S1', states };
}

const why = skipReason([!postgres.skip, postgres.skip], [process.env.MQTT_URL, 'MQTT_URL is not set (shared subscriptions need Mosquitto)']);

describeIf(why, 'two Node-RED processes on one store', function () {
  this.timeout(240000);
  const processes = [];
  let client;
  let prefix;
  let store;

  before(async () => {
    prefix = `${uniqueName('scale')}/chart`;
    store = postgres.store();
    client = await MqttRecorder.connect(process.env.MQTT_URL);
    for (const topic of ['+/state', '+/error', '_seen/+']) await client.subscribe(`${prefix}/${topic}`);
  });
  after(async () => {
    for (const nr of processes.splice(0)) await nr.kill();
    await client?.end();
    const db = new ChartStore(store);
    await db.query(`drop schema if exists "${store.schema}" cascade`).catch(() => {});
    await db.close();
  });

  it(`applies ${CHARTS} charts × ${EVENTS} events spread over both, each accepted by one state only, and fires each timer once`, async () => {
    const flows = chartFlow({ brokerUrl: process.env.MQTT_URL, store, prefix, definition: ring(), shareGroup: uniqueName('g') });
    // Each process also reports which events it received, to show both worked the same charts.
    flows.find((n) => n.id === 'in').wires[0].push('seen');
    flows.push({ id: 'seen', type: 'function', func: `return { topic: '${prefix}/_seen/' + env.get('PROC'), payload: msg.topic, qos: 0 };`, outputs: 1, wires: [['out']] });
    for (const name of ['A', 'B']) {
      processes.push(new NodeRedProcess({ flows, userDir: fs.mkdtempSync(path.join(os.tmpdir(), 'xstate-scale-')), env: { PROC: name } }));
    }
    await Promise.all(processes.map((nr) => nr.start()));
    await flowAnswers(client, prefix);

    const charts = Array.from({ length: CHARTS }, (_, i) => `r-${i}`);
    const stateAt = (chartId, seq) => (m) => m.topic === `${prefix}/${chartId}/state` && m.json?.metadata?.seq === seq;
    await Promise.all(
      charts.map(async (chartId) => {
        for (let i = 1; i <= EVENTS; i++) {
          await client.publish(`${prefix}/${chartId}/event`, { type: `e${i}`, id: `${chartId}-e${i}` });
          await client.waitFor(stateAt(chartId, i), 30000, `${chartId} to apply e${i}`);
        }
      }),
    );
    await Promise.all(charts.map((chartId) => client.waitFor(stateAt(chartId, EVENTS + 1), 30000, `${chartId}'s timer`)));

    const errors = client.filter((m) => m.topic.endsWith('/error') && !m.topic.includes('/probe-'));
    assert.deepEqual(errors.map((m) => m.json), [], 'no event was refused');
    for (const chartId of charts) {
      const expired = client.filter((m) => m.topic === `${prefix}/${chartId}/state` && m.json?.value === 'Expired');
      assert.equal(expired.length, 1, `${chartId}: the timer fired once`);
      assert.equal(expired[0].json.metadata.seq, EVENTS + 1);
    }
    const seen = (name) => client.filter((m) => m.topic === `${prefix}/_seen/${name}` && !m.text.includes('/probe-')).map((m) => m.text.split('/').slice(-2, -1)[0]);
    const [a, b] = [seen('A'), seen('B')];
    assert.ok(a.length > 0 && b.length > 0, `both processes received events (A ${a.length}, B ${b.length})`);
    assert.ok(charts.some((chartId) => a.includes(chartId) && b.includes(chartId)), 'some chart was worked by both');
    console.log(`      events received: A ${a.length}, B ${b.length}`);

    const db = new ChartStore(store);
    try {
      const schema = `"${store.schema}"`;
      const { rows } = await db.query(`select seq, state->>'value' as value, count(*) as n from ${schema}.charts where machine_id = 'Ring' group by seq, value`);
      assert.deepEqual(rows.map((r) => [Number(r.seq), r.value, Number(r.n)]), [[EVENTS + 1, 'Expired', CHARTS]]);
      assert.equal(Number((await db.query(`select count(*) as n from ${schema}.timers`)).rows[0].n), 0);
    } finally {
      await db.close();
    }
  });
});
