'use strict';
// Durable timers through the xstate-chart node, seen from outside: the `timers` table read and
// written with SQL, the node's outputs. Deleting a chart deletes its timers; a timer claimed by a
// process that died fires once the claim's lease is over, not before.
// Runtime: the in-process test helper, with Node-RED's own hooks handed to our nodes (see
// test/support/node-red.js): messages count as delivered when `mqtt out` completed them.
const assert = require('node:assert/strict');
const { backends, describeIf } = require('./support/env');
const { nodeSuite } = require('./support/harness');
const { helper, ourNodes } = require('./support/node-red');

const deadline = (ms) => ({
  id: 'Deadline',
  initial: 'Idle',
  states: { Idle: { on: { start: 'Waiting' } }, Waiting: { after: { [ms]: 'Expired' } }, Expired: {} },
});

function flow(store, definition) {
  return [
    { id: 'store', type: 'xstate-store', ...store },
    { id: 'chart', type: 'xstate-chart', store: 'store', source: 'inline', definition: JSON.stringify(definition), topicPrefix: 'xstate/chart', create: true, strict: true, wires: [['states'], [], ['errors']] },
    { id: 'states', type: 'helper' },
    { id: 'errors', type: 'helper' },
  ];
}

for (const backend of backends) {
  describeIf(backend.skip, `timers through the chart node (${backend.name})`, function () {
    this.timeout(60000);
    let store;
    let states;
    const suite = nodeSuite({ backend });
    beforeEach(() => ({ store } = suite));

    async function deploy(definition) {
      await helper.load(ourNodes, flow(store, definition));
      states = [];
      helper.getNode('states').on('input', (msg) => msg.topic.endsWith('/state') && states.push(msg.payload));
      helper.getNode('errors').on('input', (msg) => states.push({ error: msg.payload }));
    }

    /** The first state message of `chartId` that matches, received already or later. */
    function stateOf(chartId, predicate) {
      const matches = (s) => s.chartId === chartId && predicate(s);
      const seen = states.find(matches);
      if (seen) return Promise.resolve(seen);
      return new Promise((resolve) => {
        const listener = (msg) => {
          if (!msg.topic.endsWith('/state') || !matches(msg.payload)) return;
          // Node-RED walks its input listeners by index: remove this one only after the walk.
          setImmediate(() => helper.getNode('states').removeListener('input', listener));
          resolve(msg.payload);
        };
        helper.getNode('states').on('input', listener);
      });
    }

    async function start(chartId) {
      const waiting = stateOf(chartId, (s) => s.value === 'Waiting');
      helper.getNode('chart').receive({ chartId, payload: { type: 'start' } });
      return waiting;
    }

    const sql = (text, params) => helper.getNode('store').store.query(text, params);

    it('deletes a chart\'s timers with the chart row', async () => {
      await deploy(deadline(800));
      await start('gone');
      await start('kept');
      const timers = async () => (await sql(`select chart_id from "${store.schema}".timers order by chart_id`)).rows.map((r) => r.chart_id);
      assert.deepEqual(await timers(), ['gone', 'kept']);
      await sql(`delete from "${store.schema}".charts where chart_id = 'gone'`);
      assert.deepEqual(await timers(), ['kept'], 'the deleted chart\'s timer went with it');
      // kept's timer, due just after gone's would have been, fires: the scheduler ran past it.
      await stateOf('kept', (s) => s.value === 'Expired');
      assert.deepEqual(states.filter((s) => s.chartId === 'gone').map((s) => s.value), ['Waiting'], 'nothing more of the deleted chart');
      assert.equal(Number((await sql(`select count(*) as n from "${store.schema}".charts where chart_id = 'gone'`)).rows[0].n), 0, 'not created again');
      assert.deepEqual(await timers(), []);
    });

    it('fires a timer claimed by a process that died once the claim\'s lease is over, not before', async () => {
      await deploy(deadline(1000));
      await start('orphan');
      // A process claimed the timer (as the scheduler does when it is due) and died: its claim
      // lasts until claimed_until. Claimed here before it is due, so no scheduler has it yet.
      const claim = await sql(
        `update "${store.schema}".timers set claimed_by = 'dead', claimed_until = now() + interval '2 seconds'
          where chart_id = 'orphan' and claimed_by is null
          returning extract(epoch from claimed_until) * 1000 as until_ms`,
      );
      assert.equal(claim.rows.length, 1, 'the timer was not claimed by the running scheduler yet');
      const leaseEndsAt = Number(claim.rows[0].until_ms);
      const expired = await stateOf('orphan', (s) => s.value === 'Expired');
      assert.ok(expired.metadata.timestamp >= leaseEndsAt, `fired ${leaseEndsAt - expired.metadata.timestamp} ms before the lease ended`);
      assert.equal(expired.metadata.seq, 2, 'fired once');
      assert.equal(Number((await sql(`select count(*) as n from "${store.schema}".timers`)).rows[0].n), 0);
      assert.deepEqual(states.filter((s) => s.error), [], 'no error');
    });
  });
}
