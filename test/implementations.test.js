'use strict';
// Custom guards, actions and delays (JSON Logic and JavaScript), machines in the store with hot
// reload and versions per chart, through the xstate-chart node in Node-RED.
// Runtime: the in-process test helper (node-red-node-test-helper). Its node API lacks RED.hooks;
// test/support/node-red.js hands our nodes Node-RED's own hooks module, which its flow engine runs,
// so a chart's message counts as delivered when every `mqtt out` on its way completed it (the
// broker's acknowledgement), as in a real Node-RED.
const assert = require('node:assert/strict');
const path = require('node:path');
const { execFileSync } = require('node:child_process');
const { backends, describeIf } = require('./support/env');
const { nodeSuite } = require('./support/harness');
const { helper, ourNodes, statusMatching } = require('./support/node-red');

const completeNode = require('@node-red/nodes/core/common/24-complete.js');

/** An order: JSON Logic guards and assign actions, an ISO 8601 delay. */
const declarativeOrder = {
  id: 'Order',
  initial: 'Open',
  context: { total: 0, items: 0 },
  states: {
    Open: {
      on: {
        add: {
          guard: { type: 'expr', params: { '>': [{ var: 'event.data.price' }, 0] } },
          actions: { type: 'assign', params: { total: { '+': [{ var: 'context.total' }, { var: 'event.data.price' }] }, items: { '+': [{ var: 'context.items' }, 1] } } },
        },
        checkout: [{ guard: { type: 'expr', params: { '>=': [{ var: 'context.total' }, 100] } }, target: 'Paying' }, { target: 'TooSmall' }],
      },
    },
    Paying: { after: { PT1S: 'Expired' }, on: { paid: 'Done' } },
    TooSmall: {},
    Expired: { entry: 'expired' },
    Done: { type: 'final' },
  },
};

/** The same order with JavaScript implementations and a named delay. */
const javascriptOrder = {
  ...declarativeOrder,
  states: {
    Open: { on: { add: { guard: 'positive', actions: 'addItem' }, checkout: [{ guard: 'bigEnough', target: 'Paying' }, { target: 'TooSmall' }] } },
    Paying: { after: { grace: 'Expired' }, on: { paid: 'Done' } },
    TooSmall: {},
    Expired: { entry: 'expired' },
    Done: { type: 'final' },
  },
};
const javascript = `
return {
  guards: {
    positive: ({ event }) => event.data.price > 0,
    bigEnough: ({ context }) => context.total >= 100,
  },
  actions: {
    addItem: assign({ total: ({ context, event }) => context.total + event.data.price, items: ({ context }) => context.items + 1 }),
    explode: () => { throw new Error('card reader on fire'); },
    spin: () => { for (;;) {} },
  },
  delays: { grace: () => Number(env.get('GRACE_MS')) },
};`;

/** A stored machine in two versions: the second has no Locked state. */
const doorV1 = {
  id: 'Door',
  initial: 'Closed',
  states: { Closed: { on: { open: 'Opened', lock: 'Locked' } }, Opened: { on: { close: 'Closed' } }, Locked: { on: { unlock: 'Closed', rattle: 'Locked' } } },
};
const doorV2 = { id: 'Door', initial: 'Closed', states: { Closed: { on: { open: 'Opened', knock: { actions: 'knocked' } } }, Opened: { on: { close: 'Closed' } } } };

function chartNode(store, extra) {
  return [
    { id: 'store', type: 'xstate-store', ...store },
    { id: 'chart', type: 'xstate-chart', store: 'store', topicPrefix: 'xstate/chart', create: true, strict: true, wires: [['states'], ['actions'], ['errors']], ...extra },
    { id: 'states', type: 'helper' },
    { id: 'actions', type: 'helper' },
    { id: 'errors', type: 'helper' },
  ];
}

/** The next message a helper node receives that matches. */
function next(nodeId, predicate = () => true) {
  return new Promise((resolve) => {
    const node = helper.getNode(nodeId);
    let matched = false;
    const listener = (msg) => {
      if (matched || !predicate(msg)) return;
      matched = true;
      // Node-RED walks its input listeners by index: removing one while it runs skips another.
      setImmediate(() => node.removeListener('input', listener));
      resolve(msg);
    };
    node.on('input', listener);
  });
}

/**
 * Sends an event to the chart node and resolves with its state or error message (a
 * `definition_incompatible` notice is not the answer: it comes with the state of an applied event).
 */
async function send(chartId, event) {
  const state = next('states', (m) => m.chartId === chartId && m.topic.endsWith('/state'));
  const error = next('errors', (m) => m.chartId === chartId && m.payload.code !== 'definition_incompatible');
  helper.getNode('chart').receive({ chartId, payload: event });
  return Promise.race([state, error]);
}

async function row(chartId) {
  const store = helper.getNode('store').store;
  const { rows } = await store.query(`select seq, machine_version, state from "${store.schema}".charts where chart_id = $1`, [chartId]);
  return rows[0] && { seq: Number(rows[0].seq), version: Number(rows[0].machine_version), state: rows[0].state };
}

for (const backend of backends) {
  describeIf(backend.skip, `implementations and stored machines (${backend.name})`, function () {
    this.timeout(60000);
    let store;
    const suite = nodeSuite({ backend });
    beforeEach(() => {
      ({ store } = suite);
      process.env.GRACE_MS = '1000';
    });

    const variants = [
      { name: 'JSON Logic guards and assign, an ISO 8601 delay', props: { definition: JSON.stringify(declarativeOrder) } },
      { name: 'JavaScript guards, actions and a named delay', props: { definition: JSON.stringify(javascriptOrder), implementations: javascript } },
    ];
    for (const variant of variants) {
      it(`runs an order with ${variant.name}`, async () => {
        await helper.load(ourNodes, chartNode(store, variant.props));
        assert.deepEqual((await send('o-1', { type: 'add', data: { price: 60 } })).payload.context, { total: 60, items: 1 });
        const refused = await send('o-1', { type: 'add', data: { price: -5 } });
        assert.equal(refused.payload.code, 'event_not_accepted', 'the guard refused a negative price');
        assert.deepEqual((await send('o-1', { type: 'add', data: { price: 50 } })).payload.context, { total: 110, items: 2 });
        const expired = next('states', (m) => m.topic.endsWith('/state') && m.payload.value === 'Expired');
        const counted = statusMatching(helper.getNode('chart'), /1 chart, 1 timer/);
        assert.equal((await send('o-1', { type: 'checkout' })).payload.value, 'Paying');
        await counted;
        assert.equal((await expired).payload.metadata.seq, 4);
        assert.equal((await send('o-2', { type: 'checkout' })).payload.value, 'TooSmall');
        assert.deepEqual((await row('o-1')).state.context, { total: 110, items: 2 });
      });
    }

    it('turns a throwing or endless JavaScript action into implementation_error, changing nothing', async () => {
      const machine = { id: 'Risky', initial: 'Idle', context: { n: 0 }, states: { Idle: { on: { ok: { actions: 'addItem' }, boom: { target: 'Gone', actions: 'explode' }, loop: { target: 'Gone', actions: 'spin' } } }, Gone: {} } };
      const code = javascript.replace("addItem: assign({ total: ({ context, event }) => context.total + event.data.price, items: ({ context }) => context.items + 1 })", 'addItem: assign({ n: ({ context }) => context.n + 1 })');
      await helper.load(ourNodes, chartNode(store, { definition: JSON.stringify(machine), implementations: code }));
      await send('r-1', { type: 'ok' });
      const before = await row('r-1');
      for (const type of ['boom', 'loop']) {
        const error = await send('r-1', { type });
        assert.equal(error.payload.code, 'implementation_error', type);
        assert.match(error.payload.message, type === 'boom' ? /card reader on fire/ : /longer than 1000 ms/);
        assert.deepEqual(await row('r-1'), before, `${type} changed nothing`);
      }
      assert.deepEqual((await send('r-1', { type: 'ok' })).payload.context, { n: 2 }, 'the node keeps working');
    });

    it('reports malformed JSON Logic and broken JavaScript at deploy, naming the culprit', async () => {
      const bad = { id: 'Bad', initial: 'a', states: { a: { on: { go: { guard: { type: 'expr', params: { '>>': [1, 2] } }, target: 'a' } } } } };
      await helper.load(ourNodes, chartNode(store, { definition: JSON.stringify(bad) }));
      assert.match((await statusMatching(helper.getNode('chart'), /definition_invalid/)).text, /unknown JSON Logic operator ">>"/);
      await helper.unload();
      await helper.load(ourNodes, chartNode(store, { definition: JSON.stringify(declarativeOrder), implementations: 'return { guards: { expr: () => true } }' }));
      assert.match((await statusMatching(helper.getNode('chart'), /definition_invalid/)).text, /guards\.expr would replace the built-in/);
    });

    it('moves running charts to a new stored version without a redeploy; a chart whose state is gone stays', async () => {
      const [v1, v2] = [doorV1, doorV2];
      await helper.load(ourNodes, chartNode(store, { source: 'store', machineId: 'Door' }));
      const chart = helper.getNode('chart');
      const noMachine = await send('d-0', { type: 'open' });
      assert.equal(noMachine.payload.code, 'definition_invalid');
      assert.match(noMachine.payload.message, /no machine "Door" in the store/);

      // Version 1 arrives as msg.machine, from a flow.
      chart.receive({ machine: v1 });
      await statusMatching(chart, /v1 stored/);
      const doors = Array.from({ length: 10 }, (_, i) => `d-${i}`);
      for (const door of doors.slice(0, 9)) assert.equal((await send(door, { type: 'open' })).payload.value, 'Opened');
      assert.equal((await send('d-9', { type: 'lock' })).payload.value, 'Locked');
      assert.equal((await row('d-0')).version, 1);

      // Version 2 is written by another process (on the embedded backend, which one process owns, by a flow).
      if (store.backend === 'postgres') {
        const script = `const { ChartStore, digestOf } = require(${JSON.stringify(path.resolve(__dirname, '..', 'dist', 'index.js'))});
          const store = new ChartStore(${JSON.stringify(store)});
          const v2 = ${JSON.stringify(v2)};
          store.registerMachine('Door', v2, digestOf(v2)).then((v) => { console.log(v); return store.close(); });`;
        assert.equal(execFileSync(process.execPath, ['-e', script], { encoding: 'utf8' }).trim(), '2');
      } else {
        chart.receive({ machine: v2 });
      }
      await statusMatching(chart, /v2 loaded/);

      for (const door of doors.slice(0, 9)) {
        const closed = await send(door, { type: 'close' });
        assert.equal(closed.payload.value, 'Closed');
        assert.deepEqual(closed.payload.machine, { id: 'Door', version: 2 }, door);
        assert.equal((await row(door)).version, 2);
      }
      const knocked = next('actions', (m) => m.chartId === 'd-0');
      await send('d-0', { type: 'knock' });
      assert.equal((await knocked).payload.type, 'knocked', 'the new version runs');

      // d-9 is Locked, which version 2 does not have: it stays on version 1 and is told so, once,
      // however many events it gets there.
      const errors = [];
      helper.getNode('errors').on('input', (msg) => msg.chartId === 'd-9' && errors.push(msg.payload));
      for (const type of ['rattle', 'rattle']) {
        const rattled = await send('d-9', { type });
        assert.equal(rattled.payload.value, 'Locked');
        assert.deepEqual(rattled.payload.machine, { id: 'Door', version: 1 });
      }
      const unlocked = await send('d-9', { type: 'unlock' });
      assert.equal(unlocked.payload.value, 'Closed');
      assert.deepEqual(unlocked.payload.machine, { id: 'Door', version: 1 });
      // Now Closed, which version 2 has: the next event moves it, with no error.
      const moved = await send('d-9', { type: 'open' });
      assert.deepEqual(moved.payload.machine, { id: 'Door', version: 2 });
      assert.equal((await row('d-9')).version, 2);
      assert.deepEqual(errors.map((e) => e.code), ['definition_incompatible'], 'reported once, for three events on version 1');
      assert.match(errors[0].message, /Locked/);
    });

    it('refuses msg.machine with another machine id than the node\'s, storing nothing', async () => {
      // A complete node sees a msg.machine the chart node accepted (done() without an error).
      const completed = [{ id: 'completed', type: 'complete', scope: ['chart'], wires: [['accepted']] }, { id: 'accepted', type: 'helper' }];
      /** The chart node's answer to msg.machine: its error message, or the message it accepted. */
      const answer = (machine) => {
        const outcome = Promise.race([next('errors', (m) => !m.chartId), next('accepted', (m) => m.machine !== undefined).then((msg) => ({ accepted: msg }))]);
        helper.getNode('chart').receive({ machine });
        return outcome;
      };
      await helper.load([...ourNodes, completeNode], [...chartNode(store, { source: 'store', machineId: 'Door' }), ...completed]);
      const chart = helper.getNode('chart');
      assert.ok((await answer(doorV1)).accepted);
      await statusMatching(chart, /v1 stored/);
      const error = await answer({ ...doorV2, id: 'Window' });
      assert.equal(error.payload?.code, 'definition_invalid');
      assert.match(error.payload.message, /runs machine "Door"; the definition sent has the id "Window"/);
      // An inline node takes no msg.machine at all.
      await helper.unload();
      await helper.load([...ourNodes, completeNode], [...chartNode(store, { definition: JSON.stringify({ ...doorV1, id: 'Gate' }) }), ...completed]);
      assert.equal((await send('g-1', { type: 'open' })).payload.value, 'Opened', 'running: its deployed version is stored');
      assert.equal((await answer({ ...doorV1, id: 'Gate', initial: 'Opened' })).payload?.code, 'definition_invalid');
      const { rows } = await helper.getNode('store').store.query(`select machine_id, version from "${store.schema}".machines order by machine_id, version`);
      assert.deepEqual(rows.map((r) => [r.machine_id, Number(r.version)]), [['Door', 1], ['Gate', 1]], 'neither definition was stored');
    });

    // A chart is marked as told only when its notice went out with a committed transition: a notice
    // that came with a refused event is given again by the next event.
    it('tells a chart that cannot move to the new version, also when the first event after it is refused', async () => {
      await helper.load(ourNodes, chartNode(store, { source: 'store', machineId: 'Door' }));
      const chart = helper.getNode('chart');
      chart.receive({ machine: doorV1 });
      await statusMatching(chart, /v1 stored/);
      assert.equal((await send('d-1', { type: 'lock' })).payload.value, 'Locked');
      chart.receive({ machine: doorV2 });
      await statusMatching(chart, /v2 loaded/);
      const told = next('errors', (m) => m.chartId === 'd-1' && m.payload.code === 'definition_incompatible');
      assert.equal((await send('d-1', { type: 'open' })).payload.code, 'event_not_accepted');
      assert.equal((await send('d-1', { type: 'rattle' })).payload.value, 'Locked');
      // The notice comes with the refusal or with the state of the next event, a moment after it.
      const timeout = new Promise((_, reject) => setTimeout(() => reject(new Error('no definition_incompatible for d-1')), 2000).unref());
      assert.match((await Promise.race([told, timeout])).payload.message, /Locked/);
    });
  });
}
