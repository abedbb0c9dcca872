'use strict';
// Node-RED with the example flow in a child process, and the editor in Chromium (playwright-core), for
// the editor's browser tests.
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { NodeRedProcess } = require('./node-red-process');
const { freePort, uniqueName } = require('./env');

const CHROMIUM = '/usr/bin/chromium';
const CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-background-networking'];
const root = path.join(__dirname, '..', '..');
const EXAMPLE = path.join(root, 'examples', 'marketplace.json');
const CHART_NODE = 'a1f0c0de00000005';
const STORE_NODE = 'a1f0c0de00000011';

/**
 * examples/marketplace.json pointed at `brokerUrl`, a store schema of its own (PostgreSQL when
 * `connection` is given, else an embedded database in `dataDir`), and a topic prefix of its own.
 */
function exampleFlow({ brokerUrl, prefix, schema, connection, dataDir }) {
  const flow = JSON.parse(fs.readFileSync(EXAMPLE, 'utf8'));
  const url = new URL(brokerUrl);
  for (const node of flow) {
    if (node.type === 'mqtt-broker') Object.assign(node, { broker: url.hostname, port: url.port || '1883' });
    if (node.type === 'xstate-store') Object.assign(node, connection ? { backend: 'postgres', connection, schema } : { backend: 'embedded', connection: '', dataDir, schema });
    if (node.type === 'xstate-chart') node.topicPrefix = prefix;
    if (node.type === 'mqtt in') node.topic = `${prefix}/+/event`;
    if (node.type === 'inject') node.topic = node.topic.replace('xstate/chart', prefix);
  }
  return flow;
}

/**
 * Starts Node-RED on a free port with the example flow (`settings`: more of its settings.js); `stop()`
 * ends it, drops its schema and removes its folder.
 */
async function startExample({ brokerUrl, connection = process.env.DATABASE_URL, settings = {} }) {
  const userDir = fs.mkdtempSync(path.join(os.tmpdir(), 'xstate-editor-'));
  const prefix = `${uniqueName('editor')}/chart`;
  const schema = uniqueName('ed');
  const flows = exampleFlow({ brokerUrl, prefix, schema, connection, dataDir: path.join(userDir, 'xstate-data') });
  const port = await freePort();
  const nodeRed = new NodeRedProcess({ flows, userDir, port, settings });
  await nodeRed.start();
  return {
    url: `http://127.0.0.1:${port}/`,
    prefix,
    schema,
    connection,
    nodeRed,
    flows,
    /** Ends Node-RED, drops its PostgreSQL schema, removes its folder (with its embedded database). */
    async stop() {
      await nodeRed.stop();
      if (connection) {
        const { Client } = require('pg');
        const db = new Client({ connectionString: connection });
        await db.connect();
        await db.query(`drop schema if exists "${schema}" cascade`);
        await db.end();
      }
      fs.rmSync(userDir, { recursive: true, force: true });
    },
  };
}

/**
 * Opens the editor and waits until the flow is drawn and the package's editor code is loaded.
 * `beforeGoto(page)` can listen to the page (its websocket, its requests) from the start.
 */
async function openEditor(browser, url, { width = 1500, height = 950, beforeGoto } = {}) {
  const page = await browser.newPage({ viewport: { width, height } });
  page.setDefaultTimeout(15000);
  await beforeGoto?.(page);
  const errors = [];
  page.on('pageerror', (err) => errors.push(process.env.DEBUG_EDITOR ? err.stack : err.message));
  page.on('console', (msg) => msg.type() === 'error' && !/favicon|Failed to load resource/.test(msg.text()) && errors.push(msg.text()));
  await page.goto(url);
  await page.waitForFunction(() => window.RED && window.XStateEditor && document.querySelector('#red-ui-workspace-chart g.red-ui-flow-node-group'), null, { timeout: 30000 });
  return { page, errors };
}

/** Shows the xstate sidebar tab (its icon, or the tab bar's menu when the sidebar is narrow) with the chart node `nodeId` picked. */
async function openSidebarWith(page, nodeId) {
  const sidebar = page.locator('.xstate-sidebar');
  if (!(await sidebar.isVisible())) {
    const icon = page.locator('#red-ui-tab-xstate-link-button');
    if (await icon.isVisible()) await icon.click();
    else {
      await page.locator('#red-ui-sidebar .red-ui-tab-link-button-menu').click();
      await page.locator('#red-ui-tabs-menu-option-xstate').click();
    }
  }
  const select = sidebar.locator('select.xstate-node-select');
  if ((await select.inputValue()) !== nodeId) {
    await sidebar.locator(`select.xstate-node-select option[value="${nodeId}"]`).waitFor({ state: 'attached' });
    await select.selectOption(nodeId);
  }
  return sidebar;
}

/** Replaces the open dialog's definition text (monaco, Node-RED 4's default, or ace): with `change(text)`, or with a string. */
function setDefinition(page, change) {
  const source = typeof change === 'function' ? change.toString() : `() => ${JSON.stringify(change)}`;
  return page.evaluate(
    ({ id, source }) => {
      const editor = RED.nodes.node(id).definitionEditor;
      editor.setValue(new Function('text', `return (${source})(text)`)(editor.getValue()), 1);
      return editor.getValue();
    },
    { id: CHART_NODE, source },
  );
}

/** Replaces the text of the open dialog's state map (`migrate`) editor, on the settings tab. */
function setMigrate(page, text) {
  return page.evaluate((text) => {
    const box = document.getElementById('node-input-migrate-editor');
    if (window.monaco) window.monaco.editor.getEditors().find((e) => box.contains(e.getDomNode())).setValue(text);
    else window.ace.edit(box).setValue(text, 1);
  }, text);
}

/** Opens the example chart node's dialog; resolves when its diagram is drawn and validated. */
async function openChartDialog(page) {
  const dialog = page.locator('#dialog-form');
  // A double click can go unanswered by Node-RED's canvas on a loaded machine (a CI run waited 60 s
  // for the dialog after one, just after another dialog closed): it is given a second chance.
  for (let attempt = 1; ; attempt++) {
    await page.locator(`[id="${CHART_NODE}"] rect.red-ui-flow-node`).dblclick();
    try {
      await dialog.waitFor({ timeout: attempt === 1 ? 5000 : 30000 });
      break;
    } catch (err) {
      if (attempt > 1) throw err;
    }
  }
  await dialog.locator('.xstate-diagram-scroll svg.xstate-diagram').waitFor();
  await dialog.locator('.xstate-validation-ok').waitFor();
  return dialog;
}

/**
 * With EDITOR_SCREENSHOTS set (a folder, e.g. `docs`): widens `handle` (the tray's or the sidebar's
 * edge) by `widen` px, then writes the page as `editor-{name}.png` there.
 */
async function screenshot(page, name, handle, widen) {
  const dir = process.env.EDITOR_SCREENSHOTS;
  if (!dir) return;
  const box = await page.locator(handle).first().boundingBox();
  await page.mouse.move(box.x + box.width / 2, box.y + 300);
  await page.mouse.down();
  await page.mouse.move(box.x + box.width / 2 - widen, box.y + 300, { steps: 8 });
  await page.mouse.up();
  await new Promise((resolve) => setTimeout(resolve, 700));
  fs.mkdirSync(path.resolve(root, dir), { recursive: true });
  await page.screenshot({ path: path.resolve(root, dir, `editor-${name}.png`) });
}

module.exports = { CHROMIUM, CHROMIUM_ARGS, CHART_NODE, STORE_NODE, exampleFlow, startExample, openEditor, openSidebarWith, setDefinition, setMigrate, openChartDialog, screenshot };
