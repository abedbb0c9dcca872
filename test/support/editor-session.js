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

module.exports = { CHROMIUM, CHROMIUM_ARGS, CHART_NODE, STORE_NODE, exampleFlow, startExample, openEditor };
