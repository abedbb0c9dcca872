'use strict';
// The outbox relay against the real stores (the SQL of ownership, leases, adoption and clearing):
// held while it cannot deliver, replayed in order per chart, forgotten once delivered, left to the
// next run of the same owner, adopted by another relay once its owner's lease ran out.
// No Node-RED: the internal classes OutboxRelay and ChartStore directly.
const assert = require('node:assert/strict');
const { ChartStore, OutboxRelay, ChartRuntime, MachineVersions, compileMachine, errorMessage, outboxMessages, outboxRecordJson } = require('../dist/index.js');
const { storePerTest } = require('./support/store');
const { backends, describeIf } = require('./support/env');

function record(chartId, seq) {
  const state = { chartId, machine: { id: 'M', version: 1 }, status: 'active', value: 'a', context: {}, history: {}, metadata: { timestamp: seq, seq, id: `${chartId}:${seq}` } };
  return { machineId: 'M', chartId, machineVersion: 1, seq, status: 'active', state, snapshot: { value: 'a' } };
}
const messages = (chartId, seq) => [{ output: 0, topic: `t/${chartId}/state`, payload: { seq }, retain: true, xstate: { chartId, machineId: 'M', machineVersion: 1, seq, id: `${chartId}:${seq}` } }];

/** A destination that records what it was given and lets a test await it. */
function recorder({ fail = () => false } = {}) {
  const r = { attempts: 0, ids: [], waiters: [] };
  const changed = () => {
    for (const w of r.waiters.splice(0)) w();
  };
  r.deliver = async (batch) => {
    r.attempts++;
    if (fail(r.attempts)) {
      changed();
      throw new Error('not acknowledged');
    }
    r.ids.push(...batch.map((m) => m.xstate.id));
    changed();
  };
  r.until = (predicate) =>
    new Promise((resolve) => {
      const check = () => (predicate() ? resolve() : r.waiters.push(check));
      check();
    });
  r.has = (...ids) => r.until(() => ids.every((id) => r.ids.includes(id)));
  return r;
}

for (const backend of backends) {
  describeIf(backend.skip, `outbox relay (${backend.name})`, function () {
    this.timeout(30000);
    const relays = [];
    const test = storePerTest(backend, { cleanUp: async () => {
      for (const relay of relays.splice(0)) await relay.stop(1000);
    } });
    let config;
    let store;
    beforeEach(() => ({ config, store } = test));
    const relayOf = (owner, options) => {
      const relay = new OutboxRelay({ store, machineId: 'M', owner, retryMs: 20, leaseMs: 600, canDeliver: () => true, ...options });
      relays.push(relay);
      return relay;
    };

    async function commit(relay, owner, chartId, seq) {
      const outbox = messages(chartId, seq);
      assert.equal((await store.commitTransition({ record: record(chartId, seq), expectedSeq: seq - 1, schedule: [], cancel: [], outbox, outboxOwner: owner })).result, 'committed');
      relay?.committed(chartId, seq, outbox);
    }
    const left = async () => Number((await store.query(`select count(*) as n from "${config.schema}".outbox`)).rows[0].n);

    it('holds messages while they cannot be delivered, then sends them in order per chart and forgets them', async () => {
      let connected = false;
      const out = recorder();
      const relay = relayOf('A', { deliver: out.deliver, canDeliver: () => connected });
      await relay.start();
      for (let seq = 1; seq <= 3; seq++) for (const chartId of ['a', 'b']) await commit(relay, 'A', chartId, seq);
      assert.equal(out.attempts, 0, 'nothing goes out while disconnected');
      assert.equal(await left(), 6);
      connected = true;
      await out.has('a:3', 'b:3');
      for (const chartId of ['a', 'b']) assert.deepEqual(out.ids.filter((id) => id.startsWith(chartId)), [1, 2, 3].map((s) => `${chartId}:${s}`));
      await commit(relay, 'A', 'a', 4);
      await out.has('a:4');
      assert.deepEqual(out.ids.filter((id) => id.startsWith('a')), ['a:1', 'a:2', 'a:3', 'a:4']);
      await relay.drained();
      assert.equal(await left(), 0, 'delivered transitions are forgotten');
    });

    it('keeps what was not delivered; the next run under the same owner sends it at once', async () => {
      const refused = recorder({ fail: () => true });
      const first = relayOf('A', { deliver: refused.deliver });
      await first.start();
      await commit(first, 'A', 'c', 1);
      await refused.until(() => refused.attempts >= 1);
      await first.stop(1000);
      assert.equal(await left(), 1, 'and kept what was not acknowledged');
      const out = recorder();
      const next = relayOf('A', { deliver: out.deliver });
      await next.start();
      await out.has('c:1');
      await next.drained();
      assert.equal(await left(), 0);
    });

    it("waits for another live relay's rows of a chart, and adopts them once its lease ran out", async () => {
      // Relay B committed d:1 and d:2, then stopped renewing (a process that died): its lease is 600 ms.
      await store.renewRelay('B', 600);
      await commit(undefined, 'B', 'd', 1);
      await commit(undefined, 'B', 'd', 2);
      const out = recorder();
      const relay = relayOf('A', { deliver: out.deliver });
      await relay.start();
      await commit(relay, 'A', 'd', 3);
      // A must not send d:3 before d:1 and d:2: it waits while B's lease runs, then adopts them.
      await out.has('d:1', 'd:2', 'd:3');
      assert.deepEqual(out.ids, ['d:1', 'd:2', 'd:3']);
      await relay.drained();
      assert.equal(await left(), 0);
    });

    it("keeps what makes a transition's messages, and makes them again as they were sent", async () => {
      // Context repeated in the state and in every action message, several actions, a value topic
      // per region: the row holds the state once and the actions' type and params.
      const definition = {
        id: 'M',
        type: 'parallel',
        context: { n: 0, note: 'x'.repeat(200) },
        states: {
          Door: { initial: 'shut', states: { shut: { on: { open: { target: 'open', actions: [{ type: 'assign', params: { n: { '+': [{ var: 'context.n' }, 1] } } }, { type: 'beep', params: { times: 2 } }, 'log'] } } }, open: {} } },
          Light: { initial: 'off', states: { off: {} } },
        },
      };
      const machine = compileMachine(definition);
      const version = await store.registerMachine(machine.id, machine.definition, machine.digest);
      const runtime = new ChartRuntime({ store, machines: new MachineVersions({ machine, version }, () => Promise.reject(new Error('one version')), compileMachine), topicPrefix: 'site/doors', create: true, strict: true, outboxOwner: 'A' });
      try {
        const outcome = await runtime.dispatch('d1', { type: 'open', id: 'e1' });
        assert.equal(outcome.kind, 'applied');
        const sent = outcome.messages;
        const rows = await store.readChartOutbox('M', ['d1'], 'A');
        const stored = await store.query(`select messages::text as text from "${config.schema}".outbox order by seq`);
        assert.deepEqual(rows.flatMap((row) => row.messages), JSON.parse(JSON.stringify(sent)), 'the same messages, in the same order');
        assert.ok(sent.some((m) => m.topic === 'site/doors/d1/action/beep' && m.payload.params.times === 2 && m.payload.context.n === 1));
        const messagesText = JSON.stringify(sent.filter((m) => m.xstate.seq === rows.at(-1).seq)).length;
        assert.ok(stored.rows.at(-1).text.length < messagesText / 2, `the row (${stored.rows.at(-1).text.length} characters) is less than half the messages (${messagesText})`);
      } finally {
        await runtime.idle();
        runtime.dispose();
      }
    });
  });
}

describe('outbox records', () => {
  it('make the messages of a transition again, notices included; rows of messages are read as they are', () => {
    const state = { chartId: 'c', machine: { id: 'M', version: 3 }, status: 'active', value: { Door: 'open' }, context: { n: 1 }, history: {}, metadata: { timestamp: 5, seq: 7, id: 'c:7' } };
    const values = [{ stateId: 'Door', payload: 'open' }];
    const actions = [{ type: 'beep', params: { times: 2 } }];
    const notice = errorMessage('p', { code: 'definition_incompatible', message: 'no' }, { chartId: 'c', machineId: 'M', machineVersion: 3, seq: 7, timestamp: 5 });
    const messages = outboxMessages({ ...JSON.parse(outboxRecordJson('p', values, actions, [notice])), state });
    assert.deepEqual(messages.map((m) => m.topic), ['p/c/state', 'p/c/value/Door', 'p/c/action/beep', 'p/c/error']);
    assert.deepEqual(messages[0].payload, state);
    assert.deepEqual(messages[2].payload, { type: 'beep', params: { times: 2 }, context: { n: 1 }, state: { value: { Door: 'open' }, context: { n: 1 } }, chartId: 'c', id: 'c:7:0' });
    assert.deepEqual(messages[3], JSON.parse(JSON.stringify(notice)));
    const old = [{ output: 0, topic: 't', payload: 1, retain: true, xstate: { chartId: 'c', machineId: 'M', machineVersion: 1, seq: 1, id: 'c:1' } }];
    assert.deepEqual(outboxMessages(old), old);
  });
});
