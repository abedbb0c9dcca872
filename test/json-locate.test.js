'use strict';
// The edit dialog's JSON path → line locator (and the sidebar's small text helpers), without a browser:
// the built editor bundle (resources/xstate-editor.js) run in a bare VM context, no window, no DOM.
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const vm = require('node:vm');
const { seedText } = require('./fixtures/machines');
const { kitchen } = require('./fixtures/diagram');

function loadBundle() {
  const context = vm.createContext({});
  vm.runInContext(fs.readFileSync(path.join(__dirname, '..', 'resources', 'xstate-editor.js'), 'utf8'), context);
  return context.XStateEditor;
}
const { locate, parsePath, stateLabel, eventFromText, eventLabel, duration } = loadBundle();
const plain = (value) => JSON.parse(JSON.stringify(value));

/** A JSON path as the validation writes it: plain names dotted, other keys quoted in brackets, indexes in brackets. */
function jsonPath(base, key) {
  if (typeof key === 'number') return `${base}[${key}]`;
  if (/^[A-Za-z0-9_$-]+$/.test(key)) return base ? `${base}.${key}` : key;
  return `${base}[${JSON.stringify(key)}]`;
}

/** Every path below a value, with the value's key (or index) last. */
function allPaths(value, base = '', out = []) {
  if (Array.isArray(value)) value.forEach((item, i) => (out.push({ path: jsonPath(base, i), key: i }), allPaths(item, jsonPath(base, i), out)));
  else if (value && typeof value === 'object') for (const [key, item] of Object.entries(value)) out.push({ path: jsonPath(base, key), key }), allPaths(item, jsonPath(base, key), out);
  return out;
}

const lineOf = (text, row) => text.split('\n')[row];

describe('JSON path → line locator', () => {
  it('reads paths: dotted names, indexes, quoted keys with dots and quotes', () => {
    assert.deepEqual(plain(parsePath('')), []);
    assert.deepEqual(plain(parsePath('id')), ['id']);
    assert.deepEqual(plain(parsePath('states.Negotiate.on.agree[0].target')), ['states', 'Negotiate', 'on', 'agree', 0, 'target']);
    assert.deepEqual(plain(parsePath('on["a.b"][2]')), ['on', 'a.b', 2]);
    assert.deepEqual(plain(parsePath('on["say \\"hi\\""].x')), ['on', 'say "hi"', 'x']);
    assert.deepEqual(plain(parsePath('states["x]y"].after["2000"]')), ['states', 'x]y', 'after', '2000']);
    assert.deepEqual(plain(parsePath('a[]')), ['a', ''], 'an empty bracket is a key, not an index');
  });

  it("finds the seed's unknown target on its line, and the state and event above it", () => {
    const at = locate(seedText, 'states.Negotiate.states.Propose.on.agree[0].target');
    assert.equal(at.exact, true);
    assert.match(lineOf(seedText, at.row), /"target": "#MarketPlace\.Perform\.Initiate"/);
    assert.equal(lineOf(seedText, at.row).slice(at.column, at.column + 8), '"target"');
    assert.match(lineOf(seedText, locate(seedText, 'states.Negotiate.states.Propose.on.agree').row), /"agree":/);
    const item = locate(seedText, 'states.Negotiate.states.Propose.on.agree[0]');
    assert.equal(lineOf(seedText, item.row).slice(item.column, item.column + 11), '{ "target":', 'an array item: at its own first character');
    assert.match(lineOf(seedText, locate(seedText, 'id').row), /"id": "Workflow"/);
  });

  it('finds every path of a pretty-printed definition exactly, on the line of its key', () => {
    const definition = { ...kitchen, states: { ...kitchen.states, 'a.b': { on: { 'x"y': 'Idle', '*': { target: 'Idle' } } } } };
    for (const indent of [2, 4, '\t']) {
      const text = JSON.stringify(definition, null, indent);
      const paths = allPaths(definition);
      assert.ok(paths.length > 80);
      for (const { path: p, key } of paths) {
        const at = locate(text, p);
        assert.ok(at && at.exact, `${p} located`);
        const line = lineOf(text, at.row);
        if (typeof key === 'string') assert.equal(line.slice(at.column, at.column + JSON.stringify(key).length + 1), `${JSON.stringify(key)}:`, `${p} at its key`);
      }
    }
  });

  it('finds keys with dots written without quotes, and takes the last of duplicate keys as JSON.parse does', () => {
    const text = '{\n  "on": {\n    "a.b": "x",\n    "a": { "b": "y" }\n  },\n  "id": "first",\n  "id": "second"\n}';
    assert.equal(locate(text, 'on.a.b').row, 2, 'the longest key that matches: "a.b"');
    assert.equal(locate(text, 'on["a.b"]').row, 2);
    assert.equal(locate(text, 'on.a').row, 3);
    assert.equal(locate(text, 'id').row, 6);
  });

  it('goes as deep as the text goes: shorthand transitions, missing keys, indexes past the end', () => {
    const text = '{\n  "states": {\n    "A": {\n      "on": { "go": "B" }\n    }\n  },\n  "list": [1, 2]\n}';
    assert.deepEqual(plain(locate(text, 'states.A.on.go[0].target')), { row: 3, column: 14, offset: text.indexOf('"go"'), exact: false });
    assert.deepEqual(plain(locate(text, 'states.A.initial')), { row: 2, column: 4, offset: text.indexOf('"A"'), exact: false });
    assert.equal(locate(text, 'list[5]').row, 6);
    assert.equal(locate(text, 'list[5]').exact, false);
    assert.equal(locate(text, 'list[1]').column, 14);
    assert.equal(locate(text, ''), undefined, 'the whole definition has no line');
    assert.equal(locate(text, 'context'), undefined, 'nothing of the path is in the text');
    assert.equal(locate('[1]', 'id'), undefined);
  });

  it('reads text that stops parsing: what comes before the error is still found', () => {
    const text = '{\n  "id": "m",\n  "states": {\n    "a": { "on": { "go": "b" } },\n    "b": { "on": { "back": ';
    assert.equal(locate(text, 'id').row, 1);
    assert.equal(locate(text, 'states.a.on.go').row, 3);
    assert.equal(locate(text, 'states.b.on.back').row, 4);
    assert.equal(locate(text, 'states.b.on.back').exact, true);
    const broken = '{ "id": "m", "states": { "a": {,,, } }, "context": {} }';
    assert.equal(locate(broken, 'states.a').exact, true);
    assert.equal(locate(broken, 'context'), undefined, 'past the syntax error nothing is read');
    assert.equal(locate('', 'id'), undefined);
    assert.equal(locate('nonsense', 'id'), undefined);
    assert.equal(locate('{"a": "unterminated', 'a').row, 0);
  });

  it('counts lines of CRLF text and keys with escapes', () => {
    const text = '{\r\n  "x\\"y": {\r\n    "\\u0041": 1\r\n  }\r\n}';
    assert.equal(locate(text, '["x\\"y"].A').row, 2);
    assert.equal(locate(text, '["x\\"y"].A').column, 4);
  });
});

describe('sidebar text helpers', () => {
  it('shows state values as paths', () => {
    assert.equal(stateLabel('Idle'), 'Idle');
    assert.equal(stateLabel({ Negotiate: 'Propose' }), 'Negotiate.Propose');
    assert.equal(stateLabel({ Cooking: { Oven: 'Baking', Plates: 'Full' } }), 'Cooking.(Oven.Baking, Plates.Full)');
    assert.equal(stateLabel({ Done: {} }), 'Done');
    assert.equal(stateLabel(null), '');
  });

  it('reads the event field: a word is the type, JSON objects as they are, broken JSON is an error', () => {
    assert.deepEqual(plain(eventFromText(' agree ')), { type: 'agree' });
    assert.deepEqual(plain(eventFromText('{"type":"offer","data":{"price":3},"id":"e-1"}')), { type: 'offer', data: { price: 3 }, id: 'e-1' });
    assert.deepEqual(plain(eventFromText('"quoted"')), { type: 'quoted' });
    assert.deepEqual(plain(eventFromText('42')), { type: '42' });
    assert.equal(eventFromText('   '), undefined);
    assert.throws(() => eventFromText('{"type": "x"'));
    assert.throws(() => eventFromText('[1,'));
    assert.equal(eventLabel({ type: 'xstate.after.2000.m.a' }), 'xstate.after.2000.m.a');
    assert.equal(eventLabel('tick'), 'tick');
  });

  it('writes durations shortly', () => {
    assert.deepEqual([400, 3000, 125000, 3600000, 3 * 86400000 + 7200000].map(duration), ['0s', '3s', '2m 5s', '1h', '3d 2h']);
  });
});
