'use strict';
// Mocha's spec reporter plus, at the end, what did not run and why (every pending suite or test,
// with the reason its title gives as `[pending: reason]`), and one plain closing line,
// "N passed, N failed, N skipped", that CI reads.
const Mocha = require('mocha');
const { Spec } = Mocha.reporters;

const REASON = /\[pending: (.+)\]\s*$/;

/** The outermost suite (or else the test itself) that says why it is pending. */
function pendingPlace(test) {
  let place = REASON.test(test.title) ? test : undefined;
  for (let suite = test.parent; suite && !suite.root; suite = suite.parent) {
    if (REASON.test(suite.title)) place = suite;
  }
  return place ?? test;
}

class SpecWithSummary extends Spec {
  constructor(runner, options) {
    super(runner, options);
    let passed = 0;
    let failed = 0;
    let skipped = 0;
    /** fullTitle of the pending place → { reason, tests } */
    const pending = new Map();
    runner.on('pass', () => passed++);
    runner.on('fail', () => failed++);
    runner.on('pending', (test) => {
      skipped++;
      const place = pendingPlace(test);
      const title = place.fullTitle();
      const entry = pending.get(title) ?? { reason: REASON.exec(place.title)?.[1] ?? 'no reason given', tests: 0 };
      entry.tests++;
      pending.set(title, entry);
    });
    runner.once('end', () => {
      if (pending.size > 0) {
        console.log(`\npending, not run here (${skipped} test${skipped === 1 ? '' : 's'}):`);
        for (const [title, { reason, tests }] of pending) {
          console.log(`  - ${title.replace(REASON, '').trim()} (${tests} test${tests === 1 ? '' : 's'}): ${reason}`);
        }
      }
      console.log(`\ntests: ${passed} passed, ${failed} failed, ${skipped} skipped`);
    });
  }
}

module.exports = SpecWithSummary;
