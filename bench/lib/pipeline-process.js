'use strict';
// The one Node-RED process of scenarios a and c: every path side by side, each with its own topic
// prefix (one connection per broker), so rounds can alternate between them.
const { functionFlow, chartFlow, namespaced, shareBrokers, ring, chartIdsOf } = require('./flows');
const { preload } = require('./store-calls');

/**
 * Paths: `function` (no persistence), `postgres` and `embedded` charts on the broker with
 * TCP_NODELAY; with `defaultBroker`, `postgres-default`: the PostgreSQL chart again through a
 * Mosquitto on default settings. Resolves to { nr, paths: { key: { prefix, chartIds, client } } }.
 */
function pipelineProcess(ctx, { defaultBroker = false } = {}) {
  ctx.pipeline ??= (async () => {
    const fast = await ctx.broker(true);
    const wanted = [
      { key: 'function', broker: fast, flow: (common) => functionFlow(common) },
      ctx.databaseUrl && { key: 'postgres', broker: fast, flow: (common) => chartFlow({ ...common, store: ctx.postgresStore('pipeline'), definition: ring }) },
      { key: 'embedded', broker: fast, flow: (common) => chartFlow({ ...common, store: ctx.embeddedStore('pipeline'), definition: ring }) },
      ctx.databaseUrl && defaultBroker && { key: 'postgres-default', broker: await ctx.broker(false), flow: (common) => chartFlow({ ...common, store: ctx.postgresStore('pipeline_default'), definition: ring }) },
    ].filter(Boolean);
    const flows = [];
    const paths = {};
    for (const path of wanted) {
      const prefix = `bench/${ctx.runId}/${path.key}`;
      flows.push(...namespaced(path.flow({ brokerUrl: path.broker.url, prefix }), path.key));
      paths[path.key] = { key: path.key, prefix, broker: path.broker, chartIds: chartIdsOf(path.key, ctx.options.charts) };
    }
    ctx.log(`starting Node-RED with the paths ${Object.keys(paths).join(', ')}`);
    const nr = await ctx.nodeRed(shareBrokers(flows), { label: 'pipeline', nodeArgs: preload });
    const clients = new Map();
    for (const path of Object.values(paths)) {
      if (!clients.has(path.broker)) clients.set(path.broker, await ctx.client(path.broker));
      path.client = clients.get(path.broker);
      await path.client.watch(path.prefix);
    }
    for (const path of Object.values(paths)) await path.client.ready(path.prefix);
    ctx.log(`Node-RED answers on every path (${Math.round((Date.now() - nr.startedAt) / 1000)} s after its flows started)`);
    return { nr, paths };
  })();
  return ctx.pipeline;
}

/** Sends one event to each chart of the path, unmeasured: charts exist and are cached afterwards. */
async function warm(ctx, path, count = path.chartIds.length) {
  if ((path.warmed ?? 0) >= count) return;
  await path.client.throughput({ prefix: path.prefix, chartIds: path.chartIds.slice(0, count), window: ctx.options.window, seconds: 3600, maxEvents: count, tag: `warm${count}` });
  path.warmed = count;
}

module.exports = { pipelineProcess, warm };
