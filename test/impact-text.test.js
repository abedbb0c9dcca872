'use strict';
// The impact panel's sentences (issue 12), without a browser: the built editor bundle
// (resources/xstate-editor.js) in a bare VM context whose `RED._` reads xstate-chart's message
// catalog as Node-RED's editor does (`__name__` substitutions, `key_plural` when count is not 1).
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const vm = require('node:vm');

const root = path.join(__dirname, '..');
const catalog = JSON.parse(fs.readFileSync(path.join(root, 'nodes', 'xstate-chart', 'locales', 'en-US', 'xstate-chart.json'), 'utf8'));

function translate(key, substitutions = {}) {
  const lookup = (k) => k.split('.').reduce((at, part) => (at && typeof at === 'object' ? at[part] : undefined), catalog);
  const name = key.replace(/^[^:]*:/, '');
  const text = (substitutions.count !== undefined && substitutions.count !== 1 && lookup(`${name}_plural`)) || lookup(name);
  if (typeof text !== 'string') return name;
  return text.replace(/__(\w+)__/g, (whole, word) => (word in substitutions ? String(substitutions[word]) : whole));
}

function loadBundle() {
  const context = vm.createContext({ window: { RED: { _: translate } } });
  vm.runInContext(fs.readFileSync(path.join(root, 'resources', 'xstate-editor.js'), 'utf8'), context);
  return context.XStateEditor;
}
const { groupText } = loadBundle();
const group = (fields) => ({ version: 3, value: 'Locked', charts: 37, timers: 0, timersDropped: 0, ...fields });

describe('impact panel: one sentence per group of running charts', () => {
  it('says where each group goes, in the catalog’s words, with its count, state and version', () => {
    assert.equal(
      groupText(group({ outcome: 'stay', reason: 'state "Locked" does not exist in the new version' })),
      '37 charts in Locked (v3) would stay on v3: state "Locked" does not exist in the new version',
    );
    assert.equal(groupText(group({ outcome: 'map', version: 1, value: 'C', charts: 20, to: 'Waiting' })), '20 charts in C (v1) move to Waiting through the state map');
    assert.equal(groupText(group({ outcome: 'move', value: { Negotiate: 'Propose' }, charts: 60 })), '60 charts in Negotiate.Propose (v3) move as they are');
    assert.equal(groupText(group({ outcome: 'pinned', charts: 1 })), '1 chart in Locked stays on v3 (versions: pin)');
    assert.equal(groupText(group({ outcome: 'current', version: 4, charts: 2 })), '2 charts in Locked run v4 already');
  });

  it('names the pending timers that would be dropped', () => {
    assert.equal(groupText(group({ outcome: 'move', value: 'Open', charts: 4, timers: 4, timersDropped: 4 })), '4 charts in Open (v3) move as they are — 4 pending timers would be dropped');
    assert.equal(groupText(group({ outcome: 'map', value: 'Open', to: 'Ajar', charts: 1, timers: 1, timersDropped: 1 })), '1 chart in Open (v3) moves to Ajar through the state map — 1 pending timer would be dropped');
  });
});
