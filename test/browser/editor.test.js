'use strict';
// The editor as a user meets it: Node-RED (a child process) runs examples/marketplace.json; Chromium
// opens the editor, the chart node's dialog (its diagram, a broken definition's problem) and the
// xstate sidebar tab (charts, one chart live, an event sent, a chart deleted); 10,000 charts in the
// store (PostgreSQL); a burst of 5,000 events to one chart as comms messages.
// EDITOR_SCREENSHOTS=docs writes docs/editor-dialog.png and docs/editor-sidebar.png.
const assert = require('node:assert/strict');
const fs = require('node:fs');
const { kitchen, expectedDiagram } = require('../fixtures/diagram');
const { mqttBroker, closeBroker, describeIf, itIf, skipReason } = require('../support/env');
const { MqttRecorder } = require('../support/mqtt-client');
const { flowAnswers } = require('../support/flows');
const { CHROMIUM, CHROMIUM_ARGS, CHART_NODE, startExample, openEditor, openSidebarWith, setDefinition, setMigrate, openChartDialog, screenshot: shoot } = require('../support/editor-session');

const TOPIC = `xstate-chart/${CHART_NODE}/`;
const BULK = 10000;
const BURST = 5000;
const WINDOW = 100;

/** The definition editor's cursor line (1-based). */
function cursorLine(page) {
  return page.evaluate((id) => {
    const editor = RED.nodes.node(id).definitionEditor;
    return window.monaco ? editor.getPosition().lineNumber : editor.getCursorPosition().row + 1;
  }, CHART_NODE);
}

/** The lines the editor marks for our problems: monaco markers or ace annotations (1-based). */
function markedLines(page) {
  return page.evaluate((id) => {
    if (window.monaco) return window.monaco.editor.getModelMarkers({ owner: 'xstate-chart' }).map((m) => m.startLineNumber);
    return RED.nodes.node(id).definitionEditor.getSession().getAnnotations().filter((a) => a.xstate).map((a) => a.row + 1);
  }, CHART_NODE);
}

/** Points the reject transition at a state that does not exist; returns its listed problem and its line. */
async function breakTarget(page) {
  const text = await setDefinition(page, (t) => t.replace('"target": "Reject"', '"target": "Rejected"'));
  const problem = page.locator('#dialog-form .xstate-problems li[data-path="states.Negotiate.states.Propose.on.reject[0].target"]');
  await problem.waitFor();
  return { problem, line: text.split('\n').findIndex((l) => l.includes('"target": "Rejected"')) + 1 };
}

const chromiumMissing = skipReason([fs.existsSync(CHROMIUM), `${CHROMIUM} is missing (apt-get install -y chromium; .ci/run installs it)`]);

describeIf(chromiumMissing, 'editor in a browser: chart dialog, xstate sidebar, live updates', function () {
  this.timeout(120000);
  let broker;
  let example;
  let client;
  let browser;
  let page;
  let errors;
  let definition;
  /** Comms messages of the chart node's topic, as the editor's websocket received them. */
  const comms = [];
  /** Looks of {@link commsUntil} waiting for a comms message, each made again as one arrives. */
  const commsWaiters = new Set();
  /** Resolves once the editor's websocket received a comms message that `matches`; rejects after `timeoutMs`. */
  const commsUntil = (matches, timeoutMs, what) =>
    new Promise((resolve, reject) => {
      const look = () => {
        if (!comms.some(matches)) return;
        stop();
        resolve();
      };
      const timer = setTimeout(() => {
        stop();
        reject(new Error(`no comms message ${what} within ${timeoutMs} ms`));
      }, timeoutMs);
      const stop = () => {
        clearTimeout(timer);
        commsWaiters.delete(look);
      };
      commsWaiters.add(look);
      look();
    });
  /** Requests the editor made for one chart's details. */
  const detailRequests = [];

  before(async function () {
    const { chromium } = require('playwright-core');
    broker = await mqttBroker();
    example = await startExample({ brokerUrl: broker.url });
    definition = JSON.parse(example.flows.find((node) => node.type === 'xstate-chart').definition);
    client = await MqttRecorder.connect(broker.url);
    await client.subscribe(`${example.prefix}/#`);
    await flowAnswers(client, example.prefix);
    for (const chartId of ['order-1', 'order-2', 'order-3', 'order-10', 'other-1']) await send(chartId, 'counter_offer');
    await send('order-2', 'reject');
    await stateOf('order-2', 2);
    browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
    ({ page, errors } = await openEditor(browser, example.url, {
      beforeGoto: (p) => {
        p.on('websocket', (ws) =>
          ws.on('framereceived', ({ payload }) => {
            let messages;
            try {
              messages = JSON.parse(payload);
            } catch {
              return;
            }
            for (const m of Array.isArray(messages) ? messages : []) if (m.topic?.startsWith(TOPIC)) comms.push({ at: Date.now(), topic: m.topic, data: m.data });
            for (const look of [...commsWaiters]) look();
          }),
        );
        p.on('request', (request) => /\/xstate-chart\/[^/]+\/charts\/[^/?]+$/.test(request.url()) && request.method() === 'GET' && detailRequests.push({ at: Date.now(), url: request.url() }));
      },
    }));
  });

  after(async () => {
    await browser?.close();
    await client?.end();
    await example?.stop();
    await closeBroker();
  });

  afterEach(function () {
    if (this.currentTest.state !== 'failed' && errors) assert.deepEqual(errors.splice(0), [], 'no errors in the page');
  });

  function send(chartId, type) {
    return client.publish(`${example.prefix}/${chartId}/event`, { type });
  }

  function stateOf(chartId, seq) {
    return client.waitFor((m) => m.topic === `${example.prefix}/${chartId}/state` && m.json?.metadata?.seq === seq, 20000, `${chartId} at seq ${seq}`);
  }

  const screenshot = (name, handle, widen) => shoot(page, name, handle, widen);

  const active = (scope) => page.evaluate((scope) => Array.from(document.querySelectorAll(`${scope} svg.xstate-diagram [data-state].active`), (g) => g.getAttribute('data-state')).sort(), scope);

  /** Shows the xstate sidebar tab with the example's chart node picked. */
  const openSidebar = () => openSidebarWith(page, CHART_NODE);

  it('the chart dialog draws the machine, lists a broken definition’s problems with their paths and marks the line', async () => {
    const dialog = await openChartDialog(page);
    assert.equal((await dialog.locator('label[for="node-input-store"]').textContent()).trim(), 'Store', 'labels come from the catalog');
    assert.equal((await page.locator('#red-ui-tab-xstate-chart-tab-machine').textContent()).trim(), 'Machine');

    const expected = expectedDiagram(definition);
    const drawn = await page.evaluate(() => ({
      states: Array.from(document.querySelectorAll('#dialog-form svg.xstate-diagram [data-state]'), (g) => g.getAttribute('data-state')),
      transitions: Array.from(document.querySelectorAll('#dialog-form svg.xstate-diagram [data-transition]'), (g) => g.getAttribute('data-transition')),
    }));
    assert.deepEqual(drawn.states.sort(), [...expected.states].sort(), 'a <g data-state> per state');
    assert.deepEqual(drawn.transitions.sort(), [...expected.transitions].sort(), 'a <g data-transition> per transition');
    assert.equal(await dialog.locator('.xstate-problems li').count(), 0);

    // A machine with parallel regions, deep history, after and always, typed in: redrawn whole.
    const original = await setDefinition(page, (text) => text);
    await setDefinition(page, JSON.stringify(kitchen, null, 2));
    const drawnKitchen = await page.waitForFunction(
      (count) => {
        const svg = document.querySelector('#dialog-form svg.xstate-diagram');
        const states = svg && Array.from(svg.querySelectorAll('[data-state]'), (g) => g.getAttribute('data-state'));
        return states && states.length === count && { states, transitions: Array.from(svg.querySelectorAll('[data-transition]'), (g) => g.getAttribute('data-transition')) };
      },
      expectedDiagram(kitchen).states.length,
    );
    const kitchenDrawn = await drawnKitchen.jsonValue();
    assert.deepEqual(kitchenDrawn.states.sort(), [...expectedDiagram(kitchen).states].sort());
    assert.deepEqual(kitchenDrawn.transitions.sort(), [...expectedDiagram(kitchen).transitions].sort());
    await dialog.locator('.xstate-validation-ok').waitFor();
    await setDefinition(page, original);
    await dialog.locator('.xstate-diagram-scroll svg [data-state="Negotiate.Propose"]').waitFor();

    // An unknown target: listed with its JSON path, its line marked, drawn as a dangling arrow.
    const { problem, line } = await breakTarget(page);
    assert.match(await problem.locator('.xstate-problem-message').textContent(), /"Rejected"/);
    assert.equal(await problem.locator('.xstate-problem-path').textContent(), 'states.Negotiate.states.Propose.on.reject[0].target');
    assert.deepEqual(await markedLines(page), [line], 'the problem’s line is marked in the editor');
    await dialog.locator('[data-transition="Negotiate.Propose:reject"].unresolved').waitFor();
    await problem.click();
    assert.equal(await cursorLine(page), line, 'a click on the problem puts the cursor on its line');
    await screenshot('dialog', '.red-ui-tray-resize-handle', 320);

    // Typing that breaks the JSON: the whole definition's problem, the last diagram kept (greyed).
    await page.locator('#node-input-definition-editor').click();
    await page.keyboard.press('Control+End');
    await page.keyboard.type('}');
    await dialog.locator('.xstate-problems li[data-path=""]').waitFor();
    assert.match(await dialog.locator('.xstate-problems li[data-path=""]').textContent(), /JSON/);
    await dialog.locator('.xstate-diagram-scroll.xstate-stale').waitFor();
    assert.equal(await dialog.locator('.xstate-diagram-scroll svg [data-state]').count(), expected.states.length);

    // From the store: the machine as the store keeps it (the deploy registered this one).
    await dialog.locator('#node-input-source').selectOption('store');
    await dialog.locator('#node-input-machineId').fill('Workflow');
    await page.waitForFunction(() => /"Workflow" version \d+, as stored/.test(document.querySelector('.xstate-chart-preview-note')?.textContent));
    await dialog.locator('.xstate-diagram-scroll:not(.xstate-stale) svg [data-state="Perform.Initiate"]').waitFor();
    assert.equal(await dialog.locator('.xstate-diagram-scroll svg [data-state]').count(), expected.states.length);

    await page.locator('#node-dialog-cancel').click();
    await dialog.waitFor({ state: 'detached' });

    // The settings tab saves the version settings; undone afterwards.
    await openChartDialog(page);
    await page.locator('#red-ui-tab-xstate-chart-tab-settings a').click();
    await dialog.locator('#node-input-versioning').selectOption('pin');
    await setMigrate(page, '{"states": {"Negotiate.Reject": "Perform.Initiate"}}');
    await page.locator('#node-dialog-ok').click();
    await dialog.waitFor({ state: 'detached' });
    const saved = await page.evaluate((id) => ({ versioning: RED.nodes.node(id).versioning, migrate: JSON.parse(RED.nodes.node(id).migrate) }), CHART_NODE);
    assert.deepEqual(saved, { versioning: 'pin', migrate: { states: { 'Negotiate.Reject': 'Perform.Initiate' } } });
    await page.evaluate(() => RED.actions.invoke('core:undo'));
    assert.notEqual(await page.evaluate((id) => RED.nodes.node(id).versioning, CHART_NODE), 'pin', 'undone');
  });

  it('the xstate sidebar tab lists the charts, searches them, shows one live, sends it an event and deletes another', async () => {
    const sidebar = await openSidebar();
    const rows = sidebar.locator('li.xstate-chart-row');
    await rows.first().waitFor();
    const listed = await rows.evaluateAll((items) => items.map((li) => li.getAttribute('data-chart-id')));
    for (const chartId of ['order-1', 'order-2', 'order-3', 'order-10', 'other-1']) assert.ok(listed.includes(chartId), `${chartId} listed: ${listed}`);
    assert.equal(await sidebar.locator('li[data-chart-id="order-2"] .xstate-chart-value').textContent(), 'Negotiate.Reject');

    await sidebar.locator('input.xstate-chart-search').fill('order-1');
    await page.waitForFunction(() => Array.from(document.querySelectorAll('li.xstate-chart-row'), (li) => li.dataset.chartId).join() === 'order-1,order-10');
    await sidebar.locator('input.xstate-chart-search').fill('order-');
    await page.waitForFunction(() => document.querySelectorAll('li.xstate-chart-row').length === 4);

    // One chart: its diagram with the active states, its context and last transitions.
    await sidebar.locator('li[data-chart-id="order-1"]').click();
    await sidebar.locator('.xstate-sidebar-diagram [data-state="Negotiate.Propose"].active').waitFor();
    assert.deepEqual(await active('.xstate-sidebar'), ['', 'Negotiate', 'Negotiate.Propose']);
    await sidebar.locator('.xstate-chart-transitions tr[data-seq="1"]').waitFor();
    assert.match(await sidebar.locator('.xstate-chart-transitions tr[data-seq="1"]').textContent(), /counter_offer/);
    assert.match(await sidebar.locator('.xstate-chart-context').textContent(), /requestor/);

    // An event from the sidebar: the active class moves.
    await sidebar.locator('input.xstate-event-input').fill('agree');
    await sidebar.locator('button.xstate-send-event').click();
    await sidebar.locator('.xstate-sidebar-diagram [data-state="Perform.Initiate"].active').waitFor();
    assert.deepEqual(await active('.xstate-sidebar'), ['', 'Perform', 'Perform.Initiate']);
    assert.match(await sidebar.locator('.xstate-send-result.xstate-result-applied').textContent(), /agree/);
    await stateOf('order-1', 2);
    // One the state does not accept: the outcome's error is shown.
    await sidebar.locator('input.xstate-event-input').fill('{"type": "reject"}');
    await sidebar.locator('input.xstate-event-input').press('Enter');
    assert.match(await sidebar.locator('.xstate-send-result.xstate-result-error').textContent(), /event_not_accepted/);

    // Live: events over MQTT move the selected chart's active class and update listed rows.
    await sidebar.locator('li[data-chart-id="order-3"]').click();
    await sidebar.locator('.xstate-sidebar-diagram [data-state="Negotiate.Propose"].active').waitFor();
    await send('order-3', 'agree');
    await sidebar.locator('.xstate-sidebar-diagram [data-state="Perform.Initiate"].active').waitFor();
    await sidebar.locator('.xstate-chart-transitions tr[data-seq="2"]').waitFor();
    await send('order-10', 'reject');
    await page.waitForFunction(() => document.querySelector('li[data-chart-id="order-10"] .xstate-chart-value')?.textContent === 'Negotiate.Reject');
    await screenshot('sidebar', '#red-ui-sidebar-separator', 240);

    // Delete, behind a confirmation.
    await sidebar.locator('li[data-chart-id="order-2"]').click();
    await sidebar.locator('.xstate-chart-title', { hasText: 'order-2' }).waitFor();
    await sidebar.locator('button.xstate-delete-chart').click();
    await page.locator('.xstate-confirm-delete').click();
    await sidebar.locator('li[data-chart-id="order-2"]').waitFor({ state: 'detached' });
    const gone = await page.evaluate((id) => fetch(`xstate-chart/${id}/charts/order-2`).then(async (r) => ({ status: r.status, body: await r.json() })), CHART_NODE);
    assert.equal(gone.status, 404);
    assert.equal(gone.body.error.code, 'unknown_chart');
  });

  const noPostgres = skipReason([process.env.DATABASE_URL, 'DATABASE_URL is not set: the charts are inserted in SQL beside the running Node-RED']);
  itIf(noPostgres, `shows the first page within a second with ${BULK.toLocaleString('en')} charts in the store; the endpoint pages through them all`, async () => {
    await send('template-1', 'agree');
    await stateOf('template-1', 1);
    await insertCharts(example, 'template-1', BULK);
    const sidebar = await openSidebar();
    await sidebar.locator('input.xstate-chart-search').fill('');
    await sidebar.locator('select.xstate-node-select').selectOption('');
    const started = Date.now();
    await sidebar.locator('select.xstate-node-select').selectOption(CHART_NODE);
    await page.waitForFunction(() => document.querySelectorAll('li.xstate-chart-row').length === 100);
    const elapsed = Date.now() - started;
    console.log(`      first page of ${BULK} charts shown ${elapsed} ms after the node was picked`);
    assert.ok(elapsed < 1000, `first page shown after ${elapsed} ms`);
    assert.equal(await sidebar.locator('button.xstate-charts-more').isVisible(), true);
    await sidebar.locator('button.xstate-charts-more').click();
    await page.waitForFunction(() => document.querySelectorAll('li.xstate-chart-row').length === 200);
    await sidebar.locator('input.xstate-chart-search').fill('bulk-0999');
    await page.waitForFunction(() => document.querySelectorAll('li.xstate-chart-row').length === 10);
    assert.equal(await sidebar.locator('button.xstate-charts-more').isVisible(), false);

    // The endpoint: 500 at a time, with the prefix, every chart once, in order.
    const pages = await page.evaluate(async (id) => {
      const seen = [];
      let after = '';
      let count = 0;
      for (;;) {
        const r = await fetch(`xstate-chart/${id}/charts?prefix=bulk-&limit=500&after=${encodeURIComponent(after)}`).then((res) => res.json());
        seen.push(...r.charts.map((c) => c.chartId));
        count++;
        if (!r.next) break;
        after = r.next;
      }
      return { seen, count };
    }, CHART_NODE);
    assert.equal(pages.count, BULK / 500);
    assert.equal(pages.seen.length, BULK);
    assert.deepEqual(pages.seen, [...pages.seen].sort());
    assert.equal(new Set(pages.seen).size, BULK);
  });

  itIf(noPostgres, 'follows the selected chart and the listed rows when another process commits their transitions (no comms message comes)', async () => {
    await send('remote-1', 'counter_offer');
    await stateOf('remote-1', 1);
    await send('remote-2', 'counter_offer');
    await stateOf('remote-2', 1);
    const sidebar = await openSidebar();
    await sidebar.locator('input.xstate-chart-search').fill('remote-');
    await sidebar.locator('li[data-chart-id="remote-1"]').click();
    await sidebar.locator('.xstate-sidebar-diagram [data-state="Negotiate.Propose"].active').waitFor();
    // Another runtime on the same store, as a second Node-RED process behind a shared
    // subscription would be: its commit reaches this Node-RED's comms by no way but the store.
    const other = await otherProcess(example, definition);
    try {
      await sidebar.locator('li[data-chart-id="remote-2"]').waitFor();
      const outcome = await other.runtime.dispatch('remote-1', { type: 'agree' });
      assert.equal(outcome.kind, 'applied');
      assert.equal((await other.runtime.dispatch('remote-2', { type: 'reject' })).kind, 'applied');
    } finally {
      await other.close();
    }
    await sidebar.locator('.xstate-sidebar-diagram [data-state="Perform.Initiate"].active').waitFor({ timeout: 10000 });
    await sidebar.locator('.xstate-chart-transitions tr[data-seq="2"]').waitFor();
    // A listed chart that is not selected: its row, within the rows' next look.
    await page.waitForFunction(() => document.querySelector('li[data-chart-id="remote-2"] .xstate-chart-value')?.textContent === 'Negotiate.Reject', null, { timeout: 10000 });
    assert.equal(comms.filter((m) => (m.topic === `${TOPIC}remote-1` || m.topic === `${TOPIC}remote-2`) && m.data.seq === 2).length, 0, 'not through comms');

    // Deleted elsewhere while selected: the chart's row and details go, with a word why.
    const deleter = await otherProcess(example, definition);
    try {
      assert.ok(await deleter.store.deleteChart(definition.id, 'remote-1'));
    } finally {
      await deleter.close();
    }
    await sidebar.locator('li[data-chart-id="remote-1"]').waitFor({ state: 'detached', timeout: 10000 });
    assert.equal(await sidebar.locator('.xstate-chart-detail').isHidden(), true);
    await page.locator('.red-ui-notification', { hasText: 'remote-1 is no longer in the store' }).waitFor();
  });

  it(`a burst of ${BURST.toLocaleString('en')} events to one chart reaches the editor as a few comms messages a second`, async () => {
    const sidebar = await openSidebar();
    await send('burst-1', 'counter_offer');
    await stateOf('burst-1', 1);
    await sidebar.locator('input.xstate-chart-search').fill('burst-');
    await sidebar.locator('li[data-chart-id="burst-1"]').click();
    await sidebar.locator('.xstate-sidebar-diagram [data-state="Negotiate.Propose"].active').waitFor();

    const topic = `${TOPIC}burst-1`;
    // As fast as the chart takes them, with at most 100 events unanswered (a broker drops what queues
    // up past its limit toward a slow subscriber).
    let seq = 1;
    const stateTopic = `${example.prefix}/burst-1/state`;
    const follow = (t, payload) => t === stateTopic && (seq = Math.max(seq, JSON.parse(payload).metadata.seq));
    client.client.on('message', follow);
    const started = Date.now();
    const publishes = [];
    for (let sent = 0; sent < BURST; sent++) {
      while (sent - (seq - 1) >= WINDOW) await new Promise((resolve) => setTimeout(resolve, 2));
      publishes.push(send('burst-1', 'counter_offer'));
    }
    await Promise.all(publishes);
    await stateOf('burst-1', BURST + 1);
    client.client.off('message', follow);
    const ended = Date.now();
    // The last change of the burst still reaches the editor (the throttle sends the latest).
    await page.waitForFunction((seq) => document.querySelector('li[data-chart-id="burst-1"]')?.title.includes(`seq ${seq},`), BURST + 1, { timeout: 5000 });
    // The list may show the final seq from a read of its own before the throttle's last comms
    // message arrives: that message is waited for (a fixed wait alone was sometimes too short).
    await commsUntil((m) => m.topic === topic && m.data.seq === BURST + 1, 5000, `with seq ${BURST + 1}`);
    await new Promise((resolve) => setTimeout(resolve, 1200)); // time must pass: no more may come, within the bound below
    const seconds = (ended - started) / 1000;
    const during = comms.filter((m) => m.topic === topic && m.at >= started);
    console.log(`      ${BURST} events in ${seconds.toFixed(1)} s: ${during.length} comms messages, ${detailRequests.filter((r) => r.at >= started).length} detail requests`);
    assert.ok(during.length >= 2, 'updates arrive during the burst');
    assert.ok(during.length <= Math.ceil(seconds + 1.2) * 3 + 2, `${during.length} comms messages in ${seconds.toFixed(1)} s: at most a few a second`);
    assert.equal(during.at(-1).data.seq, BURST + 1, 'the last one has the final state');
    const details = detailRequests.filter((r) => r.at >= started && r.url.endsWith('/burst-1'));
    assert.ok(details.length <= Math.ceil(seconds + 1.2) + 2, `${details.length} detail refreshes: at most one a second`);
    await page.waitForFunction((seq) => document.querySelector('.xstate-meta-seq')?.textContent.includes(String(seq)), BURST + 1, { timeout: 5000 });
  });
});

describeIf(chromiumMissing, 'editor in a browser with the ace code editor (editorTheme.codeEditor.lib: ace)', function () {
  this.timeout(60000);
  let broker;
  let example;
  let browser;
  let page;
  let errors;

  before(async () => {
    const { chromium } = require('playwright-core');
    broker = await mqttBroker();
    example = await startExample({ brokerUrl: broker.url, connection: '', settings: { editorTheme: { tours: false, codeEditor: { lib: 'ace' } } } });
    browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
    ({ page, errors } = await openEditor(browser, example.url));
  });

  after(async () => {
    await browser?.close();
    await example?.stop();
    await closeBroker();
  });

  it('marks the problem’s line with an ace annotation; a click on the problem goes there', async () => {
    await openChartDialog(page);
    assert.equal(await page.evaluate(() => RED.editor.codeEditor.editor.type), 'ace');
    const { problem, line } = await breakTarget(page);
    assert.deepEqual(await markedLines(page), [line]);
    await problem.click();
    assert.equal(await cursorLine(page), line);
    assert.equal((await page.locator('#node-input-definition-editor .ace_gutter-cell.ace_error').textContent()).trim(), String(line), 'the gutter marks it');
    await page.locator('#node-dialog-cancel').click();
    await page.locator('#dialog-form').waitFor({ state: 'detached' });
    assert.deepEqual(errors, [], 'no errors in the page');
  });
});

/**
 * The package's runtime in this test's process on the example's store and machine (version 1, as
 * the example's chart node registered it), without an outbox: what another Node-RED process
 * serving the same charts would commit.
 */
async function otherProcess(example, definition) {
  const { ChartStore, ChartRuntime, MachineVersions, compileMachine } = require('../../dist/index.js');
  const store = new ChartStore({ backend: 'postgres', connection: example.connection, schema: example.schema });
  const machine = compileMachine(definition);
  const machines = new MachineVersions({ machine, version: 1 }, () => Promise.reject(new Error('one version only')), compileMachine);
  const runtime = new ChartRuntime({ store, machines, topicPrefix: example.prefix, create: false, strict: true });
  return {
    runtime,
    store,
    close: async () => {
      await runtime.idle();
      runtime.dispose();
      await store.close();
    },
  };
}

/** `count` charts `bulk-00000`... copied in SQL from a real one (`from`), as the store keeps them. */
async function insertCharts(example, from, count) {
  const { Client } = require('pg');
  const db = new Client({ connectionString: example.connection });
  await db.connect();
  try {
    const schema = `"${example.schema}"`;
    const { rows } = await db.query(`select column_name from information_schema.columns where table_schema = $1 and table_name = 'charts' and is_generated = 'NEVER' order by ordinal_position`, [example.schema]);
    const id = `'bulk-' || lpad(g::text, 5, '0')`;
    const value = (column) => (column === 'chart_id' ? id : column === 'state' ? `jsonb_set(state, '{chartId}', to_jsonb(${id}))` : column);
    const columns = rows.map((r) => r.column_name);
    const inserted = await db.query(
      `insert into ${schema}.charts (${columns.join(', ')}) select ${columns.map(value).join(', ')} from ${schema}.charts, generate_series(0, ${count - 1}) g where chart_id = $1`,
      [from],
    );
    assert.equal(inserted.rowCount, count);
  } finally {
    await db.end();
  }
}
