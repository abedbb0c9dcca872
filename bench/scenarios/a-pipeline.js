'use strict';
// a. Pipeline ratio: events/s through mqtt in → xstate-chart → mqtt out over events/s through
// mqtt in → function (same three messages, no persistence) → mqtt out, in one Node-RED process,
// alternating rounds, a window of events in flight.
const { median, round } = require('../lib/stats');
const { pipelineProcess, warm } = require('../lib/pipeline-process');
const { cpuMeter, medianCpu } = require('../lib/cpu');
const { storeCalls, perCommit, callsPer } = require('../lib/store-calls');

module.exports = async function pipelineRatio(ctx) {
  const { rounds, seconds, window, charts } = ctx.options;
  const { nr, paths: all } = await pipelineProcess(ctx, { defaultBroker: ctx.selected.includes('c') });
  const paths = ctx.options.paths.split(',').map((key) => all[key.trim()]).filter(Boolean);
  for (const path of paths) await warm(ctx, path);
  ctx.log(`a: ${charts} charts on each path created`);
  const rates = Object.fromEntries(paths.map((path) => [path.key, []]));
  const cpu = Object.fromEntries(paths.map((path) => [path.key, []]));
  const groups = Object.fromEntries(paths.map((path) => [path.key, []]));
  for (let r = 0; r < rounds; r++) {
    for (const path of r % 2 === 0 ? paths : [...paths].reverse()) {
      const callsBefore = await storeCalls(nr);
      const meter = cpuMeter({ nodeRedPid: nr.child.pid, brokerPid: path.broker.pid });
      const result = await path.client.throughput({ prefix: path.prefix, chartIds: path.chartIds, window, seconds, tag: `r${r}` });
      cpu[path.key].push(meter.stop());
      const callsAfter = await storeCalls(nr);
      const groupSize = perCommit(callsBefore, callsAfter);
      if (groupSize !== undefined) groups[path.key].push(groupSize);
      rates[path.key].push(round(result.rate));
      ctx.log(`a round ${r + 1}/${rounds} ${path.key}: ${round(result.rate)} events/s (${result.events} events); transitions per commit ${round(groupSize ?? NaN, 1)}; CPU % ${JSON.stringify(cpu[path.key].at(-1))}; store calls per 1,000 events ${JSON.stringify(callsPer(callsBefore, callsAfter, result.events / 1000))}`);
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
    // Group commit at work: transitions per commit (ChartStore calls counted in the Node-RED process).
    transitionsPerCommit: Object.fromEntries(Object.entries(groups).filter(([, list]) => list.length > 0).map(([key, list]) => [key, round(median(list), 1)])),
    // Node-RED's CPU time per event: what bounds a path once nothing else is waited for.
    nodeRedCpuMsPerEvent: Object.fromEntries(Object.entries(cpu).map(([key, list]) => [key, round(median(list.map((c, r) => c.nodeRed / 100 / rates[key][r] * 1000)), 3)])),
  };
};
