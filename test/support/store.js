'use strict';
// Mocha hooks for tests that use a store directly (no Node-RED): each test gets a store on a schema
// of its own, dropped afterwards.
const { ChartStore } = require('../../dist/index.js');

/** Returns an object the hooks fill in: `config` (the store settings) and `store`. `before` runs ahead of the drop. */
function storePerTest(backend, { cleanUp = async () => {} } = {}) {
  const test = {};
  beforeEach(() => {
    test.config = backend.store();
    test.store = new ChartStore(test.config);
  });
  afterEach(async () => {
    await cleanUp();
    await test.store.query(`drop schema if exists "${test.config.schema}" cascade`);
    await test.store.close();
  });
  return test;
}

module.exports = { storePerTest };
