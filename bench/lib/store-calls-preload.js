'use strict';
// Loaded into a Node-RED child with `node -r` (bench/lib/store-calls.js): counts the calls of each
// ChartStore method once the package's bundle is loaded, and prints the counts on SIGWINCH. This is
// how the bench sees, per round, how many transitions each commit carried (group commit at work).
const Module = require('node:module');

const counts = {};
const load = Module._load;
Module._load = function loadAndCount(request, parent, isMain) {
  const exported = load.call(this, request, parent, isMain);
  if (exported?.ChartStore && !exported.ChartStore.prototype.__counted) {
    const proto = exported.ChartStore.prototype;
    Object.defineProperty(proto, '__counted', { value: true });
    for (const name of Object.getOwnPropertyNames(proto)) {
      const { value } = Object.getOwnPropertyDescriptor(proto, name);
      if (typeof value !== 'function' || name === 'constructor') continue;
      proto[name] = function counted(...args) {
        counts[name] = (counts[name] ?? 0) + 1;
        return value.apply(this, args);
      };
    }
  }
  return exported;
};

// SIGWINCH: ignored by default and by Node-RED (which exits on SIGUSR2, for nodemon).
process.on('SIGWINCH', () => process.stdout.write(`XSTATE-STORE-CALLS ${JSON.stringify(counts)}\n`));
