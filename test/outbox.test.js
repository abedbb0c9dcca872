'use strict';
// The outbox relay against a real store: held while delivery is impossible, replayed in order per
// chart, forgotten once delivered, sent straight after commit otherwise.
// No Node-RED: these use the internal classes OutboxRelay and ChartStore directly (the relay's
// constructor and `committed`, which issue 9's rewrite may change; the SQL they read is the outbox's).
const assert = require('node:assert/strict');
const { ChartStore, OutboxRelay } = require('../dist/index.js');
const { backends, describeIf } = require('./support/env');

function record(chartId, seq) {
  const state = { chartId, machine: { id: 'M', version: 1 }, status: 'active', value: 'a', context: {}, history: {}, metadata: { timestamp: seq, seq, id: `${chartId}:${seq}` } };
  return { machineId: 'M', chartId, machineVersion: 1, seq, status: 'active', state, snapshot: { value: 'a' } };
}
/** `promise`, or a rejection naming `what` after `ms`. */
function within(promise, ms, what) {
  let timer;
  const timeout = new Promise((_, reject) => (timer = setTimeout(() => reject(new Error(`${what} did not happen within ${ms} ms`)), ms)));
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
const messages = (chartId, seq) => [{ output: 0, topic: `t/${chartId}/state`, payload: { seq }, retain: true, xstate: { chartId, machineId: 'M', machineVersion: 1, seq, id: `${chartId}:${seq}` } }];

for (const backend of backends) {
  describeIf(backend.skip, `outbox relay (${backend.name})`, function () {
    this.timeout(30000);
    let config;
    let store;
    let relay;
    beforeEach(() => {
      config = backend.store();
      store = new ChartStore(config);
    });
    afterEach(async () => {
      await relay?.stop();
      await store.query(`drop schema if exists "${config.schema}" cascade`);
      await store.close();
    });

    async function commit(chartId, seq) {
      const outbox = messages(chartId, seq);
      assert.equal(await store.commitTransition({ record: record(chartId, seq), expectedSeq: seq - 1, schedule: [], cancel: [], outbox }), 'committed');
      relay.committed(chartId, seq, outbox);
    }
    const left = async () => Number((await store.query(`select count(*) as n from "${config.schema}".outbox`)).rows[0].n);

    it('holds messages while they cannot be delivered, then replays them in order per chart', async () => {
      let connected = false;
      const delivered = [];
      let allDelivered;
      const done = new Promise((resolve) => (allDelivered = resolve));
      let a4Delivered;
      const a4 = new Promise((resolve) => (a4Delivered = resolve));
      relay = new OutboxRelay({
        store,
        machineId: 'M',
        retryMs: 50,
        canDeliver: () => connected,
        deliver: async (batch) => {
          delivered.push(...batch.map((m) => m.xstate.id));
          if (delivered.length === 6) allDelivered();
          if (delivered.includes('a:4')) a4Delivered();
        },
      });
      relay.start();
      for (let seq = 1; seq <= 3; seq++) for (const chartId of ['a', 'b']) await commit(chartId, seq);
      assert.deepEqual(delivered, [], 'nothing goes out while disconnected');
      assert.equal(await left(), 6);
      connected = true;
      await done;
      for (const chartId of ['a', 'b']) assert.deepEqual(delivered.filter((id) => id.startsWith(chartId)), [1, 2, 3].map((s) => `${chartId}:${s}`));
      // A later commit goes out too, after the ones before it.
      await commit('a', 4);
      await a4;
      assert.deepEqual(delivered.filter((id) => id.startsWith('a')), ['a:1', 'a:2', 'a:3', 'a:4']);
      await relay.stop();
      assert.equal(await left(), 0, 'delivered transitions are forgotten');
    });

    it('keeps what was not delivered, for the next replay', async () => {
      // The relay's store is watched to know when its start-up replay found the outbox empty: from
      // then on it sends straight after commit, and the test waits for that attempt itself (it
      // fails: no acknowledgement), so a relay that never tried cannot pass for one that kept the row.
      let startupRead;
      const startupDone = new Promise((resolve) => (startupRead = resolve));
      const watched = {
        readOutbox: async (...args) => {
          const entries = await store.readOutbox(...args);
          if (entries.length === 0) startupRead();
          return entries;
        },
        clearOutbox: (...args) => store.clearOutbox(...args),
      };
      const attempts = [];
      let failed;
      const attemptFailed = new Promise((resolve) => (failed = resolve));
      relay = new OutboxRelay({
        store: watched,
        machineId: 'M',
        retryMs: 50,
        canDeliver: () => true,
        deliver: (batch) => {
          attempts.push(...batch.map((m) => m.xstate.id));
          const failure = Promise.reject(new Error('no ack'));
          failure.catch(() => setImmediate(failed));
          return failure;
        },
      });
      relay.start();
      await startupDone;
      await commit('c', 1);
      await within(attemptFailed, 5000, 'the delivery attempt');
      await relay.stop();
      assert.deepEqual(attempts, ['c:1'], 'the relay tried to deliver it');
      assert.equal(await left(), 1, 'and kept it, not delivered');

      let replayed;
      const replay = new Promise((resolve) => (replayed = resolve));
      relay = new OutboxRelay({ store, machineId: 'M', retryMs: 50, canDeliver: () => true, deliver: async (batch) => replayed(batch.map((m) => m.xstate.id)) });
      relay.start();
      assert.deepEqual(await replay, ['c:1']);
      await relay.stop();
      assert.equal(await left(), 0, 'delivered at the replay, then forgotten');
    });
  });
}
