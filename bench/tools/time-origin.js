'use strict';
// `node --require bench/tools/time-origin.js`: prints when the process started (ms since the epoch),
// so that --trace-gc's times (ms since start) can be lined up with other clocks.
console.log('ORIGIN', performance.timeOrigin);
