'use strict';
// d. Scale: a million charts in the store; the Node-RED process's memory after touching 100,000 of
// them (default cache settings); how long loading a chart that is not cached takes.
const { performance } = require('node:perf_hooks');
const { ChartStore, compileMachine, parseMigrate, impactOf } = require('../../dist/index.js');
const { BenchContext } = require('../lib/context');
const { heapAfterGc, heapPeak } = require('../lib/inspector');
const { latencySummary } = require('../lib/mqtt-load');
const { seedChart, copyCharts } = require('../lib/bulk');
const { chartFlow, namespaced, ring } = require('../lib/flows');
const { round } = require('../lib/stats');

/**
 * Seconds the process is left idle after touching, its RSS read each second. V8's memory reducer
 * waits for a low allocation rate, which it only learns of at a GC or, failing one, from its
 * watchdog: here it returned the garbage 40-50 s after the load stopped (443 → 148 MB).
 */
const SETTLE_SECONDS = 90;

const COLD_SAMPLES = 1000;
const EVENT_SAMPLES = 200;

/** `count` distinct random integers in [lo, hi]. */
function randomIds(count, lo, hi) {
  const picked = new Set();
  while (picked.size < Math.min(count, hi - lo + 1)) picked.add(lo + Math.floor(Math.random() * (hi - lo + 1)));
  return [...picked];
}

module.exports = async function scale(ctx) {
  const { scaleCharts, touch, window, cacheBytes } = ctx.options;
  const storeConfig = ctx.postgresStore('scale');
  const machineId = await seedChart(storeConfig, ring, [{ type: 'next' }]);
  const sql = await ctx.sql();
  ctx.log(`d: copying the seed chart to ${scaleCharts.toLocaleString('en')} charts`);
  const insertSeconds = await copyCharts(sql, storeConfig.schema, { machineId, prefix: 'd-', to: scaleCharts, log: (m) => ctx.log(`d: ${m}`) });
  const { rows: size } = await sql.query(`select pg_total_relation_size($1) as bytes`, [`"${storeConfig.schema}".charts`]);
  // What autovacuum does on its own after a bulk load: the visibility map lets the impact report
  // count from its index alone.
  await sql.query(`vacuum analyze "${storeConfig.schema}".charts`);
  await sql.end();
  const impact = await impactReport(storeConfig, machineId);
  ctx.log(`d: impact report on ${scaleCharts.toLocaleString('en')} charts: p50 ${impact.p50} ms, max ${impact.max} ms`);

  const broker = await ctx.broker(true);
  const prefix = `bench/${ctx.runId}/scale`;
  const nr = await ctx.nodeRed(namespaced(chartFlow({ brokerUrl: broker.url, prefix, store: storeConfig, definition: ring }), 'scale'), { label: 'scale', nodeArgs: ['--inspect=127.0.0.1:0'], settings: cacheBytes > 0 ? { xstate: { cache: { maxBytes: cacheBytes } } } : {} });
  const client = await ctx.client(broker);
  await client.watch(prefix);
  await client.ready(prefix);
  const rssAfterStart = BenchContext.rssMb(nr);
  const heapAfterStart = await heapAfterGc(nr);

  ctx.log(`d: touching ${touch.toLocaleString('en')} charts`);
  const touched = Array.from({ length: touch }, (_, i) => `d-${i + 1}`);
  const sampler = await heapPeak(nr);
  const touchedRun = await client.throughput({ prefix, chartIds: touched, window, seconds: 24 * 3600, maxEvents: touch, tag: 'touch' });
  const heapPeakDuringTouch = await sampler.stop();
  const rssAfterTouch = BenchContext.rssMb(nr);
  // The process left idle: V8's memory reducer collects and returns pages on its own once it sees
  // the allocation rate fall. RSS each second for SETTLE_SECONDS.
  const settling = [];
  for (let s = 0; s < SETTLE_SECONDS; s++) {
    await new Promise((resolve) => setTimeout(resolve, 1000));
    settling.push(BenchContext.rssMb(nr).rss);
  }
  // What is held after a full collection, and the RSS then: a leak stays, garbage goes.
  const heapAfterTouch = await heapAfterGc(nr);
  const rssAfterGc = BenchContext.rssMb(nr);

  // The store's read of a chart that is not cached, as the runtime makes it for an event with an id
  // (snapshot and whether the id was applied): what a cold event waits for before XState runs.
  const store = new ChartStore(storeConfig);
  const reads = [];
  try {
    for (const g of randomIds(COLD_SAMPLES, touch + 1, scaleCharts)) {
      const started = performance.now();
      await store.loadStoredChart(machineId, `d-${g}`, `cold-${g}`);
      reads.push(performance.now() - started);
    }
  } finally {
    await store.close();
  }
  // End to end, one event at a time: to charts never touched (not cached) and to the last touched.
  const cold = await client.oneAtATime({ prefix, chartIds: randomIds(EVENT_SAMPLES, touch + 1, scaleCharts).map((g) => `d-${g}`), samples: EVENT_SAMPLES, tag: 'cold' });
  const warm = await client.oneAtATime({ prefix, chartIds: touched.slice(-EVENT_SAMPLES), samples: EVENT_SAMPLES, tag: 'warm' });
  await ctx.stopNodeRed(nr);
  return {
    setup: { charts: scaleCharts, touched: touch, cache: cacheBytes > 0 ? `settings.js xstate.cache.maxBytes ${cacheBytes}` : 'default (settings.js xstate.cache.maxBytes unset)', insertSeconds: round(insertSeconds, 1), chartsTableMb: Math.round(Number(size[0].bytes) / 2 ** 20) },
    rssMb: { afterStart: rssAfterStart, afterTouch: rssAfterTouch, settling, afterGc: rssAfterGc },
    heapMb: { afterStartGc: heapAfterStart, peakDuringTouch: heapPeakDuringTouch, afterTouchGc: heapAfterTouch },
    touchEventsPerSecond: round(touchedRun.rate),
    impactReportMs: impact,
    coldLoadMs: latencySummary(reads),
    coldEventMs: latencySummary(cold),
    warmEventMs: latencySummary(warm),
  };
};

/**
 * The impact report of a new version of the ring machine (its state s1 renamed, with a map),
 * as `POST /xstate-chart/{id}/impact` computes it: the store's counts per version and state, and
 * what the candidate does to each group. Timed 5 times.
 */
async function impactReport(storeConfig, machineId) {
  const store = new ChartStore(storeConfig);
  try {
    const renamed = JSON.parse(JSON.stringify(ring).replace(/"s1"/g, '"first"'));
    const candidate = compileMachine(renamed);
    const migrate = parseMigrate({ states: { s1: 'first' } });
    const times = [];
    let report;
    for (let i = 0; i < 5; i++) {
      const started = performance.now();
      const [groups, timers] = await Promise.all([store.chartsByState(machineId), store.timersByState(machineId)]);
      report = impactOf({ candidate, migrate, version: 2, changed: true, versioning: 'move', groups, timers, machineOf: () => undefined });
      times.push(performance.now() - started);
    }
    times.sort((a, b) => a - b);
    return { p50: round(times[2], 1), max: round(times[4], 1), charts: report.totals.charts, groups: report.groups.length };
  } finally {
    await store.close();
  }
}
