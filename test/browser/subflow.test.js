'use strict';
// A chart node inside a subflow, as users package a machine for reuse: Node-RED runs one copy per
// instance of the subflow, under the id `{instance id}-{node id}` (Node-RED 3.1 and later). The
// xstate sidebar lists it per instance, with the instance's name, and browses that copy's charts.
// Runtime: Node-RED as a child process with the embedded database; events through the admin API.
const assert = require('node:assert/strict');
const fs = require('node:fs');
const { describeIf, skipReason, freePort } = require('../support/env');
const { NodeRedProcess } = require('../support/node-red-process');
const { CHROMIUM, CHROMIUM_ARGS, openEditor, openSidebarWith } = require('../support/editor-session');

const door = { id: 'Door', initial: 'Closed', states: { Closed: { on: { open: 'Opened' } }, Opened: { on: { close: 'Closed' } } } };
const flows = [
  { id: 'store', type: 'xstate-store', backend: 'embedded', schema: 'xstate' },
  { id: 'doors', type: 'subflow', name: 'Door machine', info: '', in: [], out: [], env: [] },
  { id: 'chart', type: 'xstate-chart', z: 'doors', name: 'door chart', store: 'store', source: 'inline', definition: JSON.stringify(door), topicPrefix: 'doors', x: 200, y: 80, wires: [[], [], []] },
  { id: 'gateway', type: 'tab', label: 'Gateway' },
  // Without a position Node-RED takes a node for a configuration node: an instance would not start.
  { id: 'front', type: 'subflow:doors', z: 'gateway', name: 'Front door', x: 200, y: 80, wires: [] },
];
/** The chart node of the instance "front", as the runtime names it. */
const FRONT_CHART = 'front-chart';

describeIf(skipReason([fs.existsSync(CHROMIUM), `${CHROMIUM} is missing (apt-get install -y chromium; .ci/run installs it)`]), 'editor in a browser: a chart node inside a subflow', function () {
  this.timeout(120000);
  let nodeRed;
  let browser;

  before(async () => {
    nodeRed = new NodeRedProcess({ flows, port: await freePort() });
    await nodeRed.start();
  });
  after(async () => {
    await browser?.close();
    await nodeRed?.stop();
  });

  it('lists the chart node once per subflow instance and browses that copy’s charts', async () => {
    const response = await fetch(`${nodeRed.url}/xstate-chart/${FRONT_CHART}/charts/door-1/events`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ type: 'open' }) });
    assert.equal(response.status, 200, await response.clone().text());
    assert.equal((await response.json()).outcome, 'applied', 'the instance runs the chart node under {instance id}-{node id}');

    const { chromium } = require('playwright-core');
    browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
    const { page, errors } = await openEditor(browser, `${nodeRed.url}/`);
    const sidebar = await openSidebarWith(page, FRONT_CHART);
    assert.equal(await sidebar.locator(`select.xstate-node-select option[value="${FRONT_CHART}"]`).textContent(), 'door chart (Front door) — Gateway');
    assert.equal(await sidebar.locator('select.xstate-node-select option[value="chart"]').count(), 0, 'the template itself runs nowhere');
    await sidebar.locator('li[data-chart-id="door-1"]').click();
    await sidebar.locator('.xstate-sidebar-diagram [data-state="Opened"].active').waitFor();
    assert.deepEqual(errors, [], 'no errors in the page');
  });
});
