'use strict';
// The editor's message catalog, as Node-RED core nodes keep theirs: every label, placeholder and
// message of the edit dialogs and the sidebar comes from nodes/*/locales/en-US/*.json (namespace
// `{module}/{node-set}`), the help from nodes/*/locales/en-US/*.html.
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');

const root = path.join(__dirname, '..');
const NODES = ['xstate-store', 'xstate-chart', 'xstate-action'];
const read = (...parts) => fs.readFileSync(path.join(root, ...parts), 'utf8');
const catalog = (node) => JSON.parse(read('nodes', node, 'locales', 'en-US', `${node}.json`));

function lookup(messages, key) {
  return key.split('.').reduce((at, part) => (at && typeof at === 'object' ? at[part] : undefined), messages);
}

/** The inside of each `<script type="text/html" data-template-name=...>`. */
function templates(html) {
  return [...html.matchAll(/<script type="text\/html" data-template-name="([^"]+)">([\s\S]*?)<\/script>/g)].map((m) => ({ type: m[1], body: m[2] }));
}

describe('message catalog and help', () => {
  for (const node of NODES) {
    it(`${node}: every data-i18n and this._() key of its HTML is in its catalog; no text outside it`, () => {
      const messages = catalog(node);
      const html = read('nodes', node, `${node}.html`);
      const keys = [
        ...[...html.matchAll(/data-i18n="([^"]+)"/g)].flatMap((m) => m[1].split(';').map((k) => k.replace(/^\[[^\]]+\]/, ''))),
        ...[...html.matchAll(/\._\('([^']+)'/g)].map((m) => m[1]),
      ];
      assert.ok(keys.length >= 5, `${node} uses its catalog`);
      for (const key of keys) assert.equal(typeof lookup(messages, key), 'string', `${node}: "${key}" is in locales/en-US/${node}.json`);
      for (const { body } of templates(html)) {
        const text = body.replace(/<[^>]+>/g, ' ').replace(/&nbsp;/g, ' ').trim();
        assert.equal(text, '', `${node}'s edit dialog has no text of its own`);
        assert.doesNotMatch(body, /\s(placeholder|title)="/, `${node}: placeholders and titles come from the catalog`);
      }
      assert.doesNotMatch(html, /data-help-name/, `${node}'s help lives in locales/en-US/${node}.html`);
    });

    it(`${node}: help in locales/en-US/${node}.html with its properties and a worked example`, () => {
      const help = read('nodes', node, 'locales', 'en-US', `${node}.html`);
      assert.match(help, new RegExp(`<script type="text/html" data-help-name="${node}">`));
      const sections = [...help.matchAll(/<h3>([^<]+)<\/h3>/g)].map((m) => m[1]);
      const expected = { 'xstate-store': ['Properties', 'Example'], 'xstate-chart': ['Inputs', 'Outputs', 'Properties', 'Example'], 'xstate-action': ['Outputs', 'Properties', 'Example'] }[node];
      for (const section of expected) assert.ok(sections.includes(section), `${node} help has "${section}": ${sections}`);
    });
  }

  it("every t() key of the editor code (dialog, sidebar) is in xstate-chart's catalog", () => {
    const messages = catalog('xstate-chart');
    const dir = path.join(root, 'src', 'editor');
    const keys = new Set();
    for (const file of fs.readdirSync(dir).filter((f) => f.endsWith('.ts'))) {
      const source = fs.readFileSync(path.join(dir, file), 'utf8');
      for (const m of source.matchAll(/\b(?:t|translated)\('([^']+)'/g)) keys.add(m[1]);
    }
    assert.ok(keys.size > 50, `${keys.size} keys`);
    for (const key of keys) assert.equal(typeof lookup(messages, `xstate-chart.${key}`), 'string', `"xstate-chart.${key}" is in the catalog`);
    for (const status of ['active', 'done', 'error', 'stopped']) assert.equal(typeof lookup(messages, `xstate-chart.status.${status}`), 'string');
  });

  it('the example in the chart help is a valid machine', () => {
    const { parseDefinition } = require('../dist/index.js');
    const help = read('nodes', 'xstate-chart', 'locales', 'en-US', 'xstate-chart.html');
    const example = /<pre>([\s\S]*?)<\/pre>/.exec(help)[1];
    const definition = parseDefinition(example);
    assert.equal(definition.id, 'Door');
  });

  it("every text of the engine is in xstate-chart's catalog (chartErrors, problems), and every one there is used", () => {
    const messages = catalog('xstate-chart')['xstate-chart'];
    const used = { chartErrors: new Set(), problems: new Set() };
    const walk = (dir) => {
      for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
        const file = path.join(dir, entry.name);
        if (entry.isDirectory()) walk(file);
        else if (file.endsWith('.ts')) {
          for (const m of fs.readFileSync(file, 'utf8').matchAll(/\b(errorText|problemText)\('([A-Za-z0-9]+)'/g)) used[m[1] === 'errorText' ? 'chartErrors' : 'problems'].add(m[2]);
        }
      }
    };
    walk(path.join(root, 'src'));
    assert.ok(used.chartErrors.size > 40 && used.problems.size > 30, `${used.chartErrors.size} and ${used.problems.size} keys used`);
    for (const section of ['chartErrors', 'problems']) {
      for (const key of used[section]) assert.equal(typeof messages[section][key], 'string', `${section}.${key} is in the catalog`);
      for (const key of Object.keys(messages[section])) assert.ok(used[section].has(key), `${section}.${key} is used`);
    }
  });
});

describe('chart errors in Node-RED\'s language', () => {
  const { helper, translate } = require('./support/node-red');
  const { hooks } = require('@node-red/util');
  const chartModule = require('../nodes/xstate-chart/xstate-chart.js');

  afterEach(async () => {
    await helper.unload();
    // The translation is the process's: later tests read the package's English again.
    require('../dist/index.js').useTranslation(undefined);
  });

  it('come from the catalog through RED._: a translated text reaches the error output and Catch nodes', async () => {
    const german = { 'chartErrors.emptyEvent': 'Das Ereignis ist leer: sende {"type": "..."} oder einen Ereignistyp.' };
    const chartNode = (RED) => chartModule(Object.assign(RED, { hooks: RED.hooks ?? hooks, _: (key, values) => german[key.split(':').pop().replace(/^xstate-chart\./, '')] ?? translate(key, values) }));
    const definition = JSON.stringify({ id: 'Lamp', initial: 'off', states: { off: { on: { toggle: 'on' } }, on: { on: { toggle: 'off' } } } });
    await helper.load([chartNode], [
      { id: 'chart', type: 'xstate-chart', source: 'inline', definition, wires: [[], [], ['errors']] },
      { id: 'errors', type: 'helper' },
    ]);
    const error = new Promise((resolve) => helper.getNode('errors').on('input', resolve));
    helper.getNode('chart').receive({ chartId: 'lamp-1', payload: '' });
    const msg = await error;
    assert.equal(msg.payload.code, 'invalid_event');
    assert.equal(msg.payload.message, german['chartErrors.emptyEvent']);
    // Where Node-RED has no text, the package's English.
    const english = new Promise((resolve) => helper.getNode('errors').on('input', resolve));
    helper.getNode('chart').receive({ chartId: 'lamp-1', payload: '{"type":"xstate.init"}' });
    assert.equal((await english).payload.message, 'The event type "xstate.init" is reserved for XState\'s own events.');
  });

  it("a definition's problems too, each part of a composed one (state, event, what) from the catalog", () => {
    const { parseDefinition, useTranslation } = require('../dist/index.js');
    const german = { 'problems.state': 'Zustand "__path__"', 'problems.placeEvent': '__place__, Ereignis "__name__"', 'problems.targetNotString': 'ein Ziel muss Text sein.' };
    useTranslation((key, values) => german[key]?.replace(/__([A-Za-z]+)__/g, (whole, name) => String(values[name] ?? whole)));
    const definition = { id: 'Lamp', initial: 'off', states: { off: { on: { toggle: { target: 5 } } } } };
    assert.throws(() => parseDefinition(definition), (err) => {
      assert.deepEqual(err.problems, [{ path: 'states.off.on.toggle.target', message: 'Zustand "off", Ereignis "toggle": ein Ziel muss Text sein.' }]);
      return true;
    });
    useTranslation(undefined);
    assert.throws(() => parseDefinition(definition), (err) => err.problems[0].message === 'State "off", event "toggle": a target must be a string.');
  });
});

