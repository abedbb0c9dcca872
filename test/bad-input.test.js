'use strict';
// Malformed inputs, each answered with its documented error, none crashing Node-RED, none changing
// the database: payloads and topics over MQTT, and definitions at deploy.
// Runtime: the in-process test helper (node-red-node-test-helper). Its node API lacks RED.hooks;
// test/support/node-red.js hands our nodes Node-RED's own hooks module, which its flow engine runs,
// so a chart's message counts as delivered when every `mqtt out` on its way completed it (the
// broker's acknowledgement), as in a real Node-RED.
const assert = require('node:assert/strict');
const { backends, describeIf } = require('./support/env');
const { flowSuite } = require('./support/harness');
const { helper, allNodes, ourNodes, chartFlow, flowAnswers, statusMatching } = require('./support/node-red');

const machine = { id: 'Victim', initial: 'Idle', context: { n: 0 }, states: { Idle: { on: { go: { target: 'Busy', actions: { type: 'assign', params: { n: 1 } } } } }, Busy: { on: { stop: 'Idle' } } } };

let deep = { type: 'go' };
for (let i = 0; i < 100; i++) deep = { type: 'go', data: deep };
// 20,000 levels: `mqtt in` parses it to an object, too deep for JSON.stringify or structuredClone.
const deeper = `{"type":"go","data":${'{"a":'.repeat(20000)}1${'}'.repeat(20000)}}`;

/** [what, topic chartId, payload, expected code]; topic chartId null: the victim chart. */
const payloads = [
  ['truncated JSON', null, '{"type":', 'invalid_event'],
  ['a lone brace', null, '{', 'invalid_event'],
  ['an empty array', null, '[]', 'invalid_event'],
  ['an array of events', null, '[{"type":"go"}]', 'invalid_event'],
  ['a number', null, '42', 'invalid_event'],
  ['true', null, 'true', 'invalid_event'],
  ['null', null, 'null', 'invalid_event'],
  ['an empty payload', null, '', 'invalid_event'],
  ['an object with no type', null, '{}', 'invalid_event'],
  ['a numeric type', null, '{"type":5}', 'invalid_event'],
  ['an empty type', null, '{"type":""}', 'invalid_event'],
  ['a blank type', null, '{"type":"   "}', 'invalid_event'],
  ['a type of 10,000 characters', null, JSON.stringify({ type: 'x'.repeat(10000) }), 'invalid_event'],
  ['a reserved xstate.* type', null, '{"type":"xstate.init"}', 'invalid_event'],
  ['a forged after-event', null, '{"type":"xstate.after.1000.Victim.Idle"}', 'invalid_event'],
  ['a numeric id', null, '{"type":"go","id":5}', 'invalid_event'],
  ['an empty id', null, '{"type":"go","id":""}', 'invalid_event'],
  ['an id of 300 characters', null, JSON.stringify({ type: 'go', id: 'i'.repeat(300) }), 'invalid_event'],
  ['__proto__ in data', null, '{"type":"go","data":{"__proto__":{"polluted":true}}}', 'invalid_event'],
  ['__proto__ at the top', null, '{"__proto__":{"type":"go"},"type":"go"}', 'invalid_event'],
  ['nesting 100 levels deep', null, JSON.stringify(deep), 'invalid_event'],
  ['nesting 20,000 levels deep, parsed to an object by mqtt in', null, deeper, 'invalid_event'],
  ['300 KiB of data', null, JSON.stringify({ type: 'go', data: 'd'.repeat(300 * 1024) }), 'invalid_event'],
  ['bytes that are not UTF-8', null, Buffer.from([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x7d]), 'invalid_event'],
  ['a NUL character in the type', null, '{"type":"go\\u0000"}', 'invalid_event'],
  ['a NUL character in data', null, '{"type":"go","data":{"k":"a\\u0000b"}}', 'invalid_event'],
  ['an unknown event type', null, '{"type":"explode"}', 'event_not_accepted'],
  ['a type in the wrong case', null, '{"type":"GO"}', 'event_not_accepted'],
  ['a plain string that is no event of the machine', null, 'hello world', 'event_not_accepted'],
  ['an event the current state does not accept', null, '{"type":"go"}', 'event_not_accepted'],
  ['a chartId of 129 characters', 'c'.repeat(129), '{"type":"go"}', 'invalid_event'],
  ['a chartId with a space', 'bad id', '{"type":"go"}', 'invalid_event'],
  ['a chartId with a non-ASCII letter', 'caf\u00e9', '{"type":"go"}', 'invalid_event'],
  ['a chartId with an asterisk', 'a*b', '{"type":"go"}', 'invalid_event'],
];

const definitions = [
  ['text that is not JSON', '{ "id": "x", ', /not valid JSON/],
  ['an array', '[]', /JSON object/],
  ['no machine id', JSON.stringify({ initial: 'a', states: { a: {} } }), /needs an "id"/],
  ['a machine id with a slash', JSON.stringify({ id: 'a/b', initial: 'a', states: { a: {} } }), /needs an "id"/],
  ['an unknown target', JSON.stringify({ id: 'm', initial: 'a', states: { a: { on: { go: 'nowhere' } } } }), /unknown target "nowhere"/],
  ['an unknown #id target', JSON.stringify({ id: 'm', initial: 'a', states: { a: { on: { go: '#Other.a' } } } }), /#Other\.a/],
  ['a missing initial state', JSON.stringify({ id: 'm', states: { a: {}, b: {} } }), /needs "initial"/],
  ['an unknown guard', JSON.stringify({ id: 'm', initial: 'a', states: { a: { on: { go: { target: 'a', guard: 'isReady' } } } } }), /guard "isReady"/],
  ['an unknown named delay', JSON.stringify({ id: 'm', initial: 'a', states: { a: { after: { soon: 'a' } } } }), /delay "soon"/],
  ['an ISO duration in months', JSON.stringify({ id: 'm', initial: 'a', states: { a: { after: { P1M: 'a' } } } }), /delay "P1M"/],
  ['an unknown JSON Logic operator', JSON.stringify({ id: 'm', initial: 'a', states: { a: { on: { go: { guard: { type: 'expr', params: { '=~': [1, 1] } } } } } } }), /operator "=~"/],
  ['an assign without params', JSON.stringify({ id: 'm', initial: 'a', states: { a: { entry: { type: 'assign' } } } }), /needs "params"/],
  ['invoke', JSON.stringify({ id: 'm', initial: 'a', states: { a: { invoke: { src: 'x' } } } }), /invoke/],
  ['a __proto__ key', '{"id":"m","initial":"a","states":{"a":{"__proto__":{}}}}', /__proto__/],
  ['a state name with a slash', JSON.stringify({ id: 'm', initial: 'a/b', states: { 'a/b': {} } }), /state name/],
  ['a state name with +', JSON.stringify({ id: 'm', initial: 'a+b', states: { 'a+b': {} } }), /state name/],
  ['a state name with a control character', JSON.stringify({ id: 'm', initial: 'a\u0007b', states: { 'a\u0007b': {} } }), /state name/],
  ['an action named toString', JSON.stringify({ id: 'm', initial: 'a', states: { a: { entry: 'toString' } } }), /"toString" is a built-in member/],
  ['an action named hasOwnProperty', JSON.stringify({ id: 'm', initial: 'a', states: { a: { on: { go: { actions: 'hasOwnProperty' } } } } }), /"hasOwnProperty" is a built-in member/],
  ['a guard named constructor', JSON.stringify({ id: 'm', initial: 'a', states: { a: { on: { go: { target: 'a', guard: 'constructor' } } } } }), /"constructor" is a built-in member/],
  ['a delay named valueOf', JSON.stringify({ id: 'm', initial: 'a', states: { a: { after: { valueOf: 'a' } } } }), /"valueOf" is a built-in member/],
  ['JSON Logic reaching context.constructor', JSON.stringify({ id: 'm', initial: 'a', states: { a: { entry: { type: 'assign', params: { f: { var: 'context.constructor' } } } } } }), /reaches "constructor"/],
  ['JSON Logic reaching __proto__ with a default', JSON.stringify({ id: 'm', initial: 'a', states: { a: { on: { go: { guard: { type: 'expr', params: { var: ['event.__proto__', 1] } } } } } } }), /reaches "__proto__"/],
  ['an action name with #', JSON.stringify({ id: 'm', initial: 'a', states: { a: { entry: 'notify#all' } } }), /contains \/ \+ #/],
  ['an action name with /', JSON.stringify({ id: 'm', initial: 'a', states: { a: { entry: 'mail/send' } } }), /contains \/ \+ #/],
  ['an action name with +', JSON.stringify({ id: 'm', initial: 'a', states: { a: { entry: { type: 'a+b' } } } }), /contains \/ \+ #/],
  ['an action name with a control character', JSON.stringify({ id: 'm', initial: 'a', states: { a: { entry: 'beep\u0007' } } }), /control character/],
  ['a topic prefix with +', JSON.stringify(machine), /topic prefix "plant\/\+\/chart"/, { topicPrefix: 'plant/+/chart' }],
  ['a topic prefix with #', JSON.stringify(machine), /topic prefix "plant\/#"/, { topicPrefix: 'plant/#' }],
];

for (const backend of backends) {
  describeIf(backend.skip, `bad input (${backend.name})`, function () {
    this.timeout(120000);
    let broker;
    let client;
    let prefix;
    let store;
    const suite = flowSuite({ backend, label: 'bad' });
    beforeEach(() => ({ broker, client, prefix, store } = suite));

    it(`answers ${payloads.length} malformed payloads, topics and chart ids with their error, changing nothing`, async () => {
      await helper.load(allNodes, chartFlow({ brokerUrl: broker.url, store, prefix, definition: machine }));
      await flowAnswers(client, prefix);
      await client.publish(`${prefix}/victim/event`, { type: 'go', id: 'first' });
      await client.waitFor((m) => m.topic === `${prefix}/victim/state`);
      const db = helper.getNode('store').store;
      const snapshot = async () => (await db.query(`select chart_id, seq, state, snapshot from "${store.schema}".charts order by chart_id`)).rows;
      const before = await snapshot();

      const errorTopics = [`${prefix}/victim/error`, `${prefix}/_invalid/error`];
      const errors = () => client.filter((m) => errorTopics.includes(m.topic));
      for (const [index, [what, chartId, payload, code]] of payloads.entries()) {
        await client.publish(`${prefix}/${chartId ?? 'victim'}/event`, payload);
        const error = await client.waitFor(() => errors().length === index + 1, 20000, what).then(() => errors()[index]);
        assert.equal(error.json.code, code, what);
        assert.equal(typeof error.json.message, 'string', what);
        assert.doesNotMatch(error.json.message, /\n\s+at /, what);
        assert.equal(error.topic, chartId ? `${prefix}/_invalid/error` : `${prefix}/victim/error`, what);
        // A big input is echoed cut short, and says so.
        if (String(payload).length > 1024) assert.equal(error.json.truncated, true, what);
        assert.ok(error.text.length < 4096, `${what}: the error message stays small`);
      }
      assert.deepEqual(await snapshot(), before, 'the database is unchanged');
      assert.equal({}.polluted, undefined);
      // Node-RED and the chart still work.
      await client.publish(`${prefix}/victim/event`, { type: 'stop', id: 'after' });
      const state = await client.waitFor((m) => m.topic === `${prefix}/victim/state` && m.json.metadata.seq === 2);
      assert.equal(state.json.value, 'Idle');
    });

    it(`reports ${definitions.length} broken definitions at deploy with a red status naming the problem`, async () => {
      for (const [what, definition, pattern, props = {}] of definitions) {
        await helper.load(ourNodes, [
          { id: 'store', type: 'xstate-store', ...store },
          { id: 'chart', type: 'xstate-chart', store: 'store', definition, topicPrefix: 'xstate/chart', ...props, wires: [[], [], []] },
        ]);
        const status = await statusMatching(helper.getNode('chart'), /definition_invalid/);
        assert.equal(status.fill, 'red', what);
        const logged = helper.log().args.filter((a) => a[0].level === helper.log().ERROR && a[0].id === 'chart').map((a) => String(a[0].msg));
        assert.match(logged.join('\n'), pattern, what);
        await helper.unload();
      }
    });
  });
}
