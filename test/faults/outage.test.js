'use strict';
// Fault injection: the PostgreSQL server is stopped in the middle of a stream (pg_ctlcluster) and
// started again. Runs only against a local PostgreSQL cluster this machine can stop.
// Runtime: the in-process test helper, with Node-RED's own hooks handed to our nodes (see
// test/support/node-red.js): messages count as delivered when `mqtt out` completed them.
const assert = require('node:assert/strict');
const fs = require('node:fs');
const { execFileSync } = require('node:child_process');
const { postgres, skipReason, describeIf, dataRoot } = require('../support/env');
const { flowSuite } = require('../support/harness');
const { helper, allNodes, chartFlow, flowAnswers, statusCalls } = require('../support/node-red');

const counter = {
  id: 'Counter',
  initial: 'On',
  context: { n: 0 },
  states: { On: { on: { tick: { actions: { type: 'assign', params: { n: { '+': [{ var: 'context.n' }, 1] } } } } } } },
};

const cluster = fs.existsSync('/etc/postgresql') ? fs.readdirSync('/etc/postgresql')[0] : undefined;
const local = process.env.DATABASE_URL && /@(127\.0\.0\.1|localhost)[:/]/.test(process.env.DATABASE_URL) && cluster && fs.existsSync('/usr/bin/pg_ctlcluster');
const delay = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

function pg(action) {
  try {
    execFileSync('pg_ctlcluster', ['--skip-systemctl-redirect', cluster, 'main', action, ...(action === 'stop' ? ['-m', 'fast'] : [])], { stdio: 'ignore' });
  } catch (err) {
    // Starting a running cluster (or stopping a stopped one) is not a failure here.
    const running = (() => {
      try {
        execFileSync('pg_isready', ['-q', '-h', '127.0.0.1'], { stdio: 'ignore' });
        return true;
      } catch {
        return false;
      }
    })();
    if (running !== (action === 'start')) throw err;
  }
}

describeIf(skipReason([!postgres.skip, postgres.skip], [local, 'DATABASE_URL is not a local cluster this machine can stop (pg_ctlcluster)']), 'faults: PostgreSQL outage', function () {
  this.timeout(180000);
  let broker;
  let client;
  let store;
  let prefix;
  // Registered first, so they run first: the database is back before the shared hooks use it.
  afterEach(() => pg('start'));
  after(() => {
    pg('start');
    helper.settings({ userDir: `${dataRoot}/userDir` });
  });
  const suite = flowSuite({ backend: postgres, label: 'outage', topics: ['+/state', '+/error'] });
  beforeEach(() => ({ broker, client, prefix, store } = suite));

  const statesOf = (chartId) => client.filter((m) => m.topic === `${prefix}/${chartId}/state` && m.json).map((m) => m.json);

  it('rides out a 10 s outage: events wait in order, nothing is lost, the status shows it', async () => {
    await helper.load(allNodes, chartFlow({ brokerUrl: broker.url, store, prefix, definition: counter }));
    await flowAnswers(client, prefix);
    const charts = ['a', 'b', 'c', 'd', 'e'];
    const PER_CHART = 60;
    let stoppedAt;
    for (let i = 0; i < PER_CHART; i++) {
      for (const chartId of charts) {
        const outstanding = () => charts.length * i - charts.reduce((sum, c) => sum + statesOf(c).length, 0);
        if (outstanding() >= 100) await client.waitFor(() => outstanding() < 100, 60000, 'the window to open');
        await client.publish(`${prefix}/${chartId}/event`, { type: 'tick', id: `${chartId}-${i}` });
      }
      if (i === 20) {
        pg('stop');
        stoppedAt = Date.now();
        // The stream goes on (and soon waits for its window) while the database is down for 10 s
        // (time must pass: the outage is what is tested).
        setTimeout(() => {
          pg('start');
          console.log(`      PostgreSQL was down for ${Date.now() - stoppedAt} ms`);
        }, 10000);
      }
    }
    for (const chartId of charts) {
      await client.waitFor(() => statesOf(chartId).some((s) => s.metadata.seq === PER_CHART), 60000, `chart ${chartId} to finish`).catch((err) => {
        const seen = charts.map((c) => `${c}: ${statesOf(c).length} states, last ${statesOf(c).at(-1)?.metadata.event.id}`).join('; ');
        const errors = client.filter((m) => m.topic.endsWith('/error')).map((m) => m.text.slice(0, 200)).slice(0, 5);
        throw new Error(`${err.message}: ${seen}; errors ${JSON.stringify(errors)}`);
      });
      const ids = statesOf(chartId).map((s) => s.metadata.event.id);
      assert.deepEqual(ids, Array.from({ length: PER_CHART }, (_, i) => `${chartId}-${i}`), `${chartId}: in order, none lost`);
    }
    assert.equal(client.filter((m) => m.topic.endsWith('/error') && !m.topic.includes('probe')).length, 0);
    const { rows } = await helper.getNode('store').store.query(`select chart_id, seq, state from "${store.schema}".charts order by chart_id`);
    assert.deepEqual(rows.map((r) => [r.chart_id, Number(r.seq), r.state.context.n]), charts.map((c) => [c, PER_CHART, PER_CHART]));
    const statuses = statusCalls(helper.getNode('chart'));
    assert.ok(statuses.some((s) => s.fill === 'yellow' && /store retrying/.test(s.text)), 'the node status showed the outage');
    assert.equal(statuses.at(-1).fill, 'green');
  });

  it('reports the events of an outage longer than the retry bound as persistence_failed, with their payloads', async () => {
    helper.settings({ userDir: `${dataRoot}/userDir`, xstate: { retry: { attempts: 100, initialDelayMs: 100, maxDelayMs: 500, totalMs: 2000 } } });
    await helper.load(allNodes, chartFlow({ brokerUrl: broker.url, store, prefix, definition: counter }));
    await flowAnswers(client, prefix);
    await client.publish(`${prefix}/x/event`, { type: 'tick', id: 'x-before' });
    await client.waitFor((m) => m.topic === `${prefix}/x/state`);

    pg('stop');
    const sent = [];
    for (let i = 0; i < 10; i++) {
      for (const chartId of ['x', 'y']) {
        const event = { type: 'tick', id: `${chartId}-${i}`, data: { i } };
        sent.push(event);
        await client.publish(`${prefix}/${chartId}/event`, event);
      }
    }
    // Down for 6 s, three times the bound: the first events of each chart run out of retries.
    await client.waitFor((m) => m.topic.endsWith('/error') && m.json?.code === 'persistence_failed', 20000);
    await delay(6000); // time must pass: the outage outlasts the retry bound
    pg('start');

    const settled = (event) =>
      client.filter((m) => m.json?.metadata?.event?.id === event.id).length + client.filter((m) => m.json?.code === 'persistence_failed' && m.json.event?.id === event.id).length;
    await client.waitFor(() => sent.every((e) => settled(e) >= 1), 90000, 'every event to be applied or reported');
    const failed = client.filter((m) => m.topic.endsWith('/error') && m.json?.code === 'persistence_failed');
    assert.ok(failed.length > 0);
    for (const error of failed) {
      const original = sent.find((e) => e.id === error.json.event.id);
      assert.deepEqual(error.json.event, original, 'the error carries the original event');
      assert.match(error.json.message, /not applied/);
    }
    for (const event of sent) assert.equal(settled(event), 1, `${event.id}: applied or reported, once`);
    for (const chartId of ['x', 'y']) {
      const applied = statesOf(chartId).map((s) => s.metadata.event.id).filter((id) => id !== 'x-before');
      const order = applied.map((id) => Number(id.split('-')[1]));
      assert.deepEqual(order, [...order].sort((a, b) => a - b), `${chartId}: applied in order`);
    }
    console.log(`      ${failed.length} of ${sent.length} events reported as persistence_failed, ${sent.length - failed.length} applied after the outage`);
  });
});
