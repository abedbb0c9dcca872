'use strict';
// Impact before deploy, in the editor (issue 12): Node-RED (a child process) runs
// examples/marketplace.json with charts in three states; in the chart dialog a changed definition (a
// state removed, another renamed) and a state map typed in the settings tab show, beside the diagram,
// how many charts of each group would move, move through the map or stay; a wrong map entry is listed
// with the definition's problems. EDITOR_SCREENSHOTS=docs writes docs/editor-impact.png.
const assert = require('node:assert/strict');
const fs = require('node:fs');
const { mqttBroker, closeBroker, describeIf, skipReason } = require('../support/env');
const { CHROMIUM, CHROMIUM_ARGS, CHART_NODE, STORE_NODE, startExample, openEditor, setDefinition, setMigrate, openChartDialog, screenshot } = require('../support/editor-session');

/** The charts made before the editor opens: how many end in each state of the example (v1). */
const CHARTS = [
  { state: 'Negotiate.Propose', event: 'counter_offer', count: 5 },
  { state: 'Negotiate.Reject', event: 'reject', count: 2 },
  { state: 'Perform.Initiate', event: 'agree', count: 3 },
];
const MAP = { states: { 'Perform.Initiate': 'Perform.Underway' } };

/** The example's machine with Negotiate.Reject removed and Perform.Initiate renamed Perform.Underway. */
function changed(text) {
  const definition = JSON.parse(text);
  const negotiate = definition.states.Negotiate.states;
  delete negotiate.Reject;
  delete negotiate.Propose.on.reject;
  negotiate.Propose.on.agree[0].target = '#Workflow.Perform.Underway';
  const perform = definition.states.Perform;
  perform.states = { Underway: perform.states.Initiate };
  perform.initial = 'Underway';
  return JSON.stringify(definition, null, 2);
}

/** The impact panel's groups as their `li` attributes tell them, keyed by state. */
function groups(page) {
  return page.evaluate(() =>
    Object.fromEntries(
      Array.from(document.querySelectorAll('#dialog-form .xstate-impact li'), (li) => [
        li.dataset.state,
        { version: li.dataset.version, outcome: li.dataset.outcome, charts: li.dataset.charts, to: li.dataset.to, warning: li.classList.contains('xstate-impact-warning'), text: li.textContent },
      ]),
    ),
  );
}

/** Waits until the panel's groups have these outcomes (state → outcome). */
function outcomes(page, expected) {
  return page.waitForFunction((expected) => {
    const shown = Object.fromEntries(Array.from(document.querySelectorAll('#dialog-form .xstate-impact li'), (li) => [li.dataset.state, li.dataset.outcome]));
    return JSON.stringify(shown, Object.keys(expected).sort()) === JSON.stringify(expected, Object.keys(expected).sort()) && Object.keys(shown).length === Object.keys(expected).length;
  }, expected);
}

/** The `data-path`s of the listed problems. */
const problemPaths = (page) => page.evaluate(() => Array.from(document.querySelectorAll('#dialog-form ul.xstate-problems li'), (li) => li.dataset.path).sort());

const chromiumMissing = skipReason([fs.existsSync(CHROMIUM), `${CHROMIUM} is missing (apt-get install -y chromium; .ci/run installs it)`]);

describeIf(chromiumMissing, 'editor in a browser: the impact of a changed definition on running charts, before deploy', function () {
  this.timeout(90000);
  let broker;
  let example;
  let browser;
  let page;
  let errors;

  before(async function () {
    const { chromium } = require('playwright-core');
    broker = await mqttBroker();
    [example, browser] = await Promise.all([startExample({ brokerUrl: broker.url }), chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS })]);
    // The charts, through the admin API (the same queue as MQTT events).
    for (const { event, count } of CHARTS) {
      for (let i = 0; i < count; i++) {
        const res = await fetch(`${example.url}xstate-chart/${CHART_NODE}/charts/${event}-${i}/events`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ type: event }) });
        assert.equal((await res.json()).outcome, 'applied', `${event}-${i}`);
      }
    }
    ({ page, errors } = await openEditor(browser, example.url, { height: 1080 }));
  });

  after(async () => {
    await browser?.close();
    await example?.stop();
    await closeBroker();
  });

  it('shows per group how many charts would move, move through the state map or stay; a wrong map entry is a problem', async () => {
    const dialog = await openChartDialog(page);
    const panel = dialog.locator('.xstate-impact');
    // The deployed definition as it is: nothing changes for running charts.
    await dialog.locator('.xstate-impact[data-impact="unchanged"]').waitFor();
    assert.match(await panel.textContent(), /No change for running charts: this is the deployed version \(v1\)/);

    // Negotiate.Reject removed, Perform.Initiate renamed: without a map both groups would stay.
    await setDefinition(page, changed);
    await outcomes(page, { 'Negotiate.Propose': 'move', 'Negotiate.Reject': 'stay', 'Perform.Initiate': 'stay' });
    assert.equal(await panel.getAttribute('data-version'), '2', 'the candidate is version 2');

    // The state map, typed in the settings tab: Perform.Initiate's charts move to Perform.Underway.
    await page.locator('#red-ui-tab-xstate-chart-tab-settings a').click();
    await setMigrate(page, JSON.stringify(MAP, null, 2));
    await dialog.locator('.xstate-migrate-status.xstate-migrate-ok', { hasText: '3 running charts would move through this map.' }).waitFor();
    await outcomes(page, { 'Negotiate.Propose': 'move', 'Negotiate.Reject': 'stay', 'Perform.Initiate': 'map' });
    const shown = await groups(page);
    for (const group of Object.values(shown)) assert.equal(group.version, '1');
    assert.deepEqual(
      Object.fromEntries(Object.entries(shown).map(([state, g]) => [state, [g.outcome, Number(g.charts), g.warning]])),
      { 'Negotiate.Propose': ['move', 5, false], 'Negotiate.Reject': ['stay', 2, true], 'Perform.Initiate': ['map', 3, false] },
      'the counts of the charts made, per group; the group that would stay is a warning',
    );
    assert.equal(shown['Perform.Initiate'].to, 'Perform.Underway');
    assert.equal(shown['Negotiate.Reject'].text, '2 charts in Negotiate.Reject (v1) would stay on v1: state "Negotiate.Reject" does not exist in the new version and the state map does not lead there');
    assert.equal(shown['Perform.Initiate'].text, '3 charts in Perform.Initiate (v1) move to Perform.Underway through the state map');
    assert.equal(shown['Negotiate.Propose'].text, '5 charts in Negotiate.Propose (v1) move as they are');
    const listed = await page.evaluate(() => Array.from(document.querySelectorAll('#dialog-form .xstate-impact li'), (li) => li.dataset.outcome));
    assert.deepEqual(listed, ['stay', 'map', 'move'], 'the groups that would stay come first');
    assert.match(await panel.locator('.xstate-impact-summary').textContent(), /^10 charts · 2 would stay$/);
    const plurals = await page.evaluate(() => [1, 2].map((count) => RED._('node-red-contrib-xstate-durable/xstate-chart:xstate-chart.impact.total', { count })));
    assert.deepEqual(plurals, ['1 chart', '2 charts'], 'the editor’s i18next picks the _plural messages');
    assert.ok(await panel.evaluate((el) => el.classList.contains('xstate-impact-warning')));

    // Wrong entries: a source that was never a state, a target that is not one. Listed with the
    // definition's problems; the map's lines are marked in its editor.
    await setMigrate(page, JSON.stringify({ states: { ...MAP.states, 'Negotiate.Rejected': 'Negotiate.Propose', 'Negotiate.Reject': 'Negotiate.Declined' } }, null, 2));
    await dialog.locator('ul.xstate-problems li[data-path="migrate.states[\\"Negotiate.Rejected\\"]"]').waitFor({ state: 'attached' });
    assert.deepEqual(await problemPaths(page), ['migrate.states["Negotiate.Reject"]', 'migrate.states["Negotiate.Rejected"]']);
    assert.match(await dialog.locator('ul.xstate-problems li[data-path="migrate.states[\\"Negotiate.Reject\\"]"]').textContent(), /"Negotiate.Declined", which is not a state of the new version/);
    assert.equal(await dialog.locator('.xstate-migrate-status.xstate-migrate-problems').textContent(), 'The state map has 2 problems, listed on the Machine tab.');
    const marked = await page.evaluate(() => (window.monaco ? window.monaco.editor.getModelMarkers({ owner: 'xstate-chart' }).map((m) => m.startLineNumber) : null));
    if (marked) assert.deepEqual(marked.sort(), [4, 5], 'the wrong entries’ lines in the state map');
    // Not JSON yet, as while typing: one problem for the whole map, the panel waits.
    await setMigrate(page, '{"states": {"Perform.Initiate": "Perform.Under');
    await dialog.locator('ul.xstate-problems li[data-path="migrate"]').waitFor({ state: 'attached' });
    assert.equal(await dialog.locator('.xstate-impact[data-impact="invalid"]').count(), 1);

    // Pinned: every group stays on its version, none is a warning.
    await setMigrate(page, JSON.stringify(MAP, null, 2));
    await dialog.locator('#node-input-versioning').selectOption('pin');
    await outcomes(page, { 'Negotiate.Propose': 'pinned', 'Negotiate.Reject': 'pinned', 'Perform.Initiate': 'pinned' });
    assert.equal(await panel.locator('li.xstate-impact-warning').count(), 0);
    await dialog.locator('#node-input-versioning').selectOption('move');

    // Back on the machine tab, next to the diagram.
    await page.locator('#red-ui-tab-xstate-chart-tab-machine a').click();
    await outcomes(page, { 'Negotiate.Propose': 'move', 'Negotiate.Reject': 'stay', 'Perform.Initiate': 'map' });
    assert.deepEqual(await problemPaths(page), []);
    await dialog.locator('.xstate-validation-ok').waitFor();
    await dialog.locator('.xstate-diagram-scroll svg [data-state="Perform.Underway"]').waitFor();
    if (process.env.EDITOR_SCREENSHOTS) {
      // The renamed state in view in the definition, the whole diagram in the width.
      await page.evaluate((id) => {
        const editor = RED.nodes.node(id).definitionEditor;
        const line = editor.getValue().split('\n').findIndex((l) => l.includes('"Underway": {')) + 1;
        if (editor.revealLineInCenter) editor.revealLineInCenter(line);
        else editor.scrollToLine(line, true);
      }, CHART_NODE);
      await dialog.locator('.xstate-diagram-fit').click();
    }
    await screenshot(page, 'impact', '.red-ui-tray-resize-handle', 320);
    await page.locator('#node-dialog-cancel').click();
    await dialog.waitFor({ state: 'detached' });
    assert.deepEqual(errors.splice(0), [], 'no errors in the page');
  });

  it('says so for a chart node that is not deployed yet', async () => {
    await page.evaluate((store) => {
      RED.nodes.import([{ id: 'b1f0c0de00000001', type: 'xstate-chart', z: RED.workspaces.active(), store, x: 300, y: 420, wires: [[], [], []] }]);
      RED.editor.edit(RED.nodes.node('b1f0c0de00000001'));
    }, STORE_NODE);
    const panel = page.locator('#dialog-form .xstate-impact[data-impact="not-deployed"]');
    await panel.waitFor();
    assert.match(await panel.textContent(), /not deployed yet/);
    await page.locator('#node-dialog-cancel').click();
    await page.locator('#dialog-form').waitFor({ state: 'detached' });
    assert.deepEqual(errors.splice(0), [], 'no errors in the page');
  });
});
