'use strict';
// Flows the tests deploy, and the probe that tells when a deployed flow answers over MQTT.

/** A flow: mqtt in → xstate-chart → mqtt out, plus the given extra nodes. */
function chartFlow({ brokerUrl, store, prefix, definition, create = true, strict = true, extra = [], shareGroup, session }) {
  const url = new URL(brokerUrl);
  return [
    // session: a client id whose subscriptions and queued messages the broker keeps across reconnects.
    { id: 'broker', type: 'mqtt-broker', broker: url.hostname, port: url.port || '1883', clientid: session ?? '', autoConnect: true, usetls: false, protocolVersion: '4', keepalive: '15', cleansession: !session },
    { id: 'store', type: 'xstate-store', ...store },
    { id: 'in', type: 'mqtt in', topic: shareGroup ? `$share/${shareGroup}/${prefix}/+/event` : `${prefix}/+/event`, qos: '1', datatype: 'auto-detect', broker: 'broker', nl: false, rap: true, rh: 0, inputs: 0, wires: [['chart']] },
    {
      id: 'chart',
      type: 'xstate-chart',
      store: 'store',
      source: 'inline',
      definition: typeof definition === 'string' ? definition : JSON.stringify(definition),
      topicPrefix: prefix,
      create,
      strict,
      wires: [['out'], ['out'], ['out']],
    },
    { id: 'out', type: 'mqtt out', topic: '', qos: '', retain: '', broker: 'broker', wires: [] },
    ...extra,
  ];
}

/**
 * Resolves once the flow answers over MQTT: publishes a malformed event to a probe chart until its
 * error comes back, which proves that `mqtt in` is subscribed and `mqtt out` is connected.
 */
async function flowAnswers(recorder, prefix, timeoutMs = 20000) {
  const started = Date.now();
  const probe = `probe-${started}-${Math.random().toString(36).slice(2, 8)}`;
  const answered = recorder.waitFor((m) => m.topic === `${prefix}/${probe}/error`, timeoutMs, 'the flow to answer');
  let done = false;
  answered.then(() => (done = true), () => (done = true));
  // Published again every 250 ms until answered: a probe sent before `mqtt in` subscribed is lost,
  // and nothing tells the outside when the subscription is in place.
  while (!done && Date.now() - started < timeoutMs) {
    await recorder.publish(`${prefix}/${probe}/event`, '{probe');
    await Promise.race([answered.catch(() => {}), new Promise((resolve) => setTimeout(resolve, 250))]);
  }
  await answered;
}

module.exports = { chartFlow, flowAnswers };
