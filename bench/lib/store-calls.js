'use strict';
// The ChartStore calls a Node-RED child made so far (it runs with store-calls-preload.js).
const path = require('node:path');

const preload = ['-r', path.join(__dirname, 'store-calls-preload.js')];
const MARK = 'XSTATE-STORE-CALLS ';

/** Asks the process for its counts; resolves with them (or undefined if it does not answer). */
async function storeCalls(nr) {
  const from = nr.output.length;
  nr.child.kill('SIGWINCH');
  for (let i = 0; i < 200; i++) {
    const at = nr.output.indexOf(MARK, from);
    const end = at >= 0 ? nr.output.indexOf('\n', at) : -1;
    if (end >= 0) return JSON.parse(nr.output.slice(at + MARK.length, end));
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  return undefined;
}

/** Transitions per commit (group size) between two readings. */
function perCommit(before, after) {
  if (!before || !after) return undefined;
  const delta = (name) => (after[name] ?? 0) - (before[name] ?? 0);
  return delta('commitGroup') > 0 ? delta('commitTransition') / delta('commitGroup') : undefined;
}

/** Each ChartStore method's calls between two readings, per `unit` (e.g. per 1,000 events). */
function callsPer(before, after, unit) {
  if (!before || !after || !(unit > 0)) return undefined;
  const per = {};
  for (const [name, count] of Object.entries(after)) {
    const delta = count - (before[name] ?? 0);
    if (delta > 0) per[name] = Math.round((delta / unit) * 10) / 10;
  }
  return per;
}

module.exports = { preload, storeCalls, perCommit, callsPer };
