'use strict';
// Durable timers across real Node-RED processes: stopped and killed while a timer is pending,
// several processes on one store, and a backlog of overdue timers at start-up.
// Runtime: Node-RED as child processes (the real runtime, with RED.hooks: messages count as
// delivered when the broker acknowledged them).
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { ChartStore } = require('../dist/index.js');
const { backends, postgres, itIf, uniqueName, mqttBroker, closeBroker } = require('./support/env');
const { MqttRecorder } = require('./support/mqtt-client');
const { chartFlow, flowAnswers } = require('./support/flows');
const { NodeRedProcess } = require('./support/node-red-process');
const { watchTable } = require('./support/db-watch');

const deadline = {
  id: 'Deadline',
  initial: 'Idle',
  states: {
    Idle: { on: { start: 'Waiting' } },
    Waiting: { after: { 2000: 'Expired' }, on: { pay: 'Paid' } },
    Expired: {},
    Paid: {},
  },
};

const delay = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const stateOf = (prefix, chartId, predicate = () => true) => (m) => m.topic === `${prefix}/${chartId}/state` && m.json && predicate(m.json);

/** Store settings the child processes use: for the embedded backend, a data folder of their own. */
function processStore(backend) {
  const store = backend.store();
  if (store.backend === 'embedded') store.dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'xstate-nr-data-'));
  return store;
}

/** Reads the store the way the processes see it; for the embedded backend, only while none runs. */
async function withStore(storeConfig, work) {
  const store = new ChartStore(storeConfig);
  try {
    return await work(store, `"${storeConfig.schema}"`);
  } finally {
    await store.close();
  }
}

/** Publishes one event per chart, keeping at most `window` charts without a state message back. */
async function feed(client, prefix, chartIds, event, window = 100) {
  let sent = 0;
  const answered = () => client.filter((m) => m.topic.startsWith(`${prefix}/`) && m.topic.endsWith('/state')).length;
  const base = answered();
  for (const chartId of chartIds) {
    if (sent - (answered() - base) >= window) await client.waitFor(() => sent - (answered() - base) < window, 60000, 'the window to open');
    await client.publish(`${prefix}/${chartId}/event`, { ...event, id: `${chartId}-${event.type}` });
    sent++;
  }
}

describe('timers across Node-RED processes', function () {
  this.timeout(180000);
  let broker;
  let client;
  let prefix;
  const processes = [];

  before(async () => {
    broker = await mqttBroker();
  });
  after(async () => {
    await closeBroker();
  });
  beforeEach(async () => {
    prefix = `${uniqueName('proc')}/chart`;
    client = await MqttRecorder.connect(broker.url);
    // Only what the tests read: a broker drops a subscriber's backlog past its queue limit
    // (Mosquitto: max_queued_messages 1000), and value messages would triple the traffic.
    for (const topic of ['+/state', '+/error', '+/action/+']) await client.subscribe(`${prefix}/${topic}`);
  });
  afterEach(async () => {
    for (const nr of processes.splice(0)) await nr.kill();
    await client.end();
  });

  function nodeRed(flows, userDir) {
    const nr = new NodeRedProcess({ flows, userDir });
    processes.push(nr);
    return nr;
  }

  for (const backend of backends) {
    for (const how of ['stop', 'kill']) {
      itIf(backend.skip, `fires a pending timer once after Node-RED was ${how === 'stop' ? 'stopped' : 'killed (SIGKILL)'} (${backend.name})`, async () => {
        const store = processStore(backend);
        const flows = chartFlow({ brokerUrl: broker.url, store, prefix, definition: deadline });
        const first = nodeRed(flows);
        await first.start();
        await flowAnswers(client, prefix);
        await client.publish(`${prefix}/d-1/event`, { type: 'start', id: 's-1' });
        await client.waitFor(stateOf(prefix, 'd-1', (s) => s.value === 'Waiting'));
        const enteredAt = Date.now();
        await (how === 'stop' ? first.stop() : first.kill());
        // Time must pass: the timer falls due while no Node-RED runs.
        await delay(enteredAt + 2000 + 200 - Date.now());

        const second = nodeRed(flows, first.userDir);
        const startedAt = await second.start();
        const expired = await client.waitFor(stateOf(prefix, 'd-1', (s) => s.value === 'Expired'), 20000);
        const receivedAt = Date.now();
        console.log(`      timer due ${2000} ms after entering; Expired arrived ${receivedAt - startedAt} ms after flows started again (${receivedAt - enteredAt} ms after entering)`);
        assert.equal(expired.json.metadata.seq, 2);
        assert.match(expired.json.metadata.event.type, /^xstate\.after\.2000\./);

        await second.stop();
        assert.equal(client.filter(stateOf(prefix, 'd-1', (s) => s.value === 'Expired')).length, 1, 'the state message is published once');
        await withStore(store, async (db, schema) => {
          const { rows } = await db.query(`select seq, state from ${schema}.charts where chart_id = 'd-1'`);
          assert.equal(Number(rows[0].seq), 2);
          assert.equal(rows[0].state.value, 'Expired');
          assert.equal((await db.query(`select * from ${schema}.timers`)).rows.length, 0);
          await db.query(`drop schema ${schema} cascade`);
        });
      });
    }

    itIf(backend.skip, `fires the overdue timers of 1,000 charts at start-up, in due order per chart (${backend.name})`, async () => {
      const overdue = {
        id: 'Overdue',
        initial: 'Idle',
        states: {
          Idle: { on: { start: 'Run' } },
          Run: {
            type: 'parallel',
            states: {
              First: { initial: 'waiting', states: { waiting: { after: { 1000: 'done' } }, done: {} } },
              Second: { initial: 'waiting', states: { waiting: { after: { 1500: 'done' } }, done: {} } },
            },
          },
        },
      };
      const store = processStore(backend);
      const flows = chartFlow({ brokerUrl: broker.url, store, prefix, definition: overdue });
      const charts = Array.from({ length: 1000 }, (_, i) => `o-${i}`);
      const first = nodeRed(flows);
      await first.start();
      await flowAnswers(client, prefix);
      const createdFrom = Date.now();
      await feed(client, prefix, charts, { type: 'start' });
      const running = () => client.filter((m) => m.topic.endsWith('/state') && m.json?.metadata?.seq === 1).length;
      await client.waitFor(() => running() === charts.length, 60000, 'all charts running').catch((err) => {
        throw new Error(`${err.message}: ${running()} of ${charts.length}; ${client.messages.length} messages\n${first.output.slice(-2000)}`);
      });
      console.log(`      created 1,000 charts in ${Date.now() - createdFrom} ms`);
      const lastCreatedAt = Date.now();
      await first.stop();
      // Time must pass: every timer falls due while no Node-RED runs (the last at 1.5 s).
      await delay(lastCreatedAt + 1500 + 100 - Date.now());

      // The store is the truth: 2,000 state messages in a second exceed what a broker queues for
      // one subscriber (Mosquitto drops past max_queued_messages), so completion is read there. On
      // PostgreSQL a trigger on the charts table announces each commit (watched before the start).
      const watch = store.backend === 'postgres' ? await watchTable(store.connection, store.schema, 'charts') : undefined;
      const second = nodeRed(flows, first.userDir);
      const startedAt = await second.start();
      const done = `select count(*) filter (where seq = 3) as done, extract(epoch from max(updated_at)) * 1000 as last_ms from ${'${schema}'}.charts`;
      if (watch) {
        // Counted in the table, again at each commit: some timers may have fired before the stop.
        const allDone = async () => Number((await watch.query(done.replace('${schema}', `"${store.schema}"`))).rows[0].done) === charts.length;
        await watch.until(allDone, 60000, 'every chart at seq 3').finally(() => watch.close());
      } else {
        // PGlite cannot be opened while the process runs: wait until the state messages stop
        // (time must pass: a broker may drop some of them, and a lost message never shows).
        const isLast = (m) => m.topic.endsWith('/state') && m.json?.metadata?.seq === 3;
        let seen = -1;
        while (client.filter(isLast).length !== seen && client.filter(isLast).length < charts.length) {
          seen = client.filter(isLast).length;
          await client.waitFor(() => client.filter(isLast).length > seen, 3000).catch(() => {});
        }
      }
      await second.stop();
      await withStore(store, async (db, schema) => {
        const { rows } = await db.query(`select seq, state from ${schema}.charts`);
        assert.equal(rows.length, 1000);
        for (const row of rows) {
          // The later timer was applied last: the earlier one came first, at seq 2.
          assert.equal(Number(row.seq), 3, row.state.chartId);
          assert.equal(row.state.metadata.event.type, 'xstate.after.1500.Overdue.Run.Second.waiting', row.state.chartId);
          assert.deepEqual(row.state.value, { Run: { First: 'done', Second: 'done' } });
        }
        assert.equal((await db.query(`select * from ${schema}.timers`)).rows.length, 0);
        const { rows: last } = await db.query(done.replace('${schema}', schema));
        console.log(`      2,000 overdue timers of 1,000 charts: the last committed ${Math.round(Number(last[0].last_ms) - startedAt)} ms after the flows started (${backend.name})`);
        await db.query(`drop schema ${schema} cascade`);
      });
    });
  }

  itIf(postgres.skip, 'fires every timer exactly once with two Node-RED processes on one PostgreSQL store', async () => {
    const once = {
      id: 'Once',
      initial: 'Idle',
      states: {
        Idle: { on: { start: 'Waiting' } },
        // Targetless: the state is not left, so a second firing would be applied again (seq 3).
        Waiting: { after: { 1000: { actions: 'fired' } } },
      },
    };
    const store = processStore(postgres);
    // A shared subscription splits the events between the processes; an embedded aedes broker has
    // none, and then both processes receive every event (event ids make the second a duplicate).
    const shareGroup = process.env.MQTT_URL ? uniqueName('g') : undefined;
    const flows = chartFlow({ brokerUrl: broker.url, store, prefix, definition: once, shareGroup });
    const [a, b] = [nodeRed(flows), nodeRed(flows)];
    await Promise.all([a.start(), b.start()]);
    // Both connected: with a shared subscription a probe (flowAnswers) reaches only one of them.
    await Promise.all([a, b].map((nr) => nr.waitForOutput(/Connected to broker/)));
    await flowAnswers(client, prefix);

    const charts = Array.from({ length: 400 }, (_, i) => `x-${i}`);
    await feed(client, prefix, charts, { type: 'start' });
    const fired = (m) => /\/action\/fired$/.test(m.topic);
    await client.waitFor(() => client.filter(fired).length >= charts.length, 60000, 'every timer to fire');
    await withStore(store, async (db, schema) => {
      // Each action left with the commit that consumed its timer row: none is left to fire again.
      assert.equal(Number((await db.query(`select count(*) as n from ${schema}.timers`)).rows[0].n), 0);
      // A double firing would show as seq 3.
      const { rows } = await db.query(`select seq, count(*) as n from ${schema}.charts group by seq`);
      assert.deepEqual(rows.map((r) => [Number(r.seq), Number(r.n)]), [[2, 400]]);
    });
    await Promise.all([a.stop(), b.stop()]);
    const actions = client.filter(fired).map((m) => m.json.chartId);
    assert.equal(actions.length, 400, 'one action message per chart');
    assert.equal(new Set(actions).size, 400);
    await withStore(store, (db, schema) => db.query(`drop schema ${schema} cascade`));
  });
});
