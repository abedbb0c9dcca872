'use strict';
// The editor diagram's model: a machine definition read as states and transitions, without a browser.
// It runs the built browser bundle (resources/xstate-diagram.js) in a bare VM context: no window, no DOM.
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const vm = require('node:vm');
const { createMachine } = require('xstate');
const { compileMachine } = require('../dist/index.js');
const { seedText, marketplace, withHistory } = require('./fixtures/machines');
const { kitchen, expectedDiagram } = require('./fixtures/diagram');

function loadBundle() {
  const context = vm.createContext({});
  vm.runInContext(fs.readFileSync(path.join(__dirname, '..', 'resources', 'xstate-diagram.js'), 'utf8'), context);
  return context.XStateDiagram;
}
const { graphModel, activePaths, formatDelay, delayLabel } = loadBundle();

/** Plain data out of the VM (its objects have the VM's prototypes, which deepEqual tells apart). */
const plain = (value) => JSON.parse(JSON.stringify(value));
const model = (definition) => plain(graphModel(definition));
const targetsOf = (m, key) => m.transitions.filter((t) => t.key === key).map((t) => t.targets.map((target) => target.path));

/** Source and target paths of every transition, as XState itself resolves them. */
function xstateEdges(definition) {
  const edges = [];
  const walk = (node) => {
    const source = node.path.join('.');
    for (const list of node.transitions.values()) for (const t of list) edges.push(`${source} -> ${(t.target ?? []).map((s) => s.path.join('.')).join(',')}`);
    for (const t of node.always ?? []) edges.push(`${source} -> ${(t.target ?? []).map((s) => s.path.join('.')).join(',')}`);
    for (const child of Object.values(node.states)) walk(child);
  };
  walk(createMachine(definition).root);
  return edges.sort();
}
const ourEdges = (m) => m.transitions.map((t) => `${t.source} -> ${t.targets.map((target) => target.path).join(',')}`).sort();

describe('editor diagram: definition → model', () => {
  it('reads the seed chart: six states, three transitions, the #MarketPlace target unresolved', () => {
    const m = model(seedText);
    assert.equal(m.id, 'Workflow');
    assert.deepEqual(
      m.states.map((s) => [s.path, s.kind]),
      [['', 'compound'], ['Negotiate', 'compound'], ['Negotiate.Propose', 'atomic'], ['Negotiate.Reject', 'final'], ['Perform', 'compound'], ['Perform.Initiate', 'atomic']],
    );
    assert.deepEqual(m.states.map((s) => s.initial ?? null), ['Negotiate', 'Negotiate.Propose', null, null, 'Perform.Initiate', null]);
    assert.deepEqual(m.transitions.map((t) => [t.key, t.label]), [
      ['Negotiate.Propose:reject', 'reject'],
      ['Negotiate.Propose:counter_offer', 'counter_offer'],
      ['Negotiate.Propose:agree', 'agree'],
    ]);
    assert.deepEqual(m.transitions[2].targets, [{ text: '#MarketPlace.Perform.Initiate', path: null }]);
    assert.deepEqual(targetsOf(m, 'Negotiate.Propose:reject'), [['Negotiate.Reject']]);
    assert.deepEqual(targetsOf(m, 'Negotiate.Propose:counter_offer'), [['Negotiate.Propose']]);
    assert.deepEqual(m.states[3].entry, ['rejectOffer']);
  });

  it('resolves every target of the example, history and kitchen charts as XState does', () => {
    for (const definition of [marketplace, withHistory, kitchen]) {
      assert.deepEqual(ourEdges(model(definition)), xstateEdges(definition), definition.id);
    }
    assert.deepEqual(targetsOf(model(marketplace), 'Negotiate.Propose:agree'), [['Perform.Initiate']]);
  });

  it('reads the kitchen chart: parallel regions, deep history, delays, always, onDone, guards, forks and self-loops', () => {
    compileMachine(kitchen); // the engine accepts it, so the diagram shows a real machine
    const m = model(kitchen);
    const expected = expectedDiagram(kitchen);
    assert.deepEqual(m.states.map((s) => s.path), expected.states);
    assert.deepEqual(m.transitions.map((t) => t.key).sort(), [...expected.transitions].sort());
    const byPath = Object.fromEntries(m.states.map((s) => [s.path, s]));
    assert.equal(byPath.Cooking.kind, 'parallel');
    assert.deepEqual(byPath['Cooking.hist'], { path: 'Cooking.hist', key: 'hist', parent: 'Cooking', kind: 'history', history: 'deep', children: [], entry: [], exit: [] });
    assert.deepEqual([byPath.Cooking.entry, byPath.Cooking.exit], [['startClock'], ['stopClock']]);
    assert.equal(byPath.Cooking.initial, undefined, 'a parallel state has no initial state');
    const labels = m.transitions.map((t) => `${t.key} = ${t.label}`);
    for (const label of [
      'Idle:order = order [expr]',
      'Idle:order = order',
      'Cooking.Oven.Preheat:after 2s = after 2s',
      'Cooking.Oven.Baking:after PT5M = after PT5M',
      'Paused:after 1.5s = after 1.5s',
      'Serving:always = always [expr]',
      'Serving:always = always',
      'Cooking:onDone = onDone',
    ]) {
      assert.ok(labels.includes(label), `${label} in ${JSON.stringify(labels)}`);
    }
    assert.deepEqual(targetsOf(m, 'Cooking:restart'), [['Cooking.Oven.Preheat', 'Cooking.Plates.Empty']], 'one transition, two targets');
    assert.deepEqual(targetsOf(m, 'Paused:ping'), [[]], 'targetless');
    assert.deepEqual(m.transitions.find((t) => t.key === 'Paused:ping').actions, ['pong']);
    assert.deepEqual(targetsOf(m, 'Paused:resume'), [['Cooking.hist']]);
    assert.deepEqual(targetsOf(m, 'Cooking.Oven.Baking:burn'), [['Closed']]);
  });

  it('resolves #id, #id.path, .child and sibling.path, and leaves what XState could not resolve unresolved', () => {
    const definition = {
      id: 'm',
      initial: 'a',
      on: { top: '.a.deep', bad: 'a' },
      states: {
        a: {
          id: 'custom',
          initial: 'deep',
          on: { child: '.deep', sibling: 'b.inner', byId: '#custom.deep', root: '#m', defaultId: '#m.b.inner', selfById: '#custom', gone: 'b.nothing', nowhere: '#nope' },
          states: { deep: { on: { up: '#m.b', parentSibling: 'a.deep' } } },
        },
        b: { initial: 'inner', states: { inner: {} } },
      },
    };
    const m = model(definition);
    const resolved = Object.fromEntries(m.transitions.map((t) => [t.key, t.targets[0]?.path]));
    assert.deepEqual(resolved, {
      ':top': 'a.deep',
      ':bad': null,
      'a:child': 'a.deep',
      'a:sibling': 'b.inner',
      'a:byId': 'a.deep',
      'a:root': '',
      'a:defaultId': 'b.inner',
      'a:selfById': 'a',
      'a:gone': null,
      'a:nowhere': null,
      'a.deep:up': 'b',
      'a.deep:parentSibling': null,
    });
    const resolvable = JSON.parse(JSON.stringify(definition));
    delete resolvable.on.bad;
    delete resolvable.states.a.on.gone;
    delete resolvable.states.a.on.nowhere;
    delete resolvable.states.a.states.deep.on.parentSibling;
    assert.deepEqual(ourEdges(model(resolvable)), xstateEdges(resolvable), 'the same answers as XState');
  });

  it('gives one transition per entry of a guarded array, with the guard in brackets, and accepts the * wildcard', () => {
    const m = model({
      id: 'm',
      initial: 'a',
      states: {
        a: { on: { submit: [{ target: 'b', guard: 'isValid' }, { target: 'c', guard: { type: 'expr', params: true } }, 'a'], '*': 'c' } },
        b: {},
        c: {},
      },
    });
    assert.deepEqual(m.transitions.map((t) => [t.key, t.label, t.guard ?? null]), [
      ['a:submit', 'submit [isValid]', 'isValid'],
      ['a:submit', 'submit [expr]', 'expr'],
      ['a:submit', 'submit', null],
      ['a:*', '*', null],
    ]);
  });

  it('writes delays as people do: the largest unit that divides exactly, ISO 8601 and names as written', () => {
    const cases = { 500: '500ms', 2000: '2s', 1500: '1.5s', 300000: '5m', 7200000: '2h', 90000: '90s', 0: '0ms', 1: '1ms', 3600000: '1h', 5400000: '90m', 1234: '1.234s' };
    for (const [ms, text] of Object.entries(cases)) assert.equal(formatDelay(Number(ms)), text, `${ms} ms`);
    assert.equal(delayLabel('2000'), 'after 2s');
    assert.equal(delayLabel('PT5M'), 'after PT5M');
    assert.equal(delayLabel('grace'), 'after grace');
    const m = model({ id: 'm', initial: 'w', states: { w: { after: { 500: 'w', PT5M: 'w', grace: 'w', 120000: ['w', 'w'] } } } });
    assert.deepEqual(m.transitions.map((t) => t.key), ['w:after 500ms', 'w:after 2m', 'w:after 2m', 'w:after PT5M', 'w:after grace']);
  });

  it('never throws on a half-typed definition: it reads what it can', () => {
    const junk = [
      '',
      '{ "id": "m", "states": { "a": ',
      'null',
      null,
      undefined,
      42,
      [],
      { states: 5 },
      { on: 'x', after: [1], always: 7, onDone: null, states: { a: null, b: 'text', c: [] } },
      { id: 'm', initial: 'a', states: { a: { on: { x: [null, 5, 'a', { target: 7 }, { target: ['a', 3] }], y: {} }, entry: [3, 'ok', { type: 'named' }] } } },
      { id: 7, initial: { target: 'a' }, states: { a: { type: 'history', history: 'deep', on: { x: 'a' } } } },
      JSON.parse('{"id":"m","states":{"__proto__":{"on":{"x":"y"}}}}'),
    ];
    for (const definition of junk) {
      const m = model(definition);
      assert.equal(m.states[0].path, '', `the root is always there: ${JSON.stringify(definition)}`);
    }
    assert.deepEqual(model('{ "id": "m", "states": { "a": ').states.length, 1);
    assert.equal(model({ id: 7 }).id, '(machine)');
    const partial = model(junk[9]);
    assert.deepEqual(partial.states[1].entry, ['ok', 'named']);
    assert.deepEqual(partial.transitions.map((t) => [t.key, t.targets.map((target) => target.path)]), [
      ['a:x', []],
      ['a:x', []],
      ['a:x', ['a']],
      ['a:x', []],
      ['a:x', ['a']],
      ['a:y', []],
    ]);
  });

  it('lists the active states of a state value, the root included', () => {
    const m = graphModel(kitchen);
    const active = (value) => [...activePaths(m, value)].sort();
    assert.deepEqual(active('Idle'), ['', 'Idle']);
    assert.deepEqual(active({ Cooking: { Oven: 'Baking', Plates: 'Empty' } }), ['', 'Cooking', 'Cooking.Oven', 'Cooking.Oven.Baking', 'Cooking.Plates', 'Cooking.Plates.Empty']);
    assert.deepEqual(active({ Cooking: { Oven: 'Nope', Gone: 'x' } }), ['', 'Cooking', 'Cooking.Oven']);
    assert.deepEqual(active(null), []);
    assert.deepEqual([...activePaths(graphModel(seedText), { Negotiate: 'Propose' })].sort(), ['', 'Negotiate', 'Negotiate.Propose']);
  });
});
