'use strict';
// `--profile`: the Node-RED processes run with --cpu-prof; this reads the profiles they write on
// exit and names where the time went (self time per function, and how much was idle).
const fs = require('node:fs');
const path = require('node:path');

function summarize(file, top = 15) {
  const profile = JSON.parse(fs.readFileSync(file, 'utf8'));
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const self = new Map();
  let total = 0;
  profile.samples.forEach((id, i) => {
    const delta = profile.timeDeltas[i] ?? 0;
    total += delta;
    const { functionName, url, lineNumber } = byId.get(id).callFrame;
    const where = url ? `${path.basename(url)}:${lineNumber + 1}` : '';
    const key = `${functionName || '(anonymous)'} ${where}`.trim();
    self.set(key, (self.get(key) ?? 0) + delta);
  });
  const pct = (us) => Number(((us / total) * 100).toFixed(1));
  return {
    file,
    seconds: Number((total / 1e6).toFixed(1)),
    idlePercent: pct(self.get('(idle)') ?? 0),
    gcPercent: pct(self.get('(garbage collector)') ?? 0),
    top: [...self.entries()]
      .filter(([key]) => key !== '(idle)')
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([fn, us]) => ({ fn, selfPercent: pct(us) })),
  };
}

/** Summaries of every .cpuprofile below `dir` (one per process that exited). */
function summarizeAll(dir) {
  if (!fs.existsSync(dir)) return [];
  return fs
    .readdirSync(dir, { recursive: true })
    .filter((name) => name.endsWith('.cpuprofile'))
    .map((name) => summarize(path.join(dir, name)));
}

module.exports = { summarizeAll };
