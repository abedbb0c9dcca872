'use strict';
// Versions deployed without fear (SPEC §6, issue 12), through the xstate-chart node in Node-RED
// (in-process, its outputs on helper nodes): the impact of a new version before deploy, state maps
// that move running charts (timers included), and pinning.
const assert = require('node:assert/strict');
const { backends, describeIf } = require('./support/env');
const { storePerTest } = require('./support/store');
const { helper, ourNodes } = require('./support/node-red');

/** v1: five states; C has a timer; every state takes `touch` (so any chart can be sent an event). */
const v1 = {
  id: 'Flow',
  initial: 'A',
  on: { touch: {} },
  states: {
    A: { on: { go: 'B' } },
    B: { on: { go: 'C' } },
    C: { after: { 10000: 'E' }, on: { go: 'D' } },
    D: { on: { go: 'E' } },
    E: {},
  },
};
/** v2: C renamed Waiting (same timer), D removed; a new context key. */
const v2 = {
  id: 'Flow',
  initial: 'A',
  context: { region: 'eu' },
  on: { touch: {} },
  states: {
    A: { on: { go: 'B' } },
    B: { on: { go: 'Waiting' } },
    Waiting: { after: { 10000: 'E' } },
    E: {},
  },
};
const map = { states: { C: 'Waiting' }, context: { region: 'eu' } };

function flow(store, props) {
  return [
    { id: 'store', type: 'xstate-store', ...store },
    { id: 'chart', type: 'xstate-chart', store: 'store', topicPrefix: 'v', create: true, strict: true, wires: [['states'], [], ['errors']], ...props },
    { id: 'states', type: 'helper' },
    { id: 'errors', type: 'helper' },
  ];
}

/** Records what a helper node receives; `until` resolves when a predicate over the list holds. */
function recorder(node) {
  const r = { messages: [], waiters: [] };
  node.on('input', (msg) => {
    r.messages.push(msg);
    for (const w of r.waiters.splice(0)) w();
  });
  r.until = (predicate, what = 'messages') =>
    new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), 20000);
      const check = () => (predicate(r.messages) ? (clearTimeout(timer), resolve(r.messages)) : r.waiters.push(check));
      check();
    });
  return r;
}

for (const backend of backends) {
  describeIf(backend.skip, `versions (${backend.name})`, function () {
    this.timeout(120000);
    const test = storePerTest(backend, { cleanUp: () => helper.unload() });

    async function deploy(props) {
      await helper.load(ourNodes, flow(test.config, props));
      const chart = helper.getNode('chart');
      return { chart, states: recorder(helper.getNode('states')), errors: recorder(helper.getNode('errors')) };
    }
    /** Sends events to a chart through the node's own door (as the admin API does) and waits for each. */
    const send = (chart, chartId, type) => chart.xstate.dispatch(chartId, { type });
    const rows = async () => (await test.store.query(`select chart_id, machine_version, seq, state from "${test.config.schema}".charts order by chart_id`)).rows;

    it('reports the impact of a new version exactly, then moves charts as reported: mapped, moved, stayed; mapped timers keep their due time', async () => {
      let { chart } = await deploy({ definition: JSON.stringify(v1) });
      // 100 charts, 20 in each of A..E; those in C last, so their 10 s timers are still pending later.
      const inState = { A: 0, B: 1, D: 3, E: 4, C: 2 };
      for (const [state, steps] of Object.entries(inState)) {
        for (let i = 0; i < 20; i++) {
          const id = `${state}-${i}`;
          assert.equal((await send(chart, id, 'touch')).kind, 'applied');
          for (let s = 0; s < steps; s++) assert.equal((await send(chart, id, 'go')).kind, 'applied', `${id} go ${s}`);
        }
      }
      const dueBefore = new Map((await test.store.query(`select chart_id, due_at from "${test.config.schema}".timers`)).rows.map((r) => [r.chart_id, new Date(r.due_at).getTime()]));
      assert.equal(dueBefore.size, 20, 'the charts in C have a timer each');

      // The impact of v2 with its map, asked of the running node before deploying it.
      const { body } = await helper.request().post(`/xstate-chart/${chart.id}/impact`).send({ definition: v2, migrate: map }).expect(200);
      assert.deepEqual(body.problems, []);
      const impact = body.impact;
      assert.deepEqual(impact.candidate, { version: 2, changed: true });
      const byState = Object.fromEntries(impact.groups.map((g) => [g.value, g]));
      assert.deepEqual(Object.keys(byState).sort(), ['A', 'B', 'C', 'D', 'E']);
      for (const state of ['A', 'B', 'E']) assert.deepEqual([byState[state].outcome, byState[state].charts], ['move', 20], state);
      assert.deepEqual([byState.C.outcome, byState.C.to, byState.C.charts, byState.C.timers, byState.C.timersDropped], ['map', 'Waiting', 20, 20, 0]);
      assert.deepEqual([byState.D.outcome, byState.D.charts], ['stay', 20]);
      assert.match(byState.D.reason, /"D" does not exist/);
      assert.deepEqual(impact.totals, { charts: 100, move: 60, map: 20, stay: 20, pinned: 0, current: 0, timersDropped: 0 });
      // Without the map, C would stay too.
      const unmapped = (await helper.request().post(`/xstate-chart/${chart.id}/impact`).send({ definition: v2 }).expect(200)).body.impact;
      assert.deepEqual([unmapped.totals.map, unmapped.totals.stay], [0, 40]);
      // Another machine id is another machine: every chart would stay with this one.
      const renamed = (await helper.request().post(`/xstate-chart/${chart.id}/impact`).send({ definition: { ...v2, id: 'Flow2' } }).expect(200)).body.impact;
      assert.deepEqual([renamed.totals.stay, renamed.totals.charts, renamed.candidate.version], [100, 100, 1]);
      assert.match(renamed.groups[0].reason, /machine id changes from "Flow" to "Flow2"/);
      // A map naming states that exist nowhere is refused, each entry with its path.
      const wrong = (await helper.request().post(`/xstate-chart/${chart.id}/impact`).send({ definition: v2, migrate: { states: { Cx: 'Waiting', C: 'Nowhere' } } }).expect(200)).body;
      assert.deepEqual(wrong.problems.map((p) => p.path).sort(), ['migrate.states["C"]', 'migrate.states["Cx"]']);

      // Deploy v2 with the map.
      await helper.unload();
      let errors;
      let states;
      ({ chart, errors, states } = await deploy({ definition: JSON.stringify(v2), migrate: JSON.stringify(map) }));
      for (const id of (await rows()).map((r) => r.chart_id)) await send(chart, id, 'touch');
      // D stays, told once: a second event brings no second notice.
      for (let i = 0; i < 20; i++) await send(chart, `D-${i}`, 'touch');
      await chart.xstate.drained();
      const after = new Map((await rows()).map((r) => [r.chart_id, r]));
      for (const [id, row] of after) {
        const state = id[0];
        if (state === 'D') {
          assert.deepEqual([row.machine_version, row.state.value, Number(row.seq)], [1, 'D', 6], id);
        } else if (state === 'C') {
          // seq: touch, go, go (3), the move (4), touch (5)
          assert.deepEqual([row.machine_version, row.state.value, Number(row.seq), row.state.context], [2, 'Waiting', 5, { region: 'eu' }], id);
        } else {
          assert.deepEqual([row.machine_version, row.state.value], [2, state], id);
          assert.deepEqual(row.state.context, { region: 'eu' }, `${id}: the new key's default`);
        }
      }
      const incompatible = errors.messages.filter((m) => m.payload.code === 'definition_incompatible');
      assert.equal(incompatible.length, 20, 'one notice per chart left behind');
      assert.deepEqual(new Set(incompatible.map((m) => m.payload.chartId)).size, 20);
      // The move is in each mapped chart's log, as the event xstate.migrate.
      const moves = (await test.store.query(`select chart_id, seq, event, from_value, to_value from "${test.config.schema}".transitions where event->>'type' = 'xstate.migrate'`)).rows;
      assert.equal(moves.length, 20);
      assert.deepEqual([moves[0].from_value, moves[0].to_value, Number(moves[0].seq)], ['C', 'Waiting', 4]);
      // Their timers follow them to Waiting with the due time they had.
      const timers = (await test.store.query(`select chart_id, timer_id, due_at from "${test.config.schema}".timers`)).rows;
      assert.equal(timers.length, 20);
      for (const timer of timers) {
        assert.equal(timer.timer_id, 'xstate.after.10000.Flow.Waiting');
        assert.ok(Math.abs(new Date(timer.due_at).getTime() - dueBefore.get(timer.chart_id)) < 1000, `${timer.chart_id}: due when it was`);
      }
      // ...and fire: each mapped chart reaches E through its timer.
      await states.until((list) => new Set(list.filter((m) => m.payload?.value === 'E' && /^C-/.test(m.payload.chartId)).map((m) => m.payload.chartId)).size === 20, 'the mapped timers to fire');
      const fired = states.messages.find((m) => m.payload?.value === 'E' && /^C-/.test(m.payload.chartId));
      assert.equal(fired.payload.metadata.event.type, 'xstate.after.10000.Flow.Waiting');
    });

    it('moves charts that get no events now, through the map, in groups', async () => {
      let { chart } = await deploy({ definition: JSON.stringify(v1) });
      for (let i = 0; i < 30; i++) {
        await send(chart, `q-${i}`, 'go');
        await send(chart, `q-${i}`, 'go'); // C
      }
      await helper.unload();
      ({ chart } = await deploy({ definition: JSON.stringify(v2), migrate: JSON.stringify(map) }));
      const { body } = await helper.request().post(`/xstate-chart/${chart.id}/migrate`).send({}).expect(200);
      assert.deepEqual(body, { moved: 0, mapped: 30, stayed: 0, remaining: false });
      assert.ok((await rows()).every((r) => r.machine_version === 2 && r.state.value === 'Waiting'));
    });

    it('pins charts to the version they started on: v1 charts stay on v1 through v2 and v3, new charts start on v3, each works', async () => {
      const versions = [
        { id: 'Pin', initial: 'One', states: { One: { on: { next: 'Two' } }, Two: { on: { next: 'One' } } } },
        { id: 'Pin', initial: 'One', states: { One: { on: { next: 'Three' } }, Three: { on: { next: 'One' } } } },
        { id: 'Pin', initial: 'Uno', states: { Uno: { on: { next: 'Dos' } }, Dos: { on: { next: 'Uno' } } } },
      ];
      const started = {};
      for (const [index, definition] of versions.entries()) {
        await helper.unload();
        const { chart } = await deploy({ definition: JSON.stringify(definition), versioning: 'pin' });
        started[index + 1] = `p-${index + 1}`;
        assert.equal((await send(chart, started[index + 1], 'next')).state.machine.version, index + 1, 'a new chart starts on the newest');
        // Every chart started so far goes on with the version it started on.
        for (const [version, id] of Object.entries(started)) {
          const outcome = await send(chart, id, 'next');
          assert.equal(outcome.kind, 'applied', `${id} on v${version}`);
          assert.equal(outcome.state.machine.version, Number(version), `${id} stays on v${version}`);
        }
      }
      const values = Object.fromEntries((await rows()).map((r) => [r.chart_id, [r.machine_version, r.state.value]]));
      // p-1 on v1: One→Two→One→Two→One; p-2 on v2: One→Three→One→Three; p-3 on v3: Uno→Dos→Uno.
      assert.deepEqual(values['p-1'], [1, 'One']);
      assert.deepEqual(values['p-2'], [2, 'Three']);
      assert.deepEqual(values['p-3'], [3, 'Uno']);
      const v4 = { ...versions[2], states: { ...versions[2].states, Tres: {} } };
      const impact = (await helper.request().post(`/xstate-chart/${helper.getNode('chart').id}/impact`).send({ definition: v4 }).expect(200)).body.impact;
      assert.equal(impact.candidate.version, 4);
      assert.ok(impact.groups.filter((g) => g.version < 3).every((g) => g.outcome === 'pinned'), 'the impact of a pinned node says so');
      // The edit dialog asks with the versioning it would deploy: switched to move, the v1 and v2 charts
      // are no longer pinned but stay (One and Three are gone in v4).
      const moving = (await helper.request().post(`/xstate-chart/${helper.getNode('chart').id}/impact`).send({ definition: v4, versioning: 'move' }).expect(200)).body.impact;
      const outcomes = Object.fromEntries(moving.groups.filter((g) => g.version < 3).map((g) => [`v${g.version} ${g.value}`, g.outcome]));
      assert.deepEqual(outcomes, { 'v1 One': 'stay', 'v2 Three': 'stay' });
      await helper.request().post(`/xstate-chart/${helper.getNode('chart').id}/impact`).send({ definition: v4, versioning: 'sometimes' }).expect(400);
    });
  });
}
