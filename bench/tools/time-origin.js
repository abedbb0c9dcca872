'use strict';
// `node --require=$PWD/bench/tools/time-origin.js` (a path: a bare name is looked up as a package):
// prints when the process started (ms since the epoch), so that --trace-gc's times (ms since start)
// can be lined up with other clocks.
console.log('ORIGIN', performance.timeOrigin);
