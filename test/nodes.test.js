'use strict';
// The nodes inside Node-RED, wired to each other: deploy-time validation, action handlers, Catch,
// and the limits and windows a node keeps (events waiting per chart, context size, event ids).
// Runtime: the in-process test helper (node-red-node-test-helper), with Node-RED's own hooks handed to
// our nodes (test/support/node-red.js); the outputs here end in helper nodes, which lead to no `mqtt
// out`, so a message counts as delivered once handed over. The database is read with SQL.
const assert = require('node:assert/strict');
const path = require('node:path');
const { backends, describeIf, dataRoot } = require('./support/env');
const { nodeSuite } = require('./support/harness');
const { helper, ourNodes, statusCalls, statusMatching } = require('./support/node-red');
const { seedText, ticker } = require('./fixtures/machines');

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

/** Adds one piece of text to the context per event (JSON Logic `cat`): a context that grows. */
const hoarder = {
  id: 'Hoarder',
  initial: 'On',
  context: { blob: '' },
  states: { On: { on: { add: { actions: { type: 'assign', params: { blob: { cat: [{ var: 'context.blob' }, { var: 'event.data.s' }] } } } } } } },
};

/**
 * Catches the intervals of `ms` set from now on instead of arming them, so a test can run them
 * at once (`fire()`) rather than wait; other intervals are left alone. `restore()` undoes it.
 */
function catchIntervals(ms, named) {
  const real = global.setInterval;
  const caught = [];
  global.setInterval = function (fn, delayMs, ...args) {
    // Other timers of the same period (the embedded store's vacuum) run as they would.
    if (delayMs !== ms || !String(fn).includes(named)) return real(fn, delayMs, ...args);
    caught.push(() => fn(...args));
    // A real handle, so that clearInterval and unref work; it never fires by itself.
    return real(() => {}, 2 ** 31 - 1);
  };
  return { caught, fire: () => caught.forEach((run) => run()), restore: () => (global.setInterval = real) };
}

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
    const suite = nodeSuite({ backend });
    beforeEach(() => ({ store } = suite));

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
      assert.match(status.text, /^connected · 1 chart · /);
    });

    it('raises the errors no input waits for (a timer\'s, the admin API\'s) to Catch nodes, and clears a deleted chart with its metadata', async () => {
      const fuse = { id: 'Fuse', initial: 'Armed', states: { Armed: { on: { poke: 'Armed' }, after: { 20: { target: 'Blown', actions: 'explode' } } }, Blown: {} } };
      const extra = [
        { id: 'n-catch', type: 'catch', scope: ['chart'], uncaught: false, wires: [['caught']] },
        { id: 'caught', type: 'helper' },
      ];
      const wired = flow(store, fuse, extra);
      wired[1].implementations = "return { actions: { explode: () => { throw new Error('boom') } } }";
      await helper.load(nodes, wired);
      const chart = helper.getNode('chart');
      const caught = received(helper.getNode('caught'), (_, list) => list.length === 2);
      const created = received(helper.getNode('states'), (msg) => msg.topic.endsWith('/state'));
      chart.receive({ chartId: 'f-1', payload: { type: 'poke' } });
      const [state] = (await created).filter((m) => m.topic.endsWith('/state'));
      // The admin API's door (what POST .../events calls): an event the state does not accept.
      const refused = await chart.xstate.dispatch('f-1', { type: 'nope' });
      assert.equal(refused.kind, 'rejected');
      // Meanwhile the timer fires, and the action it runs throws.
      const errors = await caught;
      assert.deepEqual(errors.map((m) => m.payload.code).sort(), ['event_not_accepted', 'implementation_error']);
      for (const error of errors) {
        assert.equal(error.topic, 'xstate/chart/f-1/error');
        assert.match(error.error.message, new RegExp(`^${error.payload.code}: `));
        assert.equal(error.xstate.chartId, 'f-1');
      }

      await chart.xstate.drained();
      const cleared = received(helper.getNode('states'), (msg) => msg.payload === '' && msg.topic.endsWith('/state'));
      assert.equal(await chart.xstate.deleteChart('f-1'), true);
      const bye = (await cleared).at(-1);
      assert.equal(bye.retain, true);
      assert.equal(bye.chartId, 'f-1');
      assert.deepEqual(bye.xstate, { chartId: 'f-1', machineId: 'Fuse', machineVersion: 1, seq: state.payload.metadata.seq });

      // Input refused before it reached a chart: its error names the machine version the node runs.
      const refusedInput = received(helper.getNode('errors'), (msg) => msg.payload.code === 'invalid_event');
      chart.receive({ chartId: 'f-2', payload: '{' });
      const bad = (await refusedInput).at(-1);
      assert.equal(bad.xstate.machineId, 'Fuse');
      assert.equal(bad.xstate.machineVersion, 1);
    });

    it('answers events past 1,000 waiting for one chart with persistence_failed, and applies the rest in order', async () => {
      await helper.load(nodes, flow(store, ticker));
      const chart = helper.getNode('chart');
      const errors = [];
      helper.getNode('errors').on('input', (msg) => errors.push(msg.payload));
      const last = received(helper.getNode('states'), (msg) => msg.topic.endsWith('/state') && msg.payload.metadata.seq === 1000);
      // 1,005 events in one go: the chart's queue takes 1,000 (the one being applied included)
      // before the first commit can finish; the 5 after them are refused at once.
      for (let i = 0; i < 1005; i++) chart.receive({ chartId: 'q', payload: { type: 'tick', id: `q-${i}` } });
      const states = (await last).filter((m) => m.topic.endsWith('/state'));
      assert.deepEqual(states.map((m) => m.payload.metadata.event.id), Array.from({ length: 1000 }, (_, i) => `q-${i}`), 'the first 1,000 applied, in order');
      assert.deepEqual(errors.map((e) => e.code), Array(5).fill('persistence_failed'));
      assert.deepEqual(errors.map((e) => e.event.id), ['q-1000', 'q-1001', 'q-1002', 'q-1003', 'q-1004'], 'the refused events, with their payloads');
      assert.match(errors[0].message, /1000 events of chart "q" are already waiting/);
      const db = helper.getNode('store').store;
      assert.equal(Number((await db.query(`select seq from "${store.schema}".charts where chart_id = 'q'`)).rows[0].seq), 1000);
      // Refused, not lost track of: sent again, they are applied.
      const resent = received(helper.getNode('states'), (msg) => msg.topic.endsWith('/state') && msg.payload.metadata.seq === 1001);
      chart.receive({ chartId: 'q', payload: { type: 'tick', id: 'q-1000' } });
      assert.equal((await resent).at(-1).payload.metadata.event.id, 'q-1000');
    });

    it('refuses a transition that would grow the context past 1 MiB with invalid_event, changing nothing', async () => {
      await helper.load(nodes, flow(store, hoarder));
      const chart = helper.getNode('chart');
      const db = helper.getNode('store').store;
      const piece = 'x'.repeat(240 * 1024); // each event under the 256 KiB event limit
      const add = (id, s = piece) => {
        const answer = Promise.race([received(helper.getNode('states'), (m) => m.topic.endsWith('/state')), received(helper.getNode('errors'))]);
        chart.receive({ chartId: 'big', payload: { type: 'add', id, data: { s } } });
        return answer.then((messages) => messages.at(-1));
      };
      for (let i = 1; i <= 4; i++) assert.equal((await add(`a-${i}`)).payload.metadata.seq, i);
      const row = async () => (await db.query(`select seq, state, snapshot from "${store.schema}".charts where chart_id = 'big'`)).rows[0];
      const before = await row();
      assert.equal(before.state.context.blob.length, 4 * 240 * 1024);
      // The fifth would make 1,200 KiB.
      const refused = await add('a-5');
      assert.equal(refused.payload.code, 'invalid_event');
      assert.match(refused.payload.message, /would grow the context to \d+ bytes; the limit is 1048576/);
      assert.deepEqual(await row(), before, 'nothing changed');
      assert.equal((await add('a-6', 'y')).payload.metadata.seq, 5, 'a smaller step still works');
    });

    it('keeps the event ids of the dedup window set in settings.js, and prunes the rest every minute', async () => {
      helper.settings({ userDir: path.join(dataRoot, 'userDir'), xstate: { dedup: { events: 2, hours: 0 } } });
      // The node prunes once a minute: its interval is caught and run at once instead of waited for.
      const prune = catchIntervals(60000, 'pruneEventIds');
      try {
        await helper.load(nodes, flow(store, ticker));
        const chart = helper.getNode('chart');
        const db = helper.getNode('store').store;
        const tick = (id, seq) => {
          const state = received(helper.getNode('states'), (m) => m.topic.endsWith('/state') && m.payload.metadata.seq === seq);
          chart.receive({ chartId: 'w', payload: { type: 'tick', id } });
          return state;
        };
        for (let i = 1; i <= 5; i++) await tick(`e-${i}`, i);
        const ids = async () => (await db.query(`select event_id from "${store.schema}".event_ids order by seq`)).rows.map((r) => r.event_id);
        assert.deepEqual(await ids(), ['e-1', 'e-2', 'e-3', 'e-4', 'e-5']);
        assert.equal(prune.caught.length, 1, 'the node set its one-minute prune');
        // To know when the prune has run, the store's own prune call (src/store) is awaited.
        const pruned = new Promise((resolve) => {
          const original = db.pruneEventIds;
          db.pruneEventIds = (...args) => {
            db.pruneEventIds = original;
            const result = original.apply(db, args);
            result.then(resolve, resolve);
            return result;
          };
        });
        prune.fire();
        await pruned;
        assert.deepEqual(await ids(), ['e-4', 'e-5'], 'the last 2 ids kept (none is younger than 0 hours)');
        // Inside the window a redelivered id is acknowledged and not applied; outside it, applied.
        const barrier = received(helper.getNode('states'), (m) => m.topic.endsWith('/state') && m.payload.metadata.event.id === 'after');
        chart.receive({ chartId: 'w', payload: { type: 'tick', id: 'e-4' } });
        chart.receive({ chartId: 'w', payload: { type: 'tick', id: 'e-1' } });
        chart.receive({ chartId: 'w', payload: { type: 'tick', id: 'after' } });
        const states = (await barrier).filter((m) => m.topic.endsWith('/state'));
        assert.deepEqual(states.slice(-2).map((m) => [m.payload.metadata.seq, m.payload.metadata.event.id]), [[6, 'e-1'], [7, 'after']]);
      } finally {
        prune.restore();
        helper.settings({ userDir: path.join(dataRoot, 'userDir') });
      }
    });
    it('lets two chart nodes of one machine work the same charts in turn, neither refusing on what it remembers', async () => {
      const steps = { id: 'Relay', initial: 'S1', states: { S1: { on: { e1: 'S2' } }, S2: { on: { e2: 'S3' } }, S3: { on: { e3: 'S4' } }, S4: { on: { e4: 'S5' } }, S5: {} } };
      const definition = JSON.stringify(steps);
      await helper.load(nodes, [
        { id: 'store', type: 'xstate-store', ...store },
        { id: 'left', type: 'xstate-chart', store: 'store', source: 'inline', definition, topicPrefix: 'xstate/chart', wires: [[], [], ['errors']] },
        { id: 'right', type: 'xstate-chart', store: 'store', source: 'inline', definition, topicPrefix: 'xstate/chart', wires: [[], [], ['errors']] },
        { id: 'errors', type: 'helper' },
      ]);
      const errors = [];
      helper.getNode('errors').on('input', (msg) => errors.push(msg.payload));
      const [left, right] = [helper.getNode('left'), helper.getNode('right')];
      for (let i = 1; i <= 4; i++) {
        // Both nodes remember the chart after their first event; each then sees it moved by the other.
        const outcome = await (i % 2 ? left : right).xstate.dispatch('shared', { type: `e${i}` });
        assert.equal(outcome.kind, 'applied', `e${i}: ${outcome.error?.message ?? ''}`);
        assert.equal(outcome.state.metadata.seq, i);
      }
      assert.deepEqual(errors, []);
      const { rows } = await helper.getNode('store').store.query(`select seq, state->>'value' as value from "${store.schema}".charts where chart_id = 'shared'`);
      assert.deepEqual([Number(rows[0].seq), rows[0].value], [4, 'S5']);
    });
  });
}
