'use strict';
// Where the tests run: the embedded database always; real PostgreSQL when DATABASE_URL is set.
// The MQTT broker: MQTT_URL when set, else an embedded aedes broker on a free port.
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const crypto = require('node:crypto');
const net = require('node:net');
const { startEmbeddedBroker } = require('../../scripts/embedded-broker');

const dataRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'xstate-test-'));

/** One embedded data folder for the whole run: PGlite takes seconds to create a new one. */
const embeddedDataDir = path.join(dataRoot, 'pglite');

function uniqueName(prefix) {
  return `${prefix}_${crypto.randomBytes(4).toString('hex')}`;
}

/** Store settings per backend; each call gets a fresh schema so tests never see each other's rows. */
const backends = [
  { name: 'embedded', store: () => ({ backend: 'embedded', dataDir: embeddedDataDir, schema: uniqueName('t') }) },
];
if (process.env.DATABASE_URL) {
  backends.push({ name: 'postgres', store: () => ({ backend: 'postgres', connection: process.env.DATABASE_URL, schema: uniqueName('t') }) });
}

let broker;
async function mqttBroker() {
  if (process.env.MQTT_URL) return { url: process.env.MQTT_URL, close: async () => {} };
  if (!broker) broker = await startEmbeddedBroker(0);
  return broker;
}

async function closeBroker() {
  if (broker) await broker.close();
  broker = undefined;
}

/** A TCP port nobody listens on right now. */
function freePort() {
  return new Promise((resolve) => {
    const server = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

module.exports = { backends, uniqueName, dataRoot, embeddedDataDir, mqttBroker, closeBroker, freePort };
