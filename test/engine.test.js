'use strict';
// The engine's pure functions: definitions, steps, events and chart ids (no Node-RED, no store).
const assert = require('node:assert/strict');
const { compileMachine, initialStep, step, accepts, restoreSnapshot, chartStateOf, valuesOf, valueChanges, parseEvent, checkChartId, chartIdFromTopic, ChartError } = require('../dist/index.js');
const { seedText, marketplace, withHistory } = require('./fixtures/machines');

function definitionError(source) {
  try {
    compileMachine(source);
  } catch (err) {
    assert.ok(err instanceof ChartError, `expected a ChartError, got ${err}`);
    assert.equal(err.code, 'definition_invalid');
    return err.message;
  }
  assert.fail('the definition was accepted');
}

describe('engine: definitions', () => {
  it('reports the seed chart\'s unknown target by its full name, without a stack trace', () => {
    const message = definitionError(seedText);
    assert.match(message, /#MarketPlace\.Perform\.Initiate/);
    assert.match(message, /Negotiate\.Propose/);
    assert.match(message, /agree/);
    assert.doesNotMatch(message, /\n\s+at /);
  });

  it('names each kind of problem a person can fix', () => {
    assert.match(definitionError('{ "id": "x", '), /not valid JSON/);
    assert.match(definitionError('[]'), /JSON object/);
    assert.match(definitionError({ initial: 'a', states: { a: {} } }), /needs an "id"/);
    assert.match(definitionError({ id: 'm', initial: 'a', states: { a: { on: { go: 'nowhere' } } } }), /unknown target "nowhere"/);
    assert.match(definitionError({ id: 'm', initial: 'a', states: { a: { on: { go: '.child' } } } }), /has no child state "child"/);
    assert.match(definitionError({ id: 'm', initial: 'zz', states: { a: {} } }), /initial state "zz"/);
    assert.match(definitionError({ id: 'm', initial: 'a', states: { a: { on: { go: { target: 'a', guard: 'isReady' } } } } }), /guard "isReady" has no implementation/);
    assert.match(definitionError({ id: 'm', initial: 'a', states: { a: { after: { soon: 'a' } } } }), /delay "soon"/);
    assert.match(definitionError({ id: 'm', initial: 'a', states: { a: { invoke: { src: 'x' } } } }), /invoke/);
    assert.match(definitionError(JSON.parse('{"id":"m","initial":"a","states":{"a":{"__proto__":{"x":1}}}}')), /__proto__/);
  });

  it('accepts a valid machine and lists its compound and parallel states', () => {
    const machine = compileMachine(marketplace);
    assert.equal(machine.id, 'Workflow');
    assert.deepEqual(machine.valueStates.map((s) => s.stateId), ['Workflow', 'Negotiate', 'Perform']);
    assert.equal(compileMachine(JSON.stringify(marketplace)).digest, machine.digest, 'same definition, same digest');
  });
});

describe('engine: steps', () => {
  it('computes the next state and the external actions without running them', () => {
    const machine = compileMachine(marketplace);
    const initial = initialStep(machine);
    assert.deepEqual(initial.snapshot.value, { Negotiate: 'Propose' });
    assert.equal(accepts(machine, initial.snapshot, { type: 'reject' }), true);
    assert.equal(accepts(machine, initial.snapshot, { type: 'unheard_of' }), false);
    const next = step(machine, initial.snapshot, { type: 'reject' });
    assert.deepEqual(next.snapshot.value, { Negotiate: 'Reject' });
    assert.deepEqual(next.actions, [{ type: 'rejectOffer', params: { rejected: 'datetime' } }]);
    const agreed = step(machine, initial.snapshot, { type: 'agree' });
    assert.deepEqual(agreed.snapshot.value, { Perform: 'Initiate' });
    assert.deepEqual(agreed.actions, [{ type: 'Underway', params: {} }]);
  });

  it('restores a JSON round-tripped snapshot exactly, history included', () => {
    const machine = compileMachine(withHistory);
    let snapshot = initialStep(machine).snapshot;
    snapshot = step(machine, snapshot, { type: 'next' }).snapshot;
    const paused = step(machine, snapshot, { type: 'pause' });
    const state = chartStateOf(machine, paused.snapshot, { chartId: 'c1', version: 1, seq: 2, timestamp: 5 });
    assert.deepEqual(state.history, { Work: { current: 'Run', states: {} } });
    assert.deepEqual(state.metadata, { timestamp: 5, seq: 2, id: 'c1:2' });
    const restored = restoreSnapshot(machine, JSON.parse(JSON.stringify(paused.persisted)));
    assert.deepEqual(step(machine, restored, { type: 'resume' }).snapshot.value, { Work: 'Run' });
  });

  it('persists a snapshot as XState does (same JSON), through history, parallel and final states', () => {
    const parallelToFinal = {
      id: 'Cell',
      type: 'parallel',
      context: { count: 0, tags: ['a'] },
      states: {
        Door: { initial: 'Shut', states: { Shut: { on: { open: 'Open' } }, Open: { on: { shut: 'Shut' } } } },
        Run: { initial: 'Idle', states: { Idle: { on: { go: 'Done' } }, Done: { type: 'final' } } },
      },
    };
    const walks = [
      [withHistory, ['next', 'pause', 'resume', 'pause']],
      [marketplace, ['reject', 'agree']],
      [parallelToFinal, ['open', 'go', 'shut']],
      [{ id: 'Job', initial: 'Run', context: { n: 1 }, states: { Run: { on: { end: 'Ended' } }, Ended: { type: 'final' } }, output: { done: true } }, ['end']],
    ];
    for (const [definition, events] of walks) {
      const machine = compileMachine(definition);
      let current = initialStep(machine);
      const seen = [current];
      for (const type of events) {
        if (accepts(machine, current.snapshot, { type })) seen.push((current = step(machine, current.snapshot, { type })));
      }
      assert.ok(seen.length > events.length / 2, `${definition.id}: most events were accepted`);
      for (const { snapshot, persisted } of seen) {
        assert.equal(JSON.stringify(persisted), JSON.stringify(machine.logic.getPersistedSnapshot(snapshot)), `${definition.id} at ${JSON.stringify(snapshot.value)}`);
      }
    }
  });

  it('publishes the values of active compound states, and empties those that became inactive', () => {
    const machine = compileMachine(marketplace);
    const before = valuesOf(machine.valueStates, { Negotiate: 'Propose' });
    assert.deepEqual([...before], [['Workflow', '{"Negotiate":"Propose"}'], ['Negotiate', 'Propose']]);
    const after = valuesOf(machine.valueStates, { Perform: 'Initiate' });
    assert.deepEqual(valueChanges(before, after), [
      { stateId: 'Workflow', payload: '{"Perform":"Initiate"}' },
      { stateId: 'Perform', payload: 'Initiate' },
      { stateId: 'Negotiate', payload: '' },
    ]);
  });
});

describe('engine: events and chart ids', () => {
  const invalid = (payload) => {
    try {
      parseEvent(payload);
    } catch (err) {
      assert.equal(err.code, 'invalid_event');
      return err.message;
    }
    assert.fail(`accepted ${JSON.stringify(payload)}`);
  };

  it('takes objects, JSON text, buffers and plain event types', () => {
    assert.deepEqual(parseEvent({ type: 'go', data: { a: 1 }, id: 'e1' }), { type: 'go', data: { a: 1 }, id: 'e1' });
    assert.deepEqual(parseEvent('{"type":"go"}'), { type: 'go' });
    assert.deepEqual(parseEvent(Buffer.from('{"type":"go","id":"x"}')), { type: 'go', id: 'x' });
    assert.deepEqual(parseEvent('reject'), { type: 'reject' });
    // Text that is not JSON is the type, even when it starts like a number or a literal.
    assert.deepEqual(parseEvent('1st'), { type: '1st' });
    assert.deepEqual(parseEvent(Buffer.from('2fa-ok')), { type: '2fa-ok' });
    assert.deepEqual(parseEvent('-5dB'), { type: '-5dB' });
    assert.deepEqual(parseEvent('trueColor'), { type: 'trueColor' });
    assert.deepEqual(parseEvent('nullify'), { type: 'nullify' });
  });

  it('rejects malformed, typeless, reserved, unsafe and oversized events', () => {
    assert.match(invalid('{"type":'), /not valid JSON/);
    assert.match(invalid({ data: 1 }), /no string "type"/);
    assert.match(invalid('42'), /JSON object/);
    assert.match(invalid('-1.5e3'), /JSON object/);
    assert.match(invalid('true'), /JSON object/);
    assert.match(invalid('null'), /JSON object/);
    assert.match(invalid('"go"'), /JSON object/);
    assert.match(invalid(''), /empty/);
    assert.match(invalid({ type: 'xstate.after.1000.x' }), /reserved/);
    assert.match(invalid('{"type":"go","data":{"__proto__":{"polluted":true}}}'), /__proto__/);
    assert.match(invalid(Buffer.from([0x7b, 0xff, 0xfe])), /UTF-8/);
    assert.match(invalid({ type: 'go', data: 'x'.repeat(300 * 1024) }), /limit is 262144/);
    assert.match(invalid({ type: 'go', id: 7 }), /"id"/);
    let deep = { type: 'go' };
    for (let i = 0; i < 100; i++) deep = { type: 'go', data: deep };
    assert.match(invalid(deep), /nesting/);
    assert.equal({}.polluted, undefined);
  });

  it('checks chart ids and reads them from topics', () => {
    assert.equal(checkChartId('order-42:a_b.c'), 'order-42:a_b.c');
    for (const bad of ['', 'a/b', 'a+b', 'a#b', 'x'.repeat(129), 'é', 42]) {
      assert.throws(() => checkChartId(bad), (err) => err.code === 'invalid_event');
    }
    assert.equal(chartIdFromTopic('xstate/chart/order-42/event', 'xstate/chart'), 'order-42');
    assert.equal(chartIdFromTopic('other/order-42/event', 'xstate/chart'), undefined);
    assert.equal(chartIdFromTopic('xstate/chart/a/b/event', 'xstate/chart'), 'a/b');
  });
});

describe('engine: acceptance, data access and user code', () => {
  const { stepIfAccepted, echoOf } = require('../dist/index.js');
  const { execFileSync } = require('node:child_process');

  it('tells an accepted event (a targetless transition with no actions included) from one no state takes, guards run once', () => {
    let guardCalls = 0;
    const machine = compileMachine(
      { id: 'm', initial: 'a', states: { a: { on: { ping: {}, go: { target: 'b', guard: 'counted' } } }, b: {} } },
      { implementations: { guards: { counted: () => ++guardCalls > 0 } } },
    );
    const { snapshot } = initialStep(machine);
    assert.ok(stepIfAccepted(machine, snapshot, { type: 'ping' }), 'a targetless transition accepts its event');
    assert.equal(stepIfAccepted(machine, snapshot, { type: 'nope' }), undefined);
    const next = stepIfAccepted(machine, snapshot, { type: 'go' });
    assert.equal(next.snapshot.value, 'b');
    assert.equal(guardCalls, 1, 'the guard ran once for the accepted event');
  });

  it('reads only data through JSON Logic var, however the path is built', () => {
    const machine = compileMachine({
      id: 'm',
      initial: 'a',
      context: { n: 2 },
      states: { a: { on: { go: { target: 'a', actions: { type: 'assign', params: { f: { var: { cat: ['context.', { var: 'event.data.key' }] } }, n2: { var: 'context.n' } } } } } } },
    });
    const { snapshot } = initialStep(machine);
    const next = stepIfAccepted(machine, snapshot, { type: 'go', data: { key: 'constructor' } });
    assert.equal(next.snapshot.context.f, null, 'an inherited member is not data');
    assert.equal(next.snapshot.context.n2, 2);
  });

  it('runs functions given to raise and sendTo, and promise callbacks, under the timeout', () => {
    // In a process of its own: Node's vm corrupts its async-hook stack when a timeout ends a promise
    // callback while async hooks are on (nodejs/node#38503), and something in this test process
    // turns them on. Node-RED does not.
    const script = `
      const { compileJavaScript, compileMachine, initialStep, stepIfAccepted } = require(${JSON.stringify(require.resolve('../dist/index.js'))});
      const implementations = compileJavaScript(\`return { actions: {
        loopInRaise: raise(() => { for (;;) {} }),
        loopInPromise: () => { Promise.resolve().then(() => { for (;;) {} }); },
      } };\`, { timeoutMs: 50 });
      const machine = compileMachine({ id: 'm', initial: 'a', states: { a: { on: { r: { actions: 'loopInRaise' }, p: { actions: 'loopInPromise' } } } } }, { implementations });
      const { snapshot } = initialStep(machine);
      for (const type of ['r', 'p']) {
        try { stepIfAccepted(machine, snapshot, { type }); console.log(type, 'applied'); } catch (err) { console.log(type, err.code, err.message); }
      }
      setImmediate(() => console.log('still running'));`;
    const output = execFileSync(process.execPath, ['-e', script], { encoding: 'utf8', timeout: 20000 }).trim().split('\n');
    assert.equal(output.length, 3, output.join('\n'));
    for (const line of output.slice(0, 2)) assert.match(line, /^[rp] implementation_error .*longer than 50 ms/);
    assert.equal(output[2], 'still running');
  });

  it('echoes refused input in full when short, cut to 1 KiB and flagged when long, described when it cannot be serialized', () => {
    assert.deepEqual(echoOf({ type: 'x' }), { event: { type: 'x' } });
    const long = echoOf('y'.repeat(5000));
    assert.equal(long.event.length, 1024);
    assert.equal(long.truncated, true);
    let deep = {};
    for (let i = 0; i < 20000; i++) deep = { a: deep };
    assert.equal(echoOf(deep).truncated, true);
    assert.equal(typeof echoOf(deep).event, 'string');
  });
});
