'use strict';
// A chart node reading its machine from a store reached through PgBouncer in transaction mode, as
// production clusters run one. LISTEN does not pass such a pooler (the server connection that ran
// it goes back to the pool, and its notifications to nobody), so a version another process writes
// must still reach the node: it looks for a newer one now and then (settings.js
// `xstate.machines.checkEveryMs`). The store's own commits behind the pooler: store.test.js.
// Runtime: Node-RED as a child process (test/support/node-red-process.js); events through the
// admin API (no broker needed). Store: PostgreSQL through a private pgbouncer.
const assert = require('node:assert/strict');
const { ChartStore, digestOf } = require('../dist/index.js');
const { postgres, skipReason, describeIf, uniqueName } = require('./support/env');
const { NodeRedProcess } = require('./support/node-red-process');
const { PgBouncer, pgbouncerMissing } = require('./support/pgbouncer');

const noPgBouncer = pgbouncerMissing();

const doorV1 = { id: 'Door', initial: 'Closed', states: { Closed: { on: { open: 'Opened' } }, Opened: { on: { close: 'Closed' } } } };
const doorV2 = { ...doorV1, states: { ...doorV1.states, Opened: { on: { close: 'Closed', slam: 'Closed' } } } };

describeIf(skipReason([!postgres.skip, postgres.skip], [!noPgBouncer, noPgBouncer]), 'machines in the store behind PgBouncer in transaction mode (Node-RED process)', function () {
  this.timeout(60000);
  let bouncer;
  let nodeRed;
  let store;
  let schema;

  before(async () => {
    bouncer = await PgBouncer.start(process.env.DATABASE_URL, { poolMode: 'transaction', serverConnections: 2 });
  });
  afterEach(async () => {
    await nodeRed?.stop();
    await store?.query(`drop schema if exists "${schema}" cascade`);
    await store?.close();
  });
  after(async () => {
    await bouncer?.close();
  });

  it('picks up a version another process wrote, although the notification never arrives', async () => {
    schema = uniqueName('t');
    // The other process: writes straight to PostgreSQL (its NOTIFY goes out; nobody behind the pooler hears it).
    store = new ChartStore({ backend: 'postgres', connection: process.env.DATABASE_URL, schema });
    assert.equal(await store.registerMachine('Door', doorV1, digestOf(doorV1)), 1);
    nodeRed = new NodeRedProcess({
      flows: [
        { id: 'store', type: 'xstate-store', backend: 'postgres', connection: bouncer.url, schema },
        { id: 'chart', type: 'xstate-chart', store: 'store', source: 'store', machineId: 'Door', topicPrefix: 'pooler', create: true, strict: true, wires: [[], [], []] },
      ],
      settings: { xstate: { machines: { checkEveryMs: 500 } } },
    });
    await nodeRed.start();
    const event = async (chartId, type) => {
      const response = await fetch(`${nodeRed.url}/xstate-chart/chart/charts/${chartId}/events`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ type }) });
      const text = await response.text();
      assert.equal(response.status, 200, text);
      return JSON.parse(text);
    };
    const first = await event('d-1', 'open');
    assert.equal(first.outcome, 'applied');
    assert.deepEqual(first.state.machine, { id: 'Door', version: 1 });

    const from = nodeRed.output.length;
    assert.equal(await store.registerMachine('Door', doorV2, digestOf(doorV2)), 2);
    await nodeRed.waitForOutput(/machine "Door" version 2 loaded/, { from, timeoutMs: 10000 });
    const created = await event('d-2', 'open');
    assert.deepEqual(created.state.machine, { id: 'Door', version: 2 }, 'a new chart starts on version 2');
    const slammed = await event('d-1', 'slam');
    assert.equal(slammed.state.value, 'Closed', 'a running chart moved to version 2, which knows "slam"');
    assert.deepEqual(slammed.state.machine, { id: 'Door', version: 2 });
  });
});
