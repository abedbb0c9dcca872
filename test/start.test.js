'use strict';
// `npm start` as a newcomer runs it: Node-RED, the example flow, the embedded broker and database.
// Runtime: Node-RED as a child process (scripts/start.js), the real runtime with RED.hooks.
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { spawn } = require('node:child_process');
const { MqttRecorder } = require('./support/mqtt-client');
const { flowAnswers } = require('./support/node-red');
const { freePort } = require('./support/env');

describe('npm start', function () {
  this.timeout(90000);
  let child;
  let exited;
  let client;
  const userDir = fs.mkdtempSync(path.join(os.tmpdir(), 'xstate-start-'));

  after(async () => {
    await client?.end();
    if (child && child.exitCode === null) {
      child.kill('SIGTERM');
      await exited;
    }
    fs.rmSync(userDir, { recursive: true, force: true });
  });

  it('prints the editor address, and the example answers {"type":"reject"} on demo-1', async () => {
    const [port, mqttPort] = [await freePort(), await freePort()];
    const env = { ...process.env, PORT: String(port), MQTT_PORT: String(mqttPort), NODE_RED_USER_DIR: userDir };
    delete env.MQTT_URL;
    delete env.DATABASE_URL;
    child = spawn(process.execPath, [path.join(__dirname, '..', 'scripts', 'start.js')], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    exited = new Promise((resolve) => child.once('exit', resolve));
    let output = '';
    const address = await new Promise((resolve, reject) => {
      child.stdout.on('data', (chunk) => {
        output += chunk;
        const match = /Node-RED editor: (http:\/\/\S+)/.exec(output);
        if (match) resolve(match[1]);
      });
      child.once('exit', (code) => reject(new Error(`npm start exited with ${code}:\n${output}`)));
    });
    assert.equal(address, `http://127.0.0.1:${port}/`);
    const page = await fetch(address);
    assert.equal(page.status, 200);
    const diagram = await fetch(new URL('resources/node-red-contrib-xstate-durable/xstate-diagram.js', address));
    assert.equal(diagram.status, 200, "Node-RED serves the editor's diagram bundle from the package's resources/");
    assert.match(await diagram.text(), /XStateDiagram/);
    const editorCode = await fetch(new URL('resources/node-red-contrib-xstate-durable/xstate-editor.js', address));
    assert.equal(editorCode.status, 200, "and the editor's dialog and sidebar code");
    const settings = await (await fetch(new URL('settings', address))).json();
    assert.equal(settings.telemetryEnabled, false, 'no update-check prompt over the canvas on first open');
    assert.equal(settings.editorTheme?.tours, false, 'no welcome tour');

    client = await MqttRecorder.connect(`mqtt://127.0.0.1:${mqttPort}`);
    await client.subscribe('xstate/chart/#');
    await flowAnswers(client, 'xstate/chart');
    await client.publish('xstate/chart/demo-1/event', { type: 'reject' });
    const state = await client.waitFor((m) => m.topic === 'xstate/chart/demo-1/state');
    assert.deepEqual(state.json.value, { Negotiate: 'Reject' });
    const action = await client.waitFor((m) => m.topic === 'xstate/chart/demo-1/action/rejectOffer');
    assert.deepEqual(action.json.params, { rejected: 'datetime' });
    assert.equal(action.json.chartId, 'demo-1');
  });
});
