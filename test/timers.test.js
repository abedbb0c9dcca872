'use strict';
// Durable timers through the runtime and a real store (no Node-RED): scheduling, firing once,
// cancelling, replacing, stale timers, ISO 8601 and named delays.
// No Node-RED: the internal classes ChartRuntime and TimerScheduler are used directly (issue 9's
// rewrite may change them; timers-node.test.js and timers-process.test.js test through the node).
const assert = require('node:assert/strict');
const { ChartStore, ChartRuntime, TimerScheduler, MachineVersions, compileMachine, isoDurationMs, ChartError } = require('../dist/index.js');
const { backends, describeIf } = require('./support/env');

const deadline = (after = { 300: 'Expired' }) => ({
  id: 'Deadline',
  initial: 'Idle',
  states: {
    Idle: { on: { start: 'Waiting' } },
    Waiting: { after, on: { pay: 'Paid', poke: { target: 'Waiting', reenter: true } } },
    Expired: { entry: 'expired' },
    Paid: {},
  },
});

for (const backend of backends) {
  describeIf(backend.skip, `timers (${backend.name})`, function () {
    this.timeout(30000);
    let config;
    let store;
    let runtime;
    let scheduler;
    let fired;

    async function setUp(definition, implementations) {
      const machine = compileMachine(definition, { implementations });
      const version = await store.registerMachine(machine.id, machine.definition, machine.digest);
      fired = [];
      const waiters = [];
      runtime = new ChartRuntime({ store, machines: new MachineVersions({ machine, version }, () => Promise.reject(new Error('one version')), compileMachine), topicPrefix: 'x', create: true, strict: true, onTimersScheduled: (ms) => scheduler.notify(ms) });
      scheduler = new TimerScheduler({
        store,
        machineId: machine.id,
        fire: async (timer) => {
          const outcome = await runtime.fireTimer(timer);
          fired.push({ timer, outcome });
          for (const w of waiters.splice(0)) w();
        },
      });
      scheduler.start();
      /** Resolves once `count` timers have been handled (fired or dropped). */
      runtime.timersHandled = (count) =>
        new Promise((resolve) => {
          const check = () => (fired.length >= count ? resolve(fired) : waiters.push(check));
          check();
        });
    }

    async function timerRows(chartId) {
      const { rows } = await store.query(`select timer_id, scheduled_seq from "${config.schema}".timers where chart_id = $1`, [chartId]);
      return rows;
    }

    beforeEach(() => {
      config = backend.store();
      store = new ChartStore(config);
    });
    afterEach(async () => {
      await scheduler?.stop();
      await store.query(`drop schema if exists "${config.schema}" cascade`);
      await store.close();
    });

    it('commits a timer row with the transition and fires it once, when due', async () => {
      await setUp(deadline());
      const started = await runtime.dispatch('c1', { type: 'start' });
      assert.equal(started.kind, 'applied');
      const rows = await timerRows('c1');
      assert.deepEqual(rows.map((r) => [r.timer_id, Number(r.scheduled_seq)]), [['xstate.after.300.Deadline.Waiting', 1]]);
      const [{ outcome }] = await runtime.timersHandled(1);
      assert.equal(outcome.kind, 'applied');
      assert.equal(outcome.state.value, 'Expired');
      assert.equal(outcome.state.metadata.seq, 2);
      assert.equal(outcome.state.metadata.event.type, 'xstate.after.300.Deadline.Waiting');
      assert.deepEqual(outcome.messages.filter((m) => m.output === 1).map((m) => m.payload.type), ['expired']);
      assert.deepEqual(await timerRows('c1'), []);
      const { rows: chart } = await store.query(`select seq from "${config.schema}".charts where chart_id = 'c1'`);
      assert.equal(Number(chart[0].seq), 2);
    });

    it('cancels the timer when the state is left first: no row, no transition', async () => {
      await setUp(deadline({ 400: 'Expired' }));
      await runtime.dispatch('c2', { type: 'start' });
      const paid = await runtime.dispatch('c2', { type: 'pay' });
      assert.equal(paid.state.value, 'Paid');
      assert.deepEqual(await timerRows('c2'), []);
      // A second chart's timer, due later, proves the scheduler ran past c2's deadline.
      await runtime.dispatch('c3', { type: 'start' });
      const handled = await runtime.timersHandled(1);
      assert.deepEqual(handled.map((h) => h.timer.chartId), ['c3']);
      const { rows } = await store.query(`select chart_id, seq from "${config.schema}".charts order by chart_id`);
      assert.deepEqual(rows.map((r) => [r.chart_id, Number(r.seq)]), [['c2', 2], ['c3', 2]]);
    });

    it('replaces the timer when its state is re-entered, never duplicates it', async () => {
      await setUp(deadline({ 500: 'Expired' }));
      await runtime.dispatch('c4', { type: 'start' });
      const poked = await runtime.dispatch('c4', { type: 'poke' });
      assert.equal(poked.state.metadata.seq, 2);
      const rows = await timerRows('c4');
      assert.deepEqual(rows.map((r) => [r.timer_id, Number(r.scheduled_seq)]), [['xstate.after.500.Deadline.Waiting', 2]]);
      const [{ outcome }] = await runtime.timersHandled(1);
      assert.equal(outcome.state.value, 'Expired');
      assert.equal(outcome.state.metadata.seq, 3);
    });

    it('does nothing with a timer whose state was left while it was in flight', async () => {
      await setUp(deadline({ 100: 'Expired' }));
      await scheduler.stop();
      await runtime.dispatch('c5', { type: 'start' });
      const [row] = await timerRows('c5');
      // The timer is due and claimed (in flight) when the chart leaves the state.
      await new Promise((resolve) => setTimeout(resolve, 150)); // time must pass: it falls due after 100 ms
      const [claimed] = await store.claimDueTimers('Deadline', 'test', 30000, 10);
      assert.equal(claimed.timerId, row.timer_id);
      await runtime.dispatch('c5', { type: 'pay' });
      const outcome = await runtime.fireTimer(claimed);
      assert.equal(outcome.kind, 'ignored');
      const { rows } = await store.query(`select seq, state from "${config.schema}".charts where chart_id = 'c5'`);
      assert.equal(Number(rows[0].seq), 2);
      assert.equal(rows[0].state.value, 'Paid');
    });

    it('takes ISO 8601 durations and named delays from the implementations', async () => {
      assert.equal(isoDurationMs('PT5M'), 300000);
      assert.equal(isoDurationMs('P1DT0.5S'), 86400500);
      assert.equal(isoDurationMs('P1M'), undefined, 'months have no fixed length');
      await setUp(deadline({ 'PT0.2S': 'Expired' }));
      await runtime.dispatch('iso', { type: 'start' });
      assert.equal((await runtime.timersHandled(1))[0].outcome.state.value, 'Expired');
      await scheduler.stop();

      await setUp({ ...deadline({ grace: 'Expired' }), id: 'Named' }, { delays: { grace: 200 } });
      await runtime.dispatch('named', { type: 'start' });
      const [{ timer, outcome }] = await runtime.timersHandled(1);
      assert.equal(timer.timerId, 'xstate.after.grace.Named.Waiting');
      assert.equal(outcome.state.value, 'Expired');

      assert.throws(
        () => compileMachine(deadline({ grace: 'Expired' })),
        (err) => err instanceof ChartError && err.code === 'definition_invalid' && /the delay "grace"/.test(err.message),
      );
    });
  });
}
