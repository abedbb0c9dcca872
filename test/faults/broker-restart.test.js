'use strict';
// Fault injection: a Mosquitto broker is restarted in the middle of a stream. With QoS 1 and
// persistent sessions (Node-RED's mqtt in, and the subscriber), nothing committed is lost.
// Runtime: Node-RED as a child process (the real runtime, with RED.hooks: messages count as
// delivered when the broker acknowledged them). Broker: a private Mosquitto of this test
// (test/support/mosquitto.js, persistence on), never the shared one. Store: PostgreSQL.
const assert = require('node:assert/strict');
const mqtt = require('mqtt');
const { ChartStore } = require('../../dist/index.js');
const { postgres, skipReason, describeIf, uniqueName } = require('../support/env');
const { MqttRecorder } = require('../support/mqtt-client');
const { chartFlow, flowAnswers } = require('../support/flows');
const { NodeRedProcess } = require('../support/node-red-process');
const { Mosquitto, mosquittoMissing } = require('../support/mosquitto');

const delay = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const noMosquitto = mosquittoMissing();

const counter = {
  id: 'Counter',
  initial: 'On',
  context: { n: 0 },
  states: { On: { on: { tick: { actions: [{ type: 'assign', params: { n: { '+': [{ var: 'context.n' }, 1] } } }, { type: 'counted' }] } } } },
};

/** Stops the broker the way a service manager does (it saves its sessions), then starts it again. */
async function restartBroker(broker, downMs) {
  await broker.stop();
  await delay(downMs); // time must pass: the broker stays away for a while
  await broker.start();
}

describeIf(skipReason([!postgres.skip, postgres.skip], [!noMosquitto, noMosquitto]), 'faults: MQTT broker restart (private Mosquitto)', function () {
  this.timeout(180000);
  let broker;
  let nodeRed;
  let publisher;
  let subscriber;

  after(async () => {
    await nodeRed?.stop();
    await publisher?.endAsync();
    await subscriber?.end();
    await broker?.close();
  });

  it('loses no event and no state or action message of a committed transition', async () => {
    const store = postgres.store();
    const prefix = `${uniqueName('restart')}/chart`;
    broker = await Mosquitto.start({ persistence: true });
    const url = broker.url;
    // The subscriber: a persistent session, so the broker keeps its messages across the restart.
    const subscriberId = uniqueName('sub');
    subscriber = new MqttRecorder(await mqtt.connectAsync(url, { clientId: subscriberId, clean: false, reconnectPeriod: 200 }));
    for (const topic of ['+/state', '+/action/+', '+/error']) await subscriber.subscribe(`${prefix}/${topic}`);
    nodeRed = new NodeRedProcess({ flows: chartFlow({ brokerUrl: url, store, prefix, definition: counter, session: uniqueName('nodered') }) });
    await nodeRed.start();
    await flowAnswers(subscriber, prefix);
    // The publisher re-sends its unacknowledged QoS 1 messages when it reconnects.
    publisher = await mqtt.connectAsync(url, { clientId: uniqueName('pub'), clean: false, reconnectPeriod: 200 });

    const charts = Array.from({ length: 10 }, (_, i) => `r${i}`);
    const PER_CHART = 100;
    const states = (chartId) => new Set(subscriber.filter((m) => m.topic === `${prefix}/${chartId}/state` && m.json).map((m) => m.json.metadata.seq));
    const reflected = () => charts.reduce((sum, c) => sum + states(c).size, 0);
    let restarted;
    for (let i = 0; i < PER_CHART; i++) {
      for (const chartId of charts) {
        const sent = i * charts.length + charts.indexOf(chartId);
        if (sent - reflected() >= 100) await subscriber.waitFor(() => sent - reflected() < 100, 60000, 'the window to open');
        // Not awaited: while the broker is away the client queues it and sends it on reconnect.
        publisher.publish(`${prefix}/${chartId}/event`, JSON.stringify({ type: 'tick', id: `${chartId}-${i}` }), { qos: 1 });
      }
      if (i === 30) restarted = restartBroker(broker, 2000);
    }
    await restarted;
    for (const chartId of charts) {
      await subscriber.waitFor(() => states(chartId).size === PER_CHART, 60000, `every state of ${chartId}`);
    }
    const db = new ChartStore(store);
    try {
      const { rows } = await db.query(`select chart_id, seq, state from "${store.schema}".charts order by chart_id`);
      assert.deepEqual(rows.map((r) => [r.chart_id, Number(r.seq), r.state.context.n]), charts.map((c) => [c, PER_CHART, PER_CHART]), 'no event lost, none applied twice');
      await db.query(`drop schema "${store.schema}" cascade`);
    } finally {
      await db.close();
    }
    const actions = new Set(subscriber.filter((m) => m.topic.endsWith('/action/counted')).map((m) => m.json.id));
    for (const chartId of charts) {
      for (let seq = 1; seq <= PER_CHART; seq++) assert.ok(actions.has(`${chartId}:${seq}:0`), `action ${chartId}:${seq}:0`);
    }
    const stateMessages = subscriber.filter((m) => m.topic.endsWith('/state') && m.json).length;
    console.log(`      ${charts.length * PER_CHART} events; ${stateMessages} state messages for ${charts.length * PER_CHART} transitions, ${subscriber.filter((m) => m.topic.endsWith('/action/counted')).length} action messages`);
  });
});
