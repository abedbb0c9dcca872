'use strict';
// f. Scale-out: two Node-RED processes on one store, fed through a shared subscription
// ($share/g/{prefix}/+/event), against one process; alternating rounds.
const { chartFlow, namespaced, ring, chartIdsOf } = require('../lib/flows');
const { median, round } = require('../lib/stats');

module.exports = async function scaleOut(ctx) {
  const { rounds, seconds, window, charts } = ctx.options;
  const broker = await ctx.broker(true);
  const store = ctx.postgresStore('scaleout');
  const shared = { key: 'two', prefix: `bench/${ctx.runId}/shared`, chartIds: chartIdsOf('two', charts) };
  const solo = { key: 'one', prefix: `bench/${ctx.runId}/solo`, chartIds: chartIdsOf('one', charts) };
  const sharedFlow = namespaced(chartFlow({ brokerUrl: broker.url, prefix: shared.prefix, store, definition: ring, shareGroup: `g${ctx.runId}` }), 'shared');
  const soloFlow = namespaced(chartFlow({ brokerUrl: broker.url, prefix: solo.prefix, store, definition: ring }), 'solo');
  // The first process serves both prefixes (one at a time is fed), the second only the shared one.
  const first = await ctx.nodeRed([...sharedFlow, ...soloFlow], { label: 'scaleout-1' });
  const second = await ctx.nodeRed(sharedFlow, { label: 'scaleout-2' });
  const client = await ctx.client(broker);
  for (const path of [shared, solo]) {
    await client.watch(path.prefix);
    await client.ready(path.prefix);
    await client.throughput({ prefix: path.prefix, chartIds: path.chartIds, window, seconds: 3600, maxEvents: charts, tag: 'warm' });
  }
  const rates = { one: [], two: [] };
  for (let r = 0; r < rounds; r++) {
    for (const path of r % 2 === 0 ? [solo, shared] : [shared, solo]) {
      const result = await client.throughput({ prefix: path.prefix, chartIds: path.chartIds, window, seconds, tag: `r${r}` });
      rates[path.key].push(round(result.rate));
      ctx.log(`f round ${r + 1}/${rounds} ${path.key} process(es): ${round(result.rate)} events/s`);
    }
  }
  await ctx.stopNodeRed(second);
  await ctx.stopNodeRed(first);
  return {
    setup: { charts, window, roundSeconds: seconds, rounds, store: 'PostgreSQL, one schema', subscription: '$share/g/{prefix}/+/event' },
    rounds: rates,
    eventsPerSecond: { one: round(median(rates.one)), two: round(median(rates.two)) },
    speedup: round(median(rates.two) / median(rates.one), 2),
  };
};
