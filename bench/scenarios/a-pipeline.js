'use strict';
// a. Pipeline ratio: events/s through mqtt in → xstate-chart → mqtt out over events/s through
// mqtt in → function (same three messages, no persistence) → mqtt out, in one Node-RED process,
// alternating rounds, a window of events in flight.
const { median, round } = require('../lib/stats');
const { pipelineProcess, warm } = require('../lib/pipeline-process');
const { cpuMeter, medianCpu } = require('../lib/cpu');

module.exports = async function pipelineRatio(ctx) {
  const { rounds, seconds, window, charts } = ctx.options;
  const { nr, paths: all } = await pipelineProcess(ctx, { defaultBroker: ctx.selected.includes('c') });
  const paths = ctx.options.paths.split(',').map((key) => all[key.trim()]).filter(Boolean);
  for (const path of paths) await warm(ctx, path);
  ctx.log(`a: ${charts} charts on each path created`);
  const rates = Object.fromEntries(paths.map((path) => [path.key, []]));
  const cpu = Object.fromEntries(paths.map((path) => [path.key, []]));
  for (let r = 0; r < rounds; r++) {
    for (const path of r % 2 === 0 ? paths : [...paths].reverse()) {
      const meter = cpuMeter({ nodeRedPid: nr.child.pid, brokerPid: path.broker.pid });
      const result = await path.client.throughput({ prefix: path.prefix, chartIds: path.chartIds, window, seconds, tag: `r${r}` });
      cpu[path.key].push(meter.stop());
      rates[path.key].push(round(result.rate));
      ctx.log(`a round ${r + 1}/${rounds} ${path.key}: ${round(result.rate)} events/s (${result.events} events); CPU % ${JSON.stringify(cpu[path.key].at(-1))}`);
    }
  }
  const eventsPerSecond = Object.fromEntries(Object.entries(rates).map(([key, list]) => [key, round(median(list))]));
  const ratio = (key) => (eventsPerSecond[key] === undefined || eventsPerSecond.function === undefined ? undefined : round(eventsPerSecond[key] / eventsPerSecond.function, 2));
  return {
    setup: { charts, machine: 'Ring: 10 states, an entry action each', window, roundSeconds: seconds, rounds, broker: paths[0].broker.kind },
    rounds: rates,
    eventsPerSecond,
    ratio: { postgres: ratio('postgres'), embedded: ratio('embedded') },
    // % of one core per part (PostgreSQL: the whole server, other clients included).
    cpuPercent: Object.fromEntries(Object.entries(cpu).map(([key, list]) => [key, medianCpu(list)])),
    // Node-RED's CPU time per event: what bounds a path once nothing else is waited for.
    nodeRedCpuMsPerEvent: Object.fromEntries(Object.entries(cpu).map(([key, list]) => [key, round(median(list.map((c, r) => c.nodeRed / 100 / rates[key][r] * 1000)), 3)])),
  };
};
