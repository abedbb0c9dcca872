'use strict';
// The machines and flows the bench runs, built on the tests' chart flow (test/support/flows.js).
const { chartFlow } = require('../../test/support/flows');

/** 10 states in a ring; every state has an entry action (an external action: an action message). */
const ring = {
  id: 'Ring',
  initial: 's0',
  states: Object.fromEntries(Array.from({ length: 10 }, (_, i) => [`s${i}`, { entry: 'entered', on: { next: `s${(i + 1) % 10}` } }])),
};

/** One durable timer per chart, an hour away unless the bench moves its due time. */
const timer = {
  id: 'Timer',
  initial: 'Idle',
  states: {
    Idle: { on: { start: 'Waiting' } },
    Waiting: { after: { 3600000: 'Expired' } },
    Expired: { entry: 'expired' },
  },
};

/**
 * What the function node does per event: the chart node's three messages (state, value, action)
 * for the ring, computed in memory, persisted nowhere. Same topics, retain flags and QoS.
 */
const ringInMemory = `
const chartId = msg.topic.split('/').slice(-2)[0];
const prefix = msg.topic.slice(0, -(chartId.length + '/event'.length + 1));
let charts = context.get('charts');
if (!charts) { charts = new Map(); context.set('charts', charts); }
const chart = charts.get(chartId) || { at: 0, seq: 0 };
chart.at = (chart.at + 1) % 10;
chart.seq += 1;
charts.set(chartId, chart);
const value = 's' + chart.at;
const ctx = {};
const state = { value, status: 'active', chartId, context: ctx, history: {}, machine: { id: 'Ring', version: 1 },
  metadata: { id: chartId + ':' + chart.seq, seq: chart.seq, event: msg.payload, timestamp: Date.now() } };
const xstate = { chartId, machineId: 'Ring', machineVersion: 1, seq: chart.seq };
return [[
  { topic: prefix + '/' + chartId + '/state', payload: state, retain: true, qos: 1, xstate: { ...xstate, id: state.metadata.id } },
  { topic: prefix + '/' + chartId + '/value/Ring', payload: value, retain: true, qos: 1, xstate: { ...xstate, id: state.metadata.id + ':value:Ring' } },
  { topic: prefix + '/' + chartId + '/action/entered', payload: { type: 'entered', params: {}, context: ctx, state: { value, context: ctx }, chartId, id: state.metadata.id + ':0' }, retain: false, qos: 1, xstate: { ...xstate, id: state.metadata.id + ':0' } },
]];
`;

/** mqtt in → function (the ring in memory) → mqtt out: the chart flow with the function in its place. */
function functionFlow({ brokerUrl, prefix }) {
  return chartFlow({ brokerUrl, store: {}, prefix, definition: ring })
    .filter((node) => node.type !== 'xstate-store')
    .map((node) =>
      node.type === 'xstate-chart'
        ? { id: node.id, type: 'function', name: 'ring in memory', func: ringInMemory, outputs: 1, timeout: 0, noerr: 0, initialize: '', finalize: '', libs: [], wires: [['out']] }
        : node,
    );
}

/** The same flow with its ids (and the references to them) prefixed, so several fit in one process. */
function namespaced(nodes, ns) {
  const ids = new Set(nodes.map((node) => node.id));
  const rename = (id) => (ids.has(id) ? `${ns}-${id}` : id);
  return nodes.map((node) => ({
    ...node,
    id: rename(node.id),
    ...(node.broker ? { broker: rename(node.broker) } : {}),
    ...(node.store ? { store: rename(node.store) } : {}),
    ...(node.wires ? { wires: node.wires.map((port) => port.map(rename)) } : {}),
  }));
}

/**
 * One `mqtt-broker` node per broker address: the paths of one process share their connection, as
 * in a user's flows. The function path then also gets the TCP_NODELAY the package sets on the
 * broker its chart nodes use, so the baseline is not slowed by Nagle's algorithm.
 */
function shareBrokers(nodes) {
  const byAddress = new Map();
  const renamed = new Map();
  for (const node of nodes.filter((n) => n.type === 'mqtt-broker')) {
    const address = `${node.broker}:${node.port}`;
    if (!byAddress.has(address)) byAddress.set(address, node.id);
    renamed.set(node.id, byAddress.get(address));
  }
  return nodes
    .filter((node) => node.type !== 'mqtt-broker' || renamed.get(node.id) === node.id)
    .map((node) => (node.broker && renamed.has(node.broker) ? { ...node, broker: renamed.get(node.broker) } : node));
}

const chartIdsOf = (path, count) => Array.from({ length: count }, (_, i) => `${path}-${i}`);

module.exports = { ring, timer, functionFlow, chartFlow, namespaced, shareBrokers, chartIdsOf };
