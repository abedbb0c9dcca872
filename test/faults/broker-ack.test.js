'use strict';
// Fault injection: the broker that `mqtt out` publishes to stops acknowledging. A chart's messages
// count as delivered only when the broker acknowledged them (QoS 1 PUBACK, seen through Node-RED's
// `onComplete` hook): until then their outbox row stays, and a message never acknowledged is sent
// again at the next start.
//
// Runtime: Node-RED as a child process (test/support/node-red-process.js), the real runtime, which
// has RED.hooks (the in-process tests get Node-RED's hooks module handed in by test/support/node-red.js).
// Brokers: events come in on the shared broker (MQTT_URL, else the embedded aedes); `mqtt out`
// publishes to a private Mosquitto this test freezes (SIGSTOP: its connections stay open, nothing
// is read or acknowledged) and thaws. Store: PostgreSQL, read by the test while Node-RED runs (an
// embedded database is open in one process only).
const assert = require('node:assert/strict');
const { postgres, skipReason, describeIf, uniqueName, mqttBroker, closeBroker } = require('../support/env');
const { MqttRecorder } = require('../support/mqtt-client');
const { chartFlow, flowAnswers } = require('../support/flows');
const { NodeRedProcess } = require('../support/node-red-process');
const { Mosquitto, mosquittoMissing } = require('../support/mosquitto');
const { watchTable } = require('../support/db-watch');
const { ticker } = require('../fixtures/machines');

const delay = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const noMosquitto = mosquittoMissing();
/** Long enough for a delivery that counted the hand-over to have cleared the row (the relay clears within about 100 ms). */
const UNACKNOWLEDGED_MS = 1000;

const skip = skipReason([!postgres.skip, postgres.skip], [!noMosquitto, noMosquitto]);

describeIf(skip, 'faults: broker acknowledgement (Node-RED process, private Mosquitto)', function () {
  this.timeout(120000);
  let shared;
  let privateBroker;
  let events;
  let subscriber;
  let nodeRed;
  let watches = [];
  let store;

  before(async () => {
    shared = await mqttBroker();
  });
  after(async () => {
    await closeBroker();
  });
  afterEach(async () => {
    await nodeRed?.kill();
    privateBroker?.thaw();
    await subscriber?.end().catch(() => {});
    await events?.end();
    await privateBroker?.close();
    for (const watch of watches.splice(0)) await watch.close();
    const { Client } = require('pg');
    const db = new Client({ connectionString: store.connection });
    await db.connect();
    await db.query(`drop schema if exists "${store.schema}" cascade`);
    await db.end();
  });

  it('keeps a message in the outbox until the broker acknowledged it, and sends one never acknowledged again at the next start', async () => {
    store = postgres.store();
    const prefix = `${uniqueName('ack')}/chart`;
    privateBroker = await Mosquitto.start({ persistence: false });
    // mqtt in on the shared broker, mqtt out on the private one (keepalive long enough that a
    // frozen broker is not given up on while the test looks).
    const flows = chartFlow({ brokerUrl: shared.url, store, prefix, definition: ticker });
    flows.push({ id: 'out-broker', type: 'mqtt-broker', broker: '127.0.0.1', port: String(privateBroker.port), clientid: '', autoConnect: true, usetls: false, protocolVersion: '4', keepalive: '60', cleansession: true });
    flows.find((n) => n.id === 'out').broker = 'out-broker';

    events = await MqttRecorder.connect(shared.url);
    subscriber = await MqttRecorder.connect(privateBroker.url);
    await subscriber.subscribe(`${prefix}/#`);
    nodeRed = new NodeRedProcess({ flows });
    await nodeRed.start();
    await flowAnswers({ publish: (...args) => events.publish(...args), waitFor: (...args) => subscriber.waitFor(...args) }, prefix);
    // A first transition: the tables exist, and a connected broker acknowledges at once.
    await events.publish(`${prefix}/warm/event`, { type: 'tick', id: 'w-1' });
    await subscriber.waitFor((m) => m.topic === `${prefix}/warm/state`);

    const charts = await watchTable(store.connection, store.schema, 'charts');
    const outbox = await watchTable(store.connection, store.schema, 'outbox');
    watches = [charts, outbox];
    const committed = (seq) => charts.waitFor((changes) => changes.some((c) => c.row.chart_id === 'c' && Number(c.row.seq) === seq), 20000, `chart c at seq ${seq}`);
    const outboxRows = async () => (await outbox.query(`select chart_id, seq from "${store.schema}".outbox order by chart_id, seq`)).rows.map((r) => `${r.chart_id}:${r.seq}`);
    const outboxEmpty = () => outbox.until(async () => (await outboxRows()).length === 0, 20000, 'the outbox to be empty');
    const statesOf = (seq) => subscriber.filter((m) => m.topic === `${prefix}/c/state` && m.json?.metadata?.seq === seq);
    await outboxEmpty();

    // 1. The broker stops acknowledging: the transition commits, its message stays in the outbox.
    privateBroker.freeze();
    await events.publish(`${prefix}/c/event`, { type: 'tick', id: 'c-1' });
    await committed(1);
    await delay(UNACKNOWLEDGED_MS); // time must pass: nothing is observable while nothing happens
    assert.deepEqual(await outboxRows(), ['c:1'], 'unacknowledged, the row stays');
    assert.equal(statesOf(1).length, 0);
    // The broker is back: it acknowledges, the row goes, the message has arrived.
    privateBroker.thaw();
    const state = await subscriber.waitFor((m) => m.topic === `${prefix}/c/state` && m.json?.metadata?.seq === 1);
    assert.equal(state.json.metadata.id, 'c:1');
    await outboxEmpty();

    // 2. Never acknowledged: Node-RED dies while the broker holds the message unacknowledged.
    privateBroker.freeze();
    await events.publish(`${prefix}/c/event`, { type: 'tick', id: 'c-2' });
    await committed(2);
    await delay(UNACKNOWLEDGED_MS); // time must pass, as above
    assert.deepEqual(await outboxRows(), ['c:2']);
    await nodeRed.kill();
    privateBroker.thaw();
    assert.deepEqual(await outboxRows(), ['c:2'], 'still there after the crash');
    // The next start sends it again; the broker acknowledges, the row goes.
    nodeRed = new NodeRedProcess({ flows, userDir: nodeRed.userDir });
    await nodeRed.start();
    await outboxEmpty();
    await subscriber.waitFor((m) => m.topic === `${prefix}/c/state` && m.json?.metadata?.seq === 2);
    // The frozen broker may also have passed on the copy the dead process had written: same id.
    assert.ok(statesOf(2).every((m) => m.json.metadata.id === 'c:2'));
    assert.equal(statesOf(1).length, 1, 'an acknowledged message is not sent again');
  });
});
