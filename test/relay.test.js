'use strict';
// The outbox relay's rules with an in-memory store that follows the SQL's contract (rows with an
// owner, relays with leases): a failed send, sends never acknowledged, more rows than a batch,
// another relay's rows, a dead relay's rows. Runs without a database so that failures can be
// placed exactly; test/outbox.test.js runs the relay on the real stores.
const assert = require('node:assert/strict');
const { OutboxRelay, DeliveryTimeout } = require('../dist/index.js');

class MemoryOutbox {
  constructor() {
    this.rows = []; // { chartId, seq, messages, owner }
    this.leases = new Map(); // owner → alive until (ms)
  }

  add(chartId, seq, owner) {
    this.rows.push({ chartId, seq, owner, messages: messages(chartId, seq) });
  }

  alive(owner) {
    return owner !== null && (this.leases.get(owner) ?? 0) > Date.now();
  }

  async readChartOutbox(machineId, chartIds, owner) {
    return this.rows
      .filter((r) => chartIds.includes(r.chartId))
      .sort((a, b) => (a.chartId === b.chartId ? a.seq - b.seq : a.chartId < b.chartId ? -1 : 1))
      .map((r) => ({ ...r, mine: r.owner === owner, orphaned: r.owner !== owner && !this.alive(r.owner) }));
  }

  async adoptOutbox(machineId, chartIds, owner) {
    const adopted = new Set();
    for (const r of this.rows) {
      if (chartIds.includes(r.chartId) && r.owner !== owner && !this.alive(r.owner)) {
        r.owner = owner;
        adopted.add(`${r.chartId}:${r.seq}`);
      }
    }
    return adopted;
  }

  async scanOutboxCharts(machineId, owner, includeMine, after, limit) {
    const ids = new Set(this.rows.filter((r) => r.chartId > after && ((r.owner === owner && includeMine) || (r.owner !== owner && !this.alive(r.owner)))).map((r) => r.chartId));
    return [...ids].sort().slice(0, limit);
  }

  async clearOutbox(machineId, delivered) {
    const gone = new Set(delivered.map((d) => `${d.chartId}:${d.seq}`));
    this.rows = this.rows.filter((r) => !gone.has(`${r.chartId}:${r.seq}`));
  }

  async renewRelay(owner, leaseMs) {
    this.leases.set(owner, Date.now() + leaseMs);
  }

  async retireRelay(owner) {
    this.leases.delete(owner);
  }
}

function messages(chartId, seq) {
  return [{ output: 0, topic: `t/${chartId}/state`, payload: { seq }, retain: true, xstate: { chartId, machineId: 'M', machineVersion: 1, seq, id: `${chartId}:${seq}` } }];
}

/**
 * A destination that records every attempt and every success, answers each attempt as `answer`
 * says (resolve, or throw), and lets a test await a number of successes.
 */
function destination(answer = () => undefined) {
  const d = { attempts: [], delivered: [], waiters: [] };
  d.deliver = async (batch) => {
    const ids = batch.map((m) => [m.xstate.chartId, m.xstate.seq]);
    d.attempts.push(ids);
    await answer(d.attempts.length, ids);
    d.delivered.push(...ids);
    for (const w of d.waiters.splice(0)) w();
  };
  d.until = (predicate) =>
    new Promise((resolve) => {
      const check = () => (predicate(d) ? resolve() : d.waiters.push(check));
      check();
    });
  return d;
}

/**
 * Every attempt sends, per chart, the oldest seq not yet delivered (or given up) first, then the
 * ones after it in order.
 */
function assertOrdered(d) {
  const deliveredUpTo = new Map();
  let success = 0;
  for (const attempt of d.attempts) {
    if (attempt.gaveUp) {
      deliveredUpTo.set(attempt.gaveUp.chartId, attempt.gaveUp.seq);
      continue;
    }
    const byChart = new Map();
    for (const [chartId, seq] of attempt) byChart.set(chartId, [...(byChart.get(chartId) ?? []), seq]);
    for (const [chartId, seqs] of byChart) {
      const last = deliveredUpTo.get(chartId) ?? 0;
      assert.ok(seqs[0] <= last + 1, `${chartId}: seq ${seqs[0]} sent while ${last + 1} was not delivered`);
      seqs.forEach((seq, i) => i > 0 && assert.equal(seq, seqs[i - 1] + 1, `${chartId}: a hand-over is in seq order`));
    }
    // Successes are recorded in attempt order: advance what is delivered by this attempt if it succeeded.
    const succeeded = d.delivered.slice(success, success + attempt.length);
    if (succeeded.length === attempt.length && succeeded.every(([c, s], i) => c === attempt[i][0] && s === attempt[i][1])) {
      success += attempt.length;
      for (const [chartId, seq] of attempt) deliveredUpTo.set(chartId, Math.max(deliveredUpTo.get(chartId) ?? 0, seq));
    }
  }
}

const seqsOf = (list, chartId) => list.filter(([c]) => c === chartId).map(([, s]) => s);

/** A promise and the function that resolves it: a gate a test opens when it is ready. */
function gate() {
  let open;
  const opened = new Promise((resolve) => (open = resolve));
  return { open, opened };
}

/** A destination whose first send fails once `release` resolves; `reached` resolves when that send arrived. */
function failingFirstSend(release) {
  const reached = gate();
  const d = destination(async (n) => {
    if (n === 1) {
      reached.open();
      await release;
      throw new Error('broker refused');
    }
  });
  return { d, reached: reached.opened };
}

describe('outbox relay rules (in-memory store)', function () {
  this.timeout(20000);
  let relays = [];
  const relay = (options) => {
    const r = new OutboxRelay({ machineId: 'M', retryMs: 10, leaseMs: 400, canDeliver: () => true, ...options });
    relays.push(r);
    return r;
  };
  afterEach(async () => {
    for (const r of relays.splice(0)) await r.stop(100);
  });

  it('a failed send puts the chart back to the store: the newer transition waits, then both go in order', async () => {
    const store = new MemoryOutbox();
    // The first send (a:1) is answered with a failure only once a:2 was committed meanwhile.
    const committedA2 = gate();
    const { d, reached } = failingFirstSend(committedA2.opened);
    const r = relay({ store, owner: 'A', deliver: d.deliver });
    await r.start();
    store.add('a', 1, 'A');
    r.committed('a', 1, messages('a', 1));
    await reached;
    store.add('a', 2, 'A');
    r.committed('a', 2, messages('a', 2));
    committedA2.open();
    await d.until((x) => seqsOf(x.delivered, 'a').includes(2));
    await r.drained();
    assert.deepEqual(d.attempts[0], [['a', 1]]);
    assert.deepEqual(d.attempts[1], [['a', 1], ['a', 2]], 'a:2 waited for a:1, which went again first');
    assert.deepEqual(seqsOf(d.delivered, 'a'), [1, 2]);
    assertOrdered(d);
    assert.equal(store.rows.length, 0, 'nothing left behind');
  });

  it('after a failed send, sends again only what the store still has: a row delivered meanwhile elsewhere is not sent again', async () => {
    const store = new MemoryOutbox();
    // The first send (b:1) fails, once its row was delivered and cleared by another process meanwhile.
    const clearedElsewhere = gate();
    const { d, reached } = failingFirstSend(clearedElsewhere.opened);
    const r = relay({ store, owner: 'A', deliver: d.deliver });
    await r.start();
    store.add('b', 1, 'A');
    r.committed('b', 1, messages('b', 1));
    await reached;
    await store.clearOutbox('M', [{ chartId: 'b', seq: 1 }]);
    clearedElsewhere.open();
    await r.drained();
    store.add('b', 2, 'A');
    r.committed('b', 2, messages('b', 2));
    await d.until((x) => seqsOf(x.delivered, 'b').includes(2));
    await r.drained();
    assert.deepEqual(d.attempts, [[['b', 1]], [['b', 2]]], 'b:1 was not sent again: the store no longer had it');
    assert.equal(store.rows.length, 0);
  });

  it('sends never acknowledged are retried, then reported and given up; the chart goes on', async () => {
    const store = new MemoryOutbox();
    const gaveUp = [];
    // b's first transition is never acknowledged; everything else is.
    const d = destination((n, ids) => {
      if (ids.some(([c, s]) => c === 'b' && s === 1)) throw new DeliveryTimeout();
    });
    const r = relay({
      store,
      owner: 'A',
      deliver: d.deliver,
      maxTimeouts: 3,
      onGiveUp: (entry) => {
        gaveUp.push(entry);
        d.attempts.push(Object.assign([], { gaveUp: entry }));
      },
    });
    await r.start();
    for (const [chartId, seq] of [['b', 1], ['c', 1], ['b', 2], ['c', 2]]) {
      store.add(chartId, seq, 'A');
      r.committed(chartId, seq, messages(chartId, seq));
    }
    await r.drained();
    assert.deepEqual(gaveUp, [{ chartId: 'b', seq: 1 }], 'reported once, after 3 tries');
    assert.equal(d.attempts.filter((a) => !a.gaveUp && a.some(([c, s]) => c === 'b' && s === 1)).length, 3);
    assert.deepEqual(seqsOf(d.delivered, 'c'), [1, 2]);
    assert.deepEqual(seqsOf(d.delivered, 'b'), [2], 'b:2 went out only after b:1 was given up');
    assertOrdered(d);
    assert.equal(store.rows.length, 0);
  });

  it('a batch unacknowledged past the wait is sent again in order, with the rows after it; nothing is left', async () => {
    const store = new MemoryOutbox();
    // An earlier run of this relay left 3 charts × 40 transitions: more than a batch (25).
    for (const chartId of ['x', 'y', 'z']) for (let seq = 1; seq <= 40; seq++) store.add(chartId, seq, 'A');
    let timeouts = 0;
    const d = destination((n) => {
      if (n <= 4) {
        timeouts++;
        throw new DeliveryTimeout();
      }
    });
    const r = relay({ store, owner: 'A', deliver: d.deliver, batch: 25 });
    await r.start();
    await d.until((x) => ['x', 'y', 'z'].every((c) => seqsOf(x.delivered, c).includes(40)));
    await r.drained();
    assert.equal(timeouts, 4);
    for (const chartId of ['x', 'y', 'z']) {
      const seqs = [...new Set(seqsOf(d.delivered, chartId))];
      assert.deepEqual(seqs, Array.from({ length: 40 }, (_, i) => i + 1), chartId);
    }
    assertOrdered(d);
    assert.equal(store.rows.length, 0, 'every row past the first batch went out too');
  });

  it('waits for the older rows of another live relay, and adopts those of a dead one', async () => {
    const store = new MemoryOutbox();
    await store.renewRelay('B', 60000); // B is alive and holds p:1
    store.add('p', 1, 'B');
    store.add('q', 1, 'C'); // C never renewed: dead
    store.add('q', 2, 'C');
    const d = destination();
    const r = relay({ store, owner: 'A', deliver: d.deliver });
    await r.start();
    store.add('p', 2, 'A');
    r.committed('p', 2, messages('p', 2));
    await d.until((x) => seqsOf(x.delivered, 'q').includes(2));
    assert.deepEqual(seqsOf(d.delivered, 'q'), [1, 2], "a dead relay's rows are adopted and sent in order");
    assert.deepEqual(seqsOf(d.delivered, 'p'), [], 'p:2 waits while p:1 belongs to a live relay');
    // B delivers p:1 and clears it: p:2 goes.
    await store.clearOutbox('M', [{ chartId: 'p', seq: 1 }]);
    await d.until((x) => seqsOf(x.delivered, 'p').includes(2));
    await r.drained();
    assert.deepEqual(seqsOf(d.delivered, 'p'), [2]);
    assert.equal(store.rows.length, 0);
  });

  it('reads a chart it has not seen from the store first, unless its commit saw no earlier rows', async () => {
    const store = new MemoryOutbox();
    const reads = [];
    const read = store.readChartOutbox.bind(store);
    store.readChartOutbox = (machineId, chartIds, owner) => {
      reads.push(...chartIds);
      return read(machineId, chartIds, owner);
    };
    await store.renewRelay('B', 60000); // B is alive and still holds k:4
    store.add('k', 4, 'B');
    const d = destination();
    const r = relay({ store, owner: 'A', deliver: d.deliver });
    await r.start();
    await r.drained();
    reads.length = 0;
    // j:7, a chart whose earlier transitions are all delivered (the commit saw none of their rows).
    store.add('j', 7, 'A');
    r.committed('j', 7, messages('j', 7), false);
    // k:5, behind a row the commit saw: read first, and it waits for B's k:4.
    store.add('k', 5, 'A');
    r.committed('k', 5, messages('k', 5), true);
    await d.until((x) => seqsOf(x.delivered, 'j').includes(7));
    assert.deepEqual(reads, ['k'], 'j was sent without a read of its outbox');
    assert.deepEqual(seqsOf(d.delivered, 'k'), [], 'k:5 waits while k:4 belongs to a live relay');
    await store.clearOutbox('M', [{ chartId: 'k', seq: 4 }]);
    await d.until((x) => seqsOf(x.delivered, 'k').includes(5));
    await r.drained();
    assert.equal(store.rows.length, 0);
  });

  it('holds everything while delivery is impossible, then sends in order', async () => {
    const store = new MemoryOutbox();
    let connected = false;
    const d = destination();
    const r = relay({ store, owner: 'A', deliver: d.deliver, canDeliver: () => connected });
    await r.start();
    for (let seq = 1; seq <= 5; seq++) {
      store.add('h', seq, 'A');
      r.committed('h', seq, messages('h', seq));
    }
    await new Promise((resolve) => setTimeout(resolve, 50)); // time must pass: nothing may go out meanwhile
    assert.equal(d.attempts.length, 0);
    connected = true;
    await d.until((x) => seqsOf(x.delivered, 'h').includes(5));
    await r.drained();
    assert.deepEqual(seqsOf(d.delivered, 'h'), [1, 2, 3, 4, 5]);
    assert.equal(store.rows.length, 0);
  });
});
