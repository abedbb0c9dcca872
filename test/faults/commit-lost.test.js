'use strict';
// Fault injection: a commit lands on PostgreSQL, and the connection drops before its answer reaches
// Node-RED (test/support/pg-proxy.js cuts it right after COMMIT). The store retries the commit; the
// chart recognises its own first attempt by its commit id, so the event is applied once and its
// messages are published once, with no error.
// Runtime: the in-process test helper, with Node-RED's own hooks handed to our nodes (see
// test/support/node-red.js): messages count as delivered when `mqtt out` completed them. Store: PostgreSQL through the proxy. Broker: MQTT_URL, else the embedded aedes broker.
const assert = require('node:assert/strict');
const { Client } = require('pg');
const { postgres, describeIf } = require('../support/env');
const { flowSuite } = require('../support/harness');
const { helper, allNodes, chartFlow, flowAnswers } = require('../support/node-red');
const { PgProxy } = require('../support/pg-proxy');
const { ticker } = require('../fixtures/machines');

describeIf(postgres.skip, 'faults: a commit whose connection dropped after it landed (PostgreSQL)', function () {
  this.timeout(60000);
  let proxy;
  before(async () => {
    proxy = await PgProxy.start();
  });
  after(async () => {
    await proxy?.close();
  });
  // The store node's connection goes through the proxy.
  const suite = flowSuite({
    backend: { store: () => ({ ...postgres.store(), connection: proxy.connectionString(process.env.DATABASE_URL) }) },
    label: 'lost',
    topics: ['+/state', '+/error'],
  });

  it('applies the event once and publishes its messages once, with no error', async () => {
    const { broker, client, prefix, store } = suite;
    await helper.load(allNodes, chartFlow({ brokerUrl: broker.url, store, prefix, definition: ticker }));
    await flowAnswers(client, prefix);
    const statesOfC = () => client.filter((m) => m.topic === `${prefix}/c/state` && m.json).map((m) => [m.json.metadata.seq, m.json.metadata.event.id ?? null]);
    // The transaction of a chart's transition is the one that writes its outbox row (one statement:
    // the group commit's, with a CTE per table).
    const transition = (statements) => statements.some((sql) => /insert into \S+\.outbox/i.test(sql));

    // A new chart (insert), with no event id: only the commit id can tell the retry it landed.
    let cut = proxy.cutAfterCommit({ when: transition });
    await client.publish(`${prefix}/c/event`, { type: 'tick' });
    assert.ok((await cut).statements.some((sql) => /insert into \S+\.charts/i.test(sql)), 'the cut commit created the chart');
    await client.waitFor((m) => m.topic === `${prefix}/c/state` && m.json?.metadata.seq === 1);

    // An existing chart (compare-and-set update), with an event id.
    cut = proxy.cutAfterCommit({ when: transition });
    await client.publish(`${prefix}/c/event`, { type: 'tick', id: 't-2' });
    assert.ok((await cut).statements.some((sql) => /update \S+\.charts/i.test(sql)), 'the cut commit updated the chart');
    await client.waitFor((m) => m.topic === `${prefix}/c/state` && m.json?.metadata.seq === 2);

    // A barrier: everything before it has been published.
    await client.publish(`${prefix}/c/event`, { type: 'tick', id: 'barrier' });
    await client.waitFor((m) => m.topic === `${prefix}/c/state` && m.json?.metadata.event.id === 'barrier');
    assert.equal(proxy.cuts, 2);
    assert.deepEqual(statesOfC(), [[1, null], [2, 't-2'], [3, 'barrier']], 'each transition applied once, published once');
    assert.equal(client.filter((m) => m.topic.endsWith('/error') && !m.topic.includes('/probe-')).length, 0, 'no error');

    // The store agrees (read directly, not through the proxy).
    const db = new Client({ connectionString: process.env.DATABASE_URL });
    await db.connect();
    try {
      const { rows } = await db.query(`select seq, state from "${store.schema}".charts where chart_id = 'c'`);
      assert.equal(Number(rows[0].seq), 3);
      const ids = await db.query(`select event_id, seq from "${store.schema}".event_ids where chart_id = 'c' order by seq`);
      assert.deepEqual(ids.rows.map((r) => [r.event_id, Number(r.seq)]), [['t-2', 2], ['barrier', 3]]);
    } finally {
      await db.end();
    }
  });
});
