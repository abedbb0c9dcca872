#!/usr/bin/env node
'use strict';
// Lines up the slow answers of an open-loop run (c's half load) with a Node-RED process's GC trace.
//
//   BENCH_LATENCY_TRACE=/tmp/lat.txt BENCH_NODE_RED_OUTPUT=/tmp/nr \
//     node bench/run.js --only c --node-args=--trace-gc,--require=$PWD/bench/tools/time-origin.js
//   node bench/tools/latency-timeline.js /tmp/lat.txt /tmp/nr-pipeline-*.log [--tag half] [--slow 25] [--bucket 100]
//
// Prints, per bucket of answers (by when they came), how many came, how many were slower than
// --slow ms and the slowest, for the buckets with a slow answer or a mark-compact, and the
// mark-compacts (their pause) and the longest scavenge pause in each. The GC trace gives times since
// the process started; bench/tools/time-origin.js prints that start (`ORIGIN <ms since the epoch>`).
const fs = require('node:fs');

const args = process.argv.slice(2);
const option = (name, fallback) => {
  const at = args.indexOf(`--${name}`);
  return at === -1 ? fallback : args.splice(at, 2)[1];
};
const tag = option('tag', 'half');
const slowMs = Number(option('slow', 25));
const bucketMs = Number(option('bucket', 100));
const [latencyFile, nodeRedLog] = args;
if (!latencyFile || !nodeRedLog) {
  console.error('usage: latency-timeline.js <latency trace> <Node-RED output with --trace-gc> [--tag half] [--slow 25] [--bucket 100]');
  process.exit(2);
}

const answers = fs
  .readFileSync(latencyFile, 'utf8')
  .split('\n')
  .map((line) => line.split(' '))
  .filter(([t]) => t === tag)
  .map(([, at, ms]) => ({ at: Number(at), ms: Number(ms) }));
if (answers.length === 0) throw new Error(`no answers tagged ${tag} in ${latencyFile}`);
const output = fs.readFileSync(nodeRedLog, 'utf8');
const origin = /ORIGIN (\d+(?:\.\d+)?)/.exec(output);
if (!origin) throw new Error(`${nodeRedLog} has no ORIGIN line: run Node-RED with --require=<absolute path of bench/tools/time-origin.js>`);
const gcs = [...output.matchAll(/\s(\d+) ms: (Mark-Compact|Scavenge)[^,]*, ([\d.]+) \/ [\d.]+ ms/g)].map((m) => ({ at: Number(origin[1]) + Number(m[1]), kind: m[2], pauseMs: Number(m[3]) }));

const first = answers[0].at;
const last = answers[answers.length - 1].at;
const buckets = new Map();
const bucketOf = (at) => {
  const key = Math.floor((at - first) / bucketMs);
  if (!buckets.has(key)) buckets.set(key, { answers: 0, slow: 0, slowestMs: 0, scavengeMs: 0, markCompacts: [] });
  return buckets.get(key);
};
for (const { at, ms } of answers) {
  const bucket = bucketOf(at);
  bucket.answers++;
  if (ms > slowMs) bucket.slow++;
  bucket.slowestMs = Math.max(bucket.slowestMs, ms);
}
for (const gc of gcs) {
  if (gc.at < first || gc.at > last) continue;
  const bucket = bucketOf(gc.at);
  if (gc.kind === 'Mark-Compact') bucket.markCompacts.push(gc.pauseMs);
  else bucket.scavengeMs = Math.max(bucket.scavengeMs, gc.pauseMs);
}
const slow = answers.filter(({ ms }) => ms > slowMs).length;
console.log(`${answers.length} answers over ${((last - first) / 1000).toFixed(1)} s; ${slow} slower than ${slowMs} ms (the p99 is the ${Math.ceil(answers.length / 100)}th slowest)`);
console.log('from start (s) | answers | slow | slowest (ms) | longest scavenge (ms) | mark-compacts (pause ms)');
for (const [key, b] of [...buckets].sort((x, y) => x[0] - y[0])) {
  if (b.slow === 0 && b.markCompacts.length === 0) continue;
  console.log(`${((key * bucketMs) / 1000).toFixed(1)} | ${b.answers} | ${b.slow} | ${b.slowestMs.toFixed(1)} | ${b.scavengeMs.toFixed(1)} | ${b.markCompacts.join(' ')}`);
}
