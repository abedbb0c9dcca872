'use strict';
// Memory bounds of a process: the charts kept in memory stay within their byte budget however many
// are touched, and events waiting for a store that is away are capped across all charts.
const assert = require('node:assert/strict');
const { ChartStore, ChartRuntime, ChartCache, WaitingEvents, MachineVersions, compileMachine } = require('../dist/index.js');
const { storePerTest } = require('./support/store');
const { backends, postgres, describeIf, freePort } = require('./support/env');

/** Each `fill` event puts its data (100 KiB here) into the context. */
const filler = { id: 'Filler', initial: 'Open', context: { blob: '' }, states: { Open: { on: { fill: { actions: { type: 'assign', params: { blob: { var: 'event.data' } } } } } } } };

async function runtimeOn(store, options) {
  const machine = compileMachine(filler);
  const version = await store.registerMachine(machine.id, machine.definition, machine.digest);
  return new ChartRuntime({ store, machines: new MachineVersions({ machine, version }, () => Promise.reject(new Error('one version')), compileMachine), topicPrefix: 'm', create: true, strict: true, ...options });
}

for (const backend of backends) {
  describeIf(backend.skip, `memory bounds (${backend.name})`, function () {
    this.timeout(60000);
    const test = storePerTest(backend);
    let store;
    beforeEach(() => ({ store } = test));

    it('keeps the charts it touches within the cache byte budget, far past it', async () => {
      const budget = 1024 * 1024;
      const cache = new ChartCache(budget);
      const runtime = await runtimeOn(store, { cache });
      const blob = 'x'.repeat(100 * 1024);
      let most = 0;
      for (let i = 0; i < 60; i++) {
        const outcome = await runtime.dispatch(`big-${i}`, { type: 'fill', data: blob });
        assert.equal(outcome.kind, 'applied');
        most = Math.max(most, cache.bytes);
      }
      // 60 charts × 100 KiB is 6 MiB of JSON, about three times that in memory: a few fit.
      assert.ok(most <= budget, `never over the budget (at most ${most} bytes)`);
      assert.ok(cache.size >= 2 && cache.size <= 10, `${cache.size} charts kept`);
      // A chart that was let go is read again, and goes on from its committed state.
      const again = await runtime.dispatch('big-0', { type: 'fill', data: 'small' });
      assert.equal(again.kind, 'applied');
      assert.equal(again.state.metadata.seq, 2);
    });
  });
}

describeIf(postgres.skip, 'events waiting across charts (a store that does not answer: PostgreSQL)', function () {
  this.timeout(30000);

  it('refuses events past the process-wide cap with persistence_failed at once, while the store is away', async () => {
    // A store whose server does not answer: every event waits in its chart's queue.
    const url = new URL(process.env.DATABASE_URL);
    url.host = `127.0.0.1:${await freePort()}`;
    const away = new ChartStore({ ...postgres.store(), connection: url.toString(), retry: { attempts: 1000, initialDelayMs: 50, maxDelayMs: 200, totalMs: 10000 } });
    const machine = compileMachine(filler);
    const waiting = new WaitingEvents(5);
    const runtime = new ChartRuntime({ store: away, machines: new MachineVersions({ machine, version: 1 }, () => Promise.reject(new Error('one version')), compileMachine), topicPrefix: 'm', create: true, strict: true, waiting });
    const outcomes = Array.from({ length: 8 }, (_, i) => runtime.dispatch(`w-${i}`, { type: 'fill', data: 'x' }));
    const refused = await Promise.all(outcomes.slice(5));
    for (const outcome of refused) {
      assert.equal(outcome.kind, 'rejected');
      assert.equal(outcome.error.code, 'persistence_failed');
      assert.match(outcome.error.message, /5 events are already waiting in this process/);
    }
    assert.equal(waiting.waiting, 5, 'the first five wait');
    await away.close();
    const settled = await Promise.all(outcomes.slice(0, 5));
    assert.ok(settled.every((o) => o.kind === 'rejected' && o.error.code === 'persistence_failed'), 'and are answered when the store gives up');
    assert.equal(waiting.waiting, 0);
  });
});
