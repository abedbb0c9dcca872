'use strict';
// Where the tests run: the embedded database always; real PostgreSQL when DATABASE_URL is set.
// The MQTT broker: MQTT_URL when set, else an embedded aedes broker on a free port.
// A suite that cannot run here is not left out silently: it is registered as pending, with the
// reason in its title (`describeIf`, `itIf`), and the reporter lists it at the end of the run.
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

/**
 * Store settings per backend; each call gets a fresh schema so tests never see each other's rows.
 * `skip` is the reason a backend cannot run here (undefined when it can).
 */
const backends = [
  { name: 'embedded', skip: undefined, store: () => ({ backend: 'embedded', dataDir: embeddedDataDir, schema: uniqueName('t') }) },
  {
    name: 'postgres',
    skip: process.env.DATABASE_URL ? undefined : 'DATABASE_URL is not set',
    store: () => ({ backend: 'postgres', connection: process.env.DATABASE_URL, schema: uniqueName('t') }),
  },
];
const postgres = backends[1];

/** The first reason in the list, or undefined when every condition holds ([cond, reason] pairs). */
function skipReason(...conditions) {
  const unmet = conditions.find(([holds]) => !holds);
  return unmet?.[1];
}

/** `describe`, or `describe.skip` with `[pending: reason]` in its title when `reason` is set. */
function describeIf(reason, title, fn) {
  return reason ? describe.skip(`${title} [pending: ${reason}]`, fn) : describe(title, fn);
}

/** `it`, or a pending `it.skip` with `[pending: reason]` in its title when `reason` is set. */
function itIf(reason, title, fn) {
  return reason ? it.skip(`${title} [pending: ${reason}]`, fn) : it(title, fn);
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

module.exports = { backends, postgres, skipReason, describeIf, itIf, uniqueName, dataRoot, embeddedDataDir, mqttBroker, closeBroker, freePort };
