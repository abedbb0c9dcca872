#!/usr/bin/env node
'use strict';
// `npm start`: Node-RED with this package and the example flow, an embedded MQTT broker unless
// MQTT_URL is set, and the embedded database unless DATABASE_URL is set.
//
//   PORT            editor port (default 1880)
//   MQTT_URL        use this broker (mqtt://host:port) instead of the embedded one
//   MQTT_PORT       port of the embedded broker (default 1883)
//   DATABASE_URL    PostgreSQL connection string; unset: embedded database in the user directory
//   NODE_RED_USER_DIR  Node-RED's user directory (default .node-red in this folder)
//   NODE_RED_SETTINGS  Node-RED settings file (default scripts/node-red-settings.js: no update prompt, no tour)
const fs = require('node:fs');
const path = require('node:path');
const { spawn } = require('node:child_process');
const { startEmbeddedBroker, portInUse } = require('./embedded-broker');
const { root, linkPackage } = require('./user-dir');
const userDir = path.resolve(process.env.NODE_RED_USER_DIR || path.join(root, '.node-red'));
const editorPort = Number(process.env.PORT || 1880);
const settingsFile = path.resolve(process.env.NODE_RED_SETTINGS || path.join(__dirname, 'node-red-settings.js'));

/** The broker to use: MQTT_URL, an embedded aedes, or the broker already listening on the port. */
async function chooseBroker() {
  if (process.env.MQTT_URL) return { url: process.env.MQTT_URL, close: async () => {}, how: 'MQTT_URL' };
  const port = Number(process.env.MQTT_PORT || 1883);
  if (await portInUse(port)) {
    return { url: `mqtt://127.0.0.1:${port}`, close: async () => {}, how: `the broker already listening on port ${port}` };
  }
  const broker = await startEmbeddedBroker(port);
  return { ...broker, how: 'embedded broker (aedes)' };
}

/** The example flow on first start; on every start, its MQTT broker node points at our broker. */
function writeFlows(brokerUrl) {
  const flowsFile = path.join(userDir, 'flows.json');
  const flows = fs.existsSync(flowsFile)
    ? JSON.parse(fs.readFileSync(flowsFile, 'utf8'))
    : JSON.parse(fs.readFileSync(path.join(root, 'examples', 'marketplace.json'), 'utf8'));
  const url = new URL(brokerUrl);
  for (const node of flows) {
    if (node.type !== 'mqtt-broker') continue;
    node.broker = url.hostname;
    node.port = url.port || '1883';
  }
  fs.writeFileSync(flowsFile, JSON.stringify(flows, null, 2));
  return flowsFile;
}

async function main() {
  fs.mkdirSync(userDir, { recursive: true });
  const broker = await chooseBroker();
  linkPackage(userDir);
  const flowsFile = writeFlows(broker.url);
  const editor = `http://127.0.0.1:${editorPort}/`;
  console.log(`MQTT broker: ${broker.url} (${broker.how})`);
  console.log(`Database: ${process.env.DATABASE_URL ? 'PostgreSQL from DATABASE_URL' : `embedded, in ${path.join(userDir, 'xstate-data')}`}`);
  console.log(`Flow file: ${flowsFile}`);

  const child = spawn(
    process.execPath,
    [require.resolve('node-red/red.js'), '--userDir', userDir, '--settings', settingsFile, '--port', String(editorPort), 'flows.json'],
    { stdio: ['ignore', 'pipe', 'inherit'], env: process.env },
  );
  let announced = false;
  child.stdout.on('data', (chunk) => {
    process.stdout.write(chunk);
    if (!announced && /Started flows/.test(chunk.toString())) {
      announced = true;
      console.log(`\nNode-RED editor: ${editor}`);
      console.log(`Try it: publish {"type":"reject"} to xstate/chart/demo-1/event, and subscribe to xstate/chart/#\n`);
    }
  });
  const stop = (signal) => child.kill(signal);
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  child.on('exit', async (code) => {
    await broker.close();
    process.exit(code ?? 0);
  });
  console.log(`Starting Node-RED: the editor will be at ${editor}`);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
