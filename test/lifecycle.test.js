'use strict';
// A chart node's life in Node-RED (in-process, with Node-RED's real hooks): redeployed while its
// store cannot be reached, it leaves nothing behind, and the new node works once the store is back.
const assert = require('node:assert/strict');
const net = require('node:net');
const { ChartService, ChartStore, journeys } = require('../dist/index.js');
const { postgres, describeIf, freePort } = require('./support/env');
const { flowSuite } = require('./support/harness');
const { helper, allNodes, chartFlow, flowAnswers, statusMatching } = require('./support/node-red');

/** A TCP forwarder to PostgreSQL on `port`, started and stopped by the test: the store's network. */
function forwarder(port, target) {
  let server;
  const sockets = new Set();
  return {
    async open() {
      server = net.createServer((client) => {
        const upstream = net.connect(target.port, target.host);
        for (const s of [client, upstream]) {
          sockets.add(s);
          s.on('close', () => sockets.delete(s));
          s.on('error', () => {});
        }
        client.pipe(upstream).pipe(client);
      });
      await new Promise((resolve) => server.listen(port, '127.0.0.1', resolve));
    },
    async close() {
      for (const s of sockets) s.destroy();
      if (server) await new Promise((resolve) => server.close(resolve));
    },
  };
}

describeIf(postgres.skip, 'chart node life cycle (PostgreSQL behind a forwarder the test opens)', function () {
  this.timeout(120000);
  const suite = flowSuite({ backend: postgres, label: 'life' });
  let network;
  afterEach(async () => network?.close());

  it('redeployed while the store is unreachable, starts and works once it is back; nothing of the old node is left', async () => {
    const { broker, client, prefix } = suite;
    const url = new URL(process.env.DATABASE_URL);
    const port = await freePort();
    network = forwarder(port, { host: url.hostname, port: Number(url.port || 5432) });
    url.host = `127.0.0.1:${port}`;
    const store = { ...suite.store, connection: url.toString() };
    const flow = chartFlow({ brokerUrl: broker.url, store, prefix, definition: { id: 'Lamp', initial: 'Off', states: { Off: { on: { toggle: 'On' } }, On: { on: { toggle: 'Off' } } } } });

    await helper.load(allNodes, flow);
    await statusMatching(helper.getNode('chart'), /store retrying/);
    // Redeploy while the first node is still starting (its store retrying).
    await helper.unload();
    await helper.load(allNodes, flow);
    await statusMatching(helper.getNode('chart'), /store retrying/);

    await network.open();
    await flowAnswers(client, prefix);
    await client.publish(`${prefix}/lamp-1/event`, { type: 'toggle' });
    const on = await client.waitFor((m) => m.topic === `${prefix}/lamp-1/state` && m.json?.value === 'On');
    assert.equal(on.json.metadata.seq, 1);
    // The status says the store is back (SPEC §3: connected / retrying / error) with the charts served.
    await statusMatching(helper.getNode('chart'), /^connected · 1 chart · lamp-1: On$/);
    await helper.getNode('chart').xstate.drained();

    assert.equal(ChartService.running.size, 1, 'one chart service runs: the old node started nothing after its close');
    assert.equal(journeys.attached, 1, 'one user of the runtime hooks');
    const { rows } = await helper.getNode('store').store.query(`select owner from "${store.schema}".relays where alive_until > now()`);
    assert.equal(rows.length, 1, 'one relay holds a lease');
    await helper.unload();
    assert.equal(ChartService.running.size, 0, 'and none after the flow is stopped');
    assert.equal(journeys.attached, 0);
    const db = new ChartStore(suite.store);
    await db.query(`drop schema if exists "${store.schema}" cascade`);
    await db.close();
  });
});
