'use strict';
// The chart nodes' admin HTTP API (SPEC §10) and the editor's live updates, in Node-RED (in-process:
// the test helper's admin app, no authentication; permissions are covered by the admin
// authentication tests): validation with JSON paths, charts paged from the store, one chart with its
// timers and last transitions, events through the chart's queue, deletion, and live updates that
// stay few under a burst.
const assert = require('node:assert/strict');
const { events } = require('@node-red/util');
const { backends, describeIf } = require('./support/env');
const { flowSuite } = require('./support/harness');
const { helper, allNodes, chartFlow, flowAnswers } = require('./support/node-red');
const { seedText } = require('./fixtures/machines');
const { LIVE_UPDATE_INTERVAL_MS } = require('../dist/index.js');

const door = {
  id: 'Door',
  initial: 'Closed',
  states: {
    Closed: { on: { open: 'Opened' } },
    Opened: { after: { 60000: 'Closed' }, on: { close: 'Closed', slam: 'Closed' } },
  },
};

for (const backend of backends) {
  describeIf(backend.skip, `admin API and live updates (${backend.name})`, function () {
    this.timeout(120000);
    const suite = flowSuite({ backend, label: 'admin' });

    async function deploy(definition = door) {
      await helper.load(allNodes, chartFlow({ brokerUrl: suite.broker.url, store: suite.store, prefix: suite.prefix, definition }));
      await flowAnswers(suite.client, suite.prefix);
    }
    const api = () => helper.request();

    it('validates a definition as a deploy would, each problem with its JSON path', async () => {
      await deploy();
      const seed = await api().post('/xstate-chart/validate').send({ definition: seedText }).expect(200);
      assert.equal(seed.body.ok, false);
      assert.deepEqual(seed.body.problems.map((p) => p.path), ['states.Negotiate.states.Propose.on.agree[0].target']);
      assert.match(seed.body.problems[0].message, /#MarketPlace\.Perform\.Initiate/);
      const bad = { id: 'm', initial: 'a', states: { a: { entry: ['ok', 'toString'], on: { go: [{ target: 'b', guard: 'missing' }] }, after: { soon: 'a' } } } };
      const { body } = await api().post('/xstate-chart/validate').send({ definition: JSON.stringify(bad) }).expect(200);
      assert.deepEqual(body.problems.map((p) => p.path).sort(), ['states.a.after.soon', 'states.a.entry[1]', 'states.a.on.go[0].guard', 'states.a.on.go[0].target'].sort());
      const good = await api().post('/xstate-chart/validate').send({ definition: door }).expect(200);
      assert.deepEqual(good.body, { ok: true, problems: [] });
      const named = await api()
        .post('/xstate-chart/validate')
        .send({ definition: { id: 'm', initial: 'a', states: { a: { on: { go: { target: 'a', guard: 'ready' } } } } }, implementations: 'return { guards: { ready: () => true } }' })
        .expect(200);
      assert.equal(named.body.ok, true, 'names from the implementations count');
      const broken = await api().post('/xstate-chart/validate').send({ definition: '{ "id": ' }).expect(200);
      assert.equal(broken.body.problems[0].path, '');
      assert.match(broken.body.problems[0].message, /not valid JSON/);
      const none = await api().post('/xstate-chart/validate').send({}).expect(400);
      assert.equal(none.body.error.code, 'invalid_request');
    });

    it('pages through 10,000 charts by prefix, and shows one with its timers and last transitions', async () => {
      await deploy();
      const db = helper.getNode('store').store;
      const schema = `"${db.schema}"`;
      // One chart through MQTT, its row copied 10,000 times under other ids.
      await suite.client.publish(`${suite.prefix}/seed/event`, { type: 'open', id: 'o-1' });
      await suite.client.waitFor((m) => m.topic === `${suite.prefix}/seed/state`);
      await db.query(
        `insert into ${schema}.charts (machine_id, chart_id, machine_version, seq, status, state, snapshot)
         select machine_id, 'c-' || lpad(i::text, 5, '0'), machine_version, seq, status, jsonb_set(state, '{chartId}', to_jsonb('c-' || lpad(i::text, 5, '0'))), snapshot
           from ${schema}.charts, generate_series(1, 10000) as i where chart_id = 'seed'`,
      );
      const node = helper.getNode('chart').id;
      const seen = [];
      let after = '';
      for (let page = 0; page < 3; page++) {
        const { body } = await api().get(`/xstate-chart/${node}/charts`).query({ prefix: 'c-0', after, limit: 400 }).expect(200);
        assert.equal(body.charts.length, 400);
        seen.push(...body.charts.map((c) => c.chartId));
        after = body.next;
      }
      assert.deepEqual(seen.slice(0, 2), ['c-00001', 'c-00002']);
      assert.equal(new Set(seen).size, 1200, 'pages do not overlap');
      assert.deepEqual(seen, [...seen].sort());
      const last = await api().get(`/xstate-chart/${node}/charts`).query({ prefix: 'c-1' }).expect(200);
      assert.deepEqual(last.body.charts.map((c) => c.chartId), ['c-10000']);
      assert.equal(last.body.next, null);
      const [first] = (await api().get(`/xstate-chart/${node}/charts`).query({ prefix: 'se' }).expect(200)).body.charts;
      assert.deepEqual({ ...first, updatedAt: typeof first.updatedAt }, { chartId: 'seed', value: 'Opened', status: 'active', seq: 1, version: 1, updatedAt: 'string' });
      assert.equal((await api().get(`/xstate-chart/${node}/charts`).query({ limit: 501 }).expect(400)).body.error.code, 'invalid_request');

      const detail = (await api().get(`/xstate-chart/${node}/charts/seed`).expect(200)).body;
      assert.equal(detail.state.value, 'Opened');
      assert.deepEqual(detail.timers.map((t) => [t.event.type, typeof t.dueAt]), [['xstate.after.60000.Door.Opened', 'string']]);
      assert.deepEqual(detail.transitions.map((t) => [t.seq, t.event, t.from, t.to]), [[1, { type: 'open', id: 'o-1' }, null, 'Opened']]);
      assert.deepEqual(detail.machine, { id: 'Door', version: 1, definition: door });
      const missing = await api().get(`/xstate-chart/${node}/charts/nobody`).expect(404);
      assert.equal(missing.body.error.code, 'unknown_chart');
      const notAChart = await api().get(`/xstate-chart/store/charts`).expect(404);
      assert.equal(notAChart.body.error.code, 'not_found', 'only a chart node is asked');
    });

    it('applies events through the chart queue and deletes a chart with its timers and retained state', async () => {
      await deploy();
      const node = helper.getNode('chart').id;
      const opened = await api().post(`/xstate-chart/${node}/charts/d-1/events`).send({ type: 'open', id: 'e-1' }).expect(200);
      assert.equal(opened.body.outcome, 'applied');
      assert.equal(opened.body.state.value, 'Opened');
      assert.equal((await suite.client.waitFor((m) => m.topic === `${suite.prefix}/d-1/state`)).json.metadata.seq, 1, 'published like an event from MQTT');
      const again = await api().post(`/xstate-chart/${node}/charts/d-1/events`).send({ type: 'open', id: 'e-1' }).expect(200);
      assert.equal(again.body.outcome, 'duplicate');
      const refused = await api().post(`/xstate-chart/${node}/charts/d-1/events`).send({ type: 'open' }).expect(200);
      assert.deepEqual([refused.body.outcome, refused.body.error.code], ['rejected', 'event_not_accepted']);
      assert.equal((await api().post(`/xstate-chart/${node}/charts/d-1/events`).send({ nope: 1 }).expect(400)).body.error.code, 'invalid_event');

      const db = helper.getNode('store').store;
      const count = async (table) => Number((await db.query(`select count(*) as n from "${db.schema}".${table} where chart_id = 'd-1'`)).rows[0].n);
      assert.equal(await count('timers'), 1);
      await helper.getNode('chart').xstate.drained();
      assert.deepEqual((await api().delete(`/xstate-chart/${node}/charts/d-1`).expect(200)).body, { deleted: true });
      for (const table of ['charts', 'timers', 'event_ids', 'transitions', 'outbox']) assert.equal(await count(table), 0, table);
      const cleared = await suite.client.waitFor((m) => m.topic === `${suite.prefix}/d-1/state` && m.text === '');
      assert.equal(cleared.text, '', 'the retained state is cleared');
      assert.equal((await api().delete(`/xstate-chart/${node}/charts/d-1`).expect(404)).body.error.code, 'unknown_chart');
      // A new chart of that id starts afresh.
      const reborn = await api().post(`/xstate-chart/${node}/charts/d-1/events`).send({ type: 'open' }).expect(200);
      assert.equal(reborn.body.state.metadata.seq, 1);
    });

    it('tells the editor of a burst of 5,000 events to one chart in a few messages a second', async () => {
      await deploy({ id: 'Counter', initial: 'On', context: { n: 0 }, states: { On: { on: { tick: { actions: { type: 'assign', params: { n: { '+': [{ var: 'context.n' }, 1] } } } } } } } });
      const node = helper.getNode('chart');
      const updates = [];
      let lastTold;
      const toldLast = new Promise((resolve) => {
        lastTold = resolve;
      });
      const listener = (message) => {
        if (message.topic !== `xstate-chart/${node.id}/busy`) return;
        updates.push({ at: Date.now(), seq: message.data.seq });
        if (message.data.seq === 5000) lastTold();
      };
      events.on('comms', listener);
      try {
        const started = Date.now();
        // At most 500 waiting at once: a chart holds up to 1,000 waiting events.
        for (let sent = 0; sent < 5000; sent += 500) {
          const outcomes = Array.from({ length: 500 }, () => node.xstate.dispatch('busy', { type: 'tick' }));
          assert.ok((await Promise.all(outcomes)).every((o) => o.kind === 'applied'));
        }
        const took = Date.now() - started;
        // The last change is told at the end of its window, up to one and a half intervals after the
        // update before it: waited for (a fixed wait of 600 ms was sometimes too short), not slept on.
        let timeout;
        const late = new Promise((resolve) => {
          timeout = setTimeout(resolve, 10 * LIVE_UPDATE_INTERVAL_MS, 'late');
        });
        const told = await Promise.race([toldLast, late]);
        clearTimeout(timeout);
        assert.notEqual(told, 'late', `the last state (seq 5000) was not told within ${10 * LIVE_UPDATE_INTERVAL_MS} ms; updates: ${JSON.stringify(updates.map((u) => u.seq))}`);
        const span = Date.now() - started;
        const perSecond = updates.length / Math.max(1, span / 1000);
        console.log(`      5,000 events in ${took} ms: ${updates.length} updates to the editor, the last ${span - took} ms after the last event`);
        assert.ok(perSecond <= 3, `${updates.length} updates in ${span} ms`);
        assert.equal(updates[updates.length - 1].seq, 5000, 'the last update carries the last state');
      } finally {
        events.off('comms', listener);
      }
    });
  });
}
