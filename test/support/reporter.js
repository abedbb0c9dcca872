'use strict';
// Mocha's spec reporter plus one plain closing line, "N passed, N failed", that CI reads.
const Mocha = require('mocha');
const { Spec } = Mocha.reporters;

class SpecWithSummary extends Spec {
  constructor(runner, options) {
    super(runner, options);
    let passed = 0;
    let failed = 0;
    let skipped = 0;
    runner.on('pass', () => passed++);
    runner.on('fail', () => failed++);
    runner.on('pending', () => skipped++);
    runner.once('end', () => console.log(`\ntests: ${passed} passed, ${failed} failed, ${skipped} skipped`));
  }
}

module.exports = SpecWithSummary;
