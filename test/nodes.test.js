'use strict';
// The nodes inside Node-RED, wired to each other: deploy-time validation, action handlers, Catch.
// Runtime: the in-process test helper (node-red-node-test-helper), which has no RED.hooks: a
// chart's message counts as delivered once handed over (the broker-acknowledgement path is tested
// with real Node-RED processes: faults/broker-ack.test.js). The database is read with SQL.
const assert = require('node:assert/strict');
const { backends, describeIf } = require('./support/env');
const { helper, ourNodes, statusCalls, statusMatching } = require('./support/node-red');
const { seedText } = require('./fixtures/machines');

const { Client } = require('pg');
const changeNode = require('@node-red/nodes/core/function/15-change.js');
const nodes = [...ourNodes, changeNode];

const order = {
  id: 'Order',
  initial: 'Idle',
  context: { amount: 5 },
  states: {
    Idle: { on: { submit: 'Charging' } },
    Charging: { entry: { type: 'charge', params: { amount: 5 } }, on: { charged: 'Done' } },
    Done: { entry: 'thank', type: 'final' },
  },
};

function flow(store, definition, extra = []) {
  return [
    { id: 'store', type: 'xstate-store', ...store },
    { id: 'chart', type: 'xstate-chart', store: 'store', source: 'inline', definition: typeof definition === 'string' ? definition : JSON.stringify(definition), topicPrefix: 'xstate/chart', create: true, strict: true, wires: [['states'], [], ['errors']] },
    { id: 'states', type: 'helper' },
    { id: 'errors', type: 'helper' },
    ...extra,
  ];
}

const delay = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** Resolves with the messages a helper node receives, up to the first one that matches `last`. */
function received(node, last = () => true) {
  return new Promise((resolve) => {
    const messages = [];
    node.on('input', (msg) => {
      messages.push(msg);
      if (last(msg, messages)) resolve(messages);
    });
  });
}

for (const backend of backends) {
  describeIf(backend.skip, `nodes in Node-RED (${backend.name})`, function () {
    this.timeout(60000);
    let store;
    beforeEach(() => {
      store = backend.store();
    });
    afterEach(async () => {
      const storeNode = helper.getNode('store');
      if (storeNode) await storeNode.store.query(`drop schema if exists "${store.schema}" cascade`);
      await helper.unload();
    });

    it('shows a red status and names the seed chart\'s bad target at deploy, without a stack trace', async () => {
      await helper.load(nodes, flow(store, seedText));
      const chart = helper.getNode('chart');
      const status = statusCalls(chart).pop();
      assert.equal(status.fill, 'red');
      assert.match(status.text, /definition_invalid/);
      const errors = helper.log().args.filter((a) => a[0].level === helper.log().ERROR && a[0].id === 'chart').map((a) => String(a[0].msg));
      assert.equal(errors.length, 1);
      assert.match(errors[0], /#MarketPlace\.Perform\.Initiate/);
      assert.doesNotMatch(errors[0], /\n\s+at /);

      // Events still get an answer: the reason, on the error output and to Catch nodes.
      const answer = received(helper.getNode('errors'));
      chart.receive({ topic: 'xstate/chart/o-1/event', payload: { type: 'agree' } });
      const [error] = await answer;
      assert.equal(error.payload.code, 'definition_invalid');
      assert.match(error.payload.message, /#MarketPlace\.Perform\.Initiate/);
      assert.equal(error.topic, 'xstate/chart/o-1/error');
    });

    it('hands committed actions to xstate-action flows, which can answer the chart', async () => {
      const extra = [
        // charges (a helper node the test controls) passes the action on to the answer only after
        // the test has read the chart's row: nothing else can move the chart meanwhile.
        { id: 'on-charge', type: 'xstate-action', action: 'charge', chart: 'chart', wires: [['charges']] },
        { id: 'charges', type: 'helper', wires: [['answer']] },
        { id: 'on-any', type: 'xstate-action', action: '*', chart: '', wires: [['all']] },
        { id: 'answer', type: 'change', rules: [{ t: 'set', p: 'payload', pt: 'msg', to: '{"type":"charged"}', tot: 'json' }], wires: [['chart']] },
        { id: 'all', type: 'helper' },
        { id: 'n-catch', type: 'catch', scope: ['chart'], uncaught: false, wires: [['caught']] },
        { id: 'caught', type: 'helper' },
      ];
      await helper.load(nodes, flow(store, order, extra));
      const db = helper.getNode('store').store;
      // The row as it is when the action arrives, read before anything else happens.
      let charge;
      const rowAtHandOver = new Promise((resolve, reject) => {
        helper.getNode('charges').on('input', (msg) => {
          if (charge) return;
          charge = structuredClone(msg); // the answer flow changes msg once it is passed on
          db.query(`select seq, state from "${store.schema}".charts where chart_id = 'o-7'`).then(({ rows }) => {
            resolve(rows[0]);
            helper.getNode('charges').send(msg);
          }, reject);
        });
      });
      const all = received(helper.getNode('all'), (_, list) => list.length === 2);
      const states = received(helper.getNode('states'), (msg) => msg.payload?.status === 'done');
      // On PostgreSQL another connection holds the charts table against writers for a while: a
      // node that handed the action over before its commit landed would do it meanwhile.
      const blocker = store.backend === 'postgres' ? new Client({ connectionString: store.connection }) : undefined;
      if (blocker) {
        await db.query('select 1'); // the store's queries wait for its migrations: the tables exist
        await blocker.connect();
        await blocker.query(`begin; lock table "${store.schema}".charts in exclusive mode`);
      }
      helper.getNode('chart').receive({ chartId: 'o-7', payload: { type: 'submit' } });
      if (blocker) {
        try {
          await delay(300); // time must pass: nothing may arrive while the commit cannot land
          assert.equal(charge, undefined, 'no action before its state is committed');
        } finally {
          await blocker.query('commit');
          await blocker.end();
        }
      }

      // The state that produced the action was committed before the action was handed over.
      const row = await rowAtHandOver;
      assert.ok(row, 'the chart is in the store when its action arrives');
      assert.equal(Number(row.seq), 1);
      assert.equal(row.state.value, 'Charging');
      assert.equal(charge.chartId, 'o-7');
      assert.equal(charge.payload.type, 'charge');
      assert.deepEqual(charge.payload.params, { amount: 5 });
      assert.equal(charge.payload.id, 'o-7:1:0');
      assert.equal(charge.topic, 'xstate/chart/o-7/action/charge');
      assert.deepEqual(charge.xstate, { chartId: 'o-7', machineId: 'Order', machineVersion: 1, seq: 1, id: 'o-7:1:0' });

      const stateMessages = (await states).filter((m) => m.topic.endsWith('/state'));
      assert.deepEqual(stateMessages.map((m) => m.payload.value), ['Charging', 'Done']);
      assert.equal(stateMessages[1].payload.status, 'done');
      assert.deepEqual((await all).map((m) => m.payload.type), ['charge', 'thank']);

      // A rejected event reaches Catch nodes with its code.
      const caught = received(helper.getNode('caught'));
      helper.getNode('chart').receive({ chartId: 'o-7', payload: { type: 'submit' } });
      const [error] = await caught;
      assert.match(error.error.message, /^event_not_accepted: The event "submit" is not accepted/);
      assert.equal(error.payload.type, 'submit');
      const status = await statusMatching(helper.getNode('chart'), /o-7: event_not_accepted/);
      assert.match(status.text, /^1 chart · /);
    });
  });
}
