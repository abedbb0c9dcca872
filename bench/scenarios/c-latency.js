'use strict';
// c. Latency publish → state message: one event at a time (idle) and at half the measured maximum
// rate, on the bench's Mosquitto with set_tcp_nodelay, plus rows on Mosquitto's default settings.
const { median, round } = require('../lib/stats');
const { latencySummary } = require('../lib/mqtt-load');
const { pipelineProcess, warm } = require('../lib/pipeline-process');
const { chartFlow, namespaced, ring, chartIdsOf } = require('../lib/flows');

const LATENCY_CHARTS = 100;
const RAMP_SECONDS = 2;

module.exports = async function latency(ctx) {
  const { rounds, samples, seconds, window } = ctx.options;
  const { paths } = await pipelineProcess(ctx, { defaultBroker: true });
  const idlePaths = ['function', 'postgres', 'embedded', 'postgres-default'].map((key) => paths[key]).filter(Boolean);
  for (const path of idlePaths) await warm(ctx, path, LATENCY_CHARTS);

  // Idle: alternating rounds, samples pooled per path.
  const idle = Object.fromEntries(idlePaths.map((path) => [path.key, []]));
  for (let r = 0; r < rounds; r++) {
    for (const path of r % 2 === 0 ? idlePaths : [...idlePaths].reverse()) {
      const latencies = await path.client.oneAtATime({ prefix: path.prefix, chartIds: path.chartIds.slice(0, LATENCY_CHARTS), samples: Math.ceil(samples / rounds), tag: `idle${r}` });
      idle[path.key].push(...latencies);
    }
  }
  const rows = idlePaths.map((path) => ({ path: path.key, broker: path.broker.kind, nodeRed: 'TCP_NODELAY (package default)', load: 'idle', ...latencySummary(idle[path.key]) }));

  // Half the maximum rate of the PostgreSQL chart path (scenario a's median, or measured here).
  const chart = paths.postgres ?? paths.embedded;
  let max = ctx.results.a?.eventsPerSecond?.[chart.key];
  if (!max) {
    await warm(ctx, chart);
    const rates = [];
    for (let r = 0; r < rounds; r++) rates.push((await chart.client.throughput({ prefix: chart.prefix, chartIds: chart.chartIds, window, seconds, tag: `max${r}` })).rate);
    max = median(rates);
  }
  await warm(ctx, chart);
  const checkpointMs = await ctx.checkpoint();
  const half = Math.max(1, Math.round(max / 2));
  // The first seconds at the rate are not the steady state: the pool opens the connections it had
  // closed while idle, each prepares the commit, and every page first written after a checkpoint
  // goes to the WAL whole. They are run, and reported, apart.
  const ramp = await chart.client.atRate({ prefix: chart.prefix, chartIds: chart.chartIds, rate: half, seconds: RAMP_SECONDS, tag: 'ramp' });
  const loaded = await chart.client.atRate({ prefix: chart.prefix, chartIds: chart.chartIds, rate: half, seconds: Math.max(seconds, 2) * 2, tag: 'half' });
  rows.push({ path: chart.key, broker: chart.broker.kind, nodeRed: 'TCP_NODELAY (package default)', load: `${half}/s (half of ${round(max)}/s), achieved ${round(loaded.rate)}/s, ${loaded.unanswered} unanswered`, ...latencySummary(loaded.latencies) });
  const rampUp = { seconds: RAMP_SECONDS, ...latencySummary(ramp.latencies) };

  // What users had before: the package's opt-out and Mosquitto's defaults (Nagle on both ends).
  if (ctx.databaseUrl) {
    const broker = await ctx.broker(false);
    const prefix = `bench/${ctx.runId}/optout`;
    const flows = namespaced(chartFlow({ brokerUrl: broker.url, prefix, store: ctx.postgresStore('optout'), definition: ring }), 'optout');
    const nr = await ctx.nodeRed(flows, { label: 'optout', settings: { xstate: { tcpNoDelay: false } } });
    const client = paths['postgres-default'].client;
    await client.watch(prefix);
    await client.ready(prefix);
    const path = { prefix, client, chartIds: chartIdsOf('optout', LATENCY_CHARTS) };
    await warm(ctx, path);
    const latencies = await client.oneAtATime({ prefix, chartIds: path.chartIds, samples: Math.min(samples, 100), tag: 'idle' });
    rows.push({ path: 'postgres', broker: broker.kind, nodeRed: 'opt-out (xstate.tcpNoDelay false): Nagle on', load: 'idle', ...latencySummary(latencies) });
    await ctx.stopNodeRed(nr);
  }
  return { setup: { samplesIdle: samples, charts: LATENCY_CHARTS, checkpointBeforeHalfLoadMs: checkpointMs, rampUp }, rows };
};
