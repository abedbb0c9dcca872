'use strict';
// What the editor's sidebar is told of moving charts (Node-RED comms, `xstate-chart/{node}/{chart}`):
// the first change at once, then at most one update per interval per chart, the latest one. The
// clock is the test's: the ticker's work is called with the time it would see.
const assert = require('node:assert/strict');
const { LiveUpdates } = require('../dist/index.js');

function updates(intervalMs = 500) {
  const told = [];
  let now = 1000;
  const live = new LiveUpdates((topic, update) => told.push({ topic, ...update }), 'n1', intervalMs, () => now);
  return { live, told, at: (t) => (now = t), tick: (t) => live.tick((now = t)) };
}

const row = (chartId, seq) => ({ chartId, seq, value: 'A', status: 'active', version: 1, updatedAt: new Date(0).toISOString() });

describe('live updates to the editor', () => {
  it('tells the first change at once, then the latest of a burst once the interval is over', () => {
    const { live, told, at, tick } = updates();
    live.changed(row('c1', 1));
    assert.deepEqual(told.map((u) => [u.topic, u.seq]), [['xstate-chart/n1/c1', 1]]);
    for (let seq = 2; seq <= 1000; seq++) live.changed(row('c1', seq));
    at(1100);
    live.changed(row('c2', 1));
    tick(1499);
    assert.deepEqual(told.map((u) => `${u.chartId}:${u.seq}`), ['c1:1', 'c2:1']);
    tick(1500);
    assert.deepEqual(told.map((u) => `${u.chartId}:${u.seq}`), ['c1:1', 'c2:1', 'c1:1000']);
    live.close();
  });

  it('never tells one chart twice within an interval, and tells a chart that stayed still at once again', () => {
    const { live, told, at, tick } = updates();
    live.changed(row('c1', 1));
    at(1200);
    live.changed(row('c1', 2));
    tick(1500);
    at(1600);
    live.changed(row('c1', 3));
    // The window stays open one interval after the last update it told: seq 3 waits for 2000.
    tick(1750);
    assert.deepEqual(told.map((u) => u.seq), [1, 2]);
    tick(2000);
    assert.deepEqual(told.map((u) => u.seq), [1, 2, 3]);
    tick(2500);
    // Still for a whole interval: the window is closed and the next change goes at once.
    at(2600);
    live.changed(row('c1', 4));
    assert.deepEqual(told.map((u) => u.seq), [1, 2, 3, 4]);
    live.close();
  });

  it('says a deletion at once and drops the update that waited', () => {
    const { live, told, tick } = updates();
    live.changed(row('c1', 1));
    live.changed(row('c1', 2));
    live.deleted('c1');
    tick(5000);
    assert.deepEqual(told, [{ topic: 'xstate-chart/n1/c1', ...row('c1', 1) }, { topic: 'xstate-chart/n1/c1', chartId: 'c1', deleted: true }]);
    live.close();
  });

  it('tells what waited from its own ticker', async () => {
    const told = [];
    let delivered;
    const second = new Promise((resolve) => (delivered = resolve));
    const live = new LiveUpdates((topic, update) => told.push(update.seq) === 2 && delivered(), 'n1', 20);
    live.changed(row('c1', 1));
    live.changed(row('c1', 2));
    await second;
    assert.deepEqual(told, [1, 2]);
    live.close();
  });

  it('tells nothing of a change that lands after its node closed', () => {
    const { live, told } = updates();
    live.changed(row('c1', 1));
    live.close();
    live.changed(row('c2', 1));
    assert.deepEqual(told.map((u) => u.chartId), ['c1']);
  });
});
