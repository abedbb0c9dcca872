'use strict';
// b. Store ratio: durable transitions/s of the runtime alone over 1,000 charts, divided by the
// single-row UPDATE commits/s the same PostgreSQL gives with the same number of connections
// (the runtime's pool: 10), alternating rounds in one run.
const { performance } = require('node:perf_hooks');
const { median, round } = require('../lib/stats');
const { openRuntime } = require('../lib/runtime');
const { ring, chartIdsOf } = require('../lib/flows');
const { cpuMeter, medianCpu } = require('../lib/cpu');

const POOL = 10; // ChartStore's PostgreSQL pool (src/store/postgres-db.ts)

/** Every chart has one event in flight at all times: as many ready transitions as charts. */
async function runtimeRound(dispatch, chartIds, seconds, tag) {
  const stopAt = performance.now() + seconds * 1000;
  const started = performance.now();
  let done = 0;
  await Promise.all(
    chartIds.map(async (chartId) => {
      for (let i = 0; performance.now() < stopAt; i++) {
        await dispatch(chartId, { type: 'next', id: `${tag}-${i}` });
        done++;
      }
    }),
  );
  return done / ((performance.now() - started) / 1000);
}

/** `POOL` connections, each an autocommit single-row UPDATE in a loop over the scratch table's rows. */
async function updateRound(clients, rows, seconds) {
  const stopAt = performance.now() + seconds * 1000;
  const started = performance.now();
  let done = 0;
  await Promise.all(
    clients.map(async (client, c) => {
      for (let i = c; performance.now() < stopAt; i += clients.length) {
        await client.query(client.scratchUpdate, [(i % rows) + 1]);
        done++;
      }
    }),
  );
  return done / ((performance.now() - started) / 1000);
}

module.exports = async function storeRatio(ctx) {
  const { rounds, seconds, charts } = ctx.options;
  const storeConfig = ctx.postgresStore('store');
  const { dispatch, close } = await openRuntime(storeConfig, ring);
  const chartIds = chartIdsOf('b', charts);
  const clients = [];
  const admin = await ctx.sql();
  try {
    // Scratch table: one row per chart, a small payload, updated in place.
    const table = `"${storeConfig.schema}".bench_update`;
    await admin.query(`create table ${table} (id integer primary key, n bigint not null default 0, payload text not null)`);
    await admin.query(`insert into ${table} (id, payload) select g, repeat('x', 200) from generate_series(1, $1) g`, [charts]);
    for (let i = 0; i < POOL; i++) {
      const client = await ctx.sql();
      client.scratchUpdate = { name: 'bench-update', text: `update ${table} set n = n + 1 where id = $1` };
      clients.push(client);
    }
    // Warm-up: creates the charts (an INSERT, not an UPDATE) and the plans.
    await Promise.all(chartIds.map((chartId) => dispatch(chartId, { type: 'next', id: 'warm' })));
    await updateRound(clients, charts, Math.min(1, seconds));

    const runtime = [];
    const update = [];
    const cpu = { runtime: [], update: [] };
    for (let r = 0; r < rounds; r++) {
      const order = r % 2 === 0 ? ['runtime', 'update'] : ['update', 'runtime'];
      for (const which of order) {
        const meter = cpuMeter();
        const rate = which === 'runtime' ? await runtimeRound(dispatch, chartIds, seconds, `r${r}`) : await updateRound(clients, charts, seconds);
        cpu[which].push(meter.stop());
        (which === 'runtime' ? runtime : update).push(round(rate));
        ctx.log(`b round ${r + 1}/${rounds} ${which}: ${round(rate)}/s; CPU % ${JSON.stringify(cpu[which].at(-1))}`);
      }
    }
    return {
      setup: { charts, connections: POOL, roundSeconds: seconds, rounds, runtime: 'ChartRuntime + ChartStore (outbox on, relay clearing it), events with ids', update: 'UPDATE ... SET n = n + 1 WHERE id = $1, autocommit, prepared' },
      rounds: { runtime, update },
      transitionsPerSecond: round(median(runtime)),
      updatesPerSecond: round(median(update)),
      ratio: round(median(runtime) / median(update), 2),
      // bench: the runtime (or the pg clients) in this process.
      cpuPercent: { runtime: medianCpu(cpu.runtime), update: medianCpu(cpu.update) },
      runtimeCpuMsPerTransition: round(median(cpu.runtime.map((c, r) => c.bench / 100 / runtime[r] * 1000)), 3),
    };
  } finally {
    await close();
    for (const client of [admin, ...clients]) await client.end();
  }
};
