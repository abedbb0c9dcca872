'use strict';
// The packed tarball, installed into fresh Node-RED user directories the way users install it,
// on Node-RED 4.1 / Node 20 and Node-RED 5 / Node 22; each runs the example flow and drives a
// chart over MQTT. Run by `npm run test:package` (and .ci/run); it installs from the npm registry.
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { execFileSync, spawn } = require('node:child_process');
const { ChartStore } = require('../../dist/index.js');
const { uniqueName, mqttBroker, closeBroker, freePort } = require('../support/env');
const { MqttRecorder } = require('../support/mqtt-client');
const { flowAnswers } = require('../support/flows');

const root = path.resolve(__dirname, '..', '..');
const pkg = require(path.join(root, 'package.json'));
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'xstate-package-'));
const npmCli = path.join(execFileSync('npm', ['root', '-g'], { encoding: 'utf8' }).trim(), 'npm', 'bin', 'npm-cli.js');

function npm(node, args, cwd) {
  execFileSync(node, [npmCli, ...args, '--no-audit', '--no-fund', '--loglevel=error'], { cwd, stdio: ['ignore', 'ignore', 'inherit'], env: { ...process.env, npm_config_update_notifier: 'false' } });
}

/** A Node 22 binary from the npm registry's `node` package (this machine runs Node 20). */
function node22() {
  const dir = path.join(work, 'node22');
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'package.json'), '{"private":true}');
  npm(process.execPath, ['install', 'node@22'], dir);
  return path.join(dir, 'node_modules', '.bin', 'node');
}

describe('the packed package in a fresh Node-RED', function () {
  this.timeout(600000);
  let tarball;
  let broker;

  before(async () => {
    const out = execFileSync('npm', ['pack', '--pack-destination', work, '--json'], { cwd: root, encoding: 'utf8' });
    const [packed] = JSON.parse(out);
    tarball = path.join(work, packed.filename);
    broker = await mqttBroker();
  });
  after(async () => {
    await closeBroker();
    fs.rmSync(work, { recursive: true, force: true });
  });

  it('holds only what runs: built code, editor files, examples, README, LICENSE, CHANGELOG', () => {
    const listing = execFileSync('tar', ['-tzf', tarball], { encoding: 'utf8' }).trim().split('\n').map((f) => f.replace(/^package\//, '')).sort();
    console.log(`      ${listing.join('\n      ')}`);
    for (const file of listing) {
      assert.match(
        file,
        /^(dist\/index\.(js|d\.ts)|nodes\/xstate-(store|chart|action)\/(locales\/en-US\/)?xstate-\3\.(js|json|html)|resources\/xstate-(diagram|editor)\.js|examples\/[\w-]+\.json|README\.md|LICENSE|CHANGELOG\.md|package\.json)$/,
        file,
      );
    }
    // The editor's code and every node's message catalog and help are there.
    for (const file of ['resources/xstate-diagram.js', 'resources/xstate-editor.js', ...['store', 'chart', 'action'].flatMap((n) => [`nodes/xstate-${n}/locales/en-US/xstate-${n}.json`, `nodes/xstate-${n}/locales/en-US/xstate-${n}.html`])]) {
      assert.ok(listing.includes(file), file);
    }
    assert.ok(!listing.some((f) => /\.map$|^test\/|^src\/|^bench\/|^scripts\//.test(f)));
  });

  const targets = [
    { name: 'Node-RED 4.1 on Node 20', nodeRed: pkg.devDependencies['node-red'].replace(/^\^/, ''), node: () => process.execPath },
    { name: 'Node-RED 5 on Node 22', nodeRed: '5', node: node22 },
  ];
  for (const target of targets) {
    it(`installs from the tarball and runs the example flow: ${target.name}`, async () => {
      const node = target.node();
      const userDir = path.join(work, uniqueName('userdir'));
      fs.mkdirSync(userDir);
      fs.writeFileSync(path.join(userDir, 'package.json'), JSON.stringify({ name: 'node-red-project', private: true }));
      npm(node, ['install', `node-red@${target.nodeRed}`, tarball], userDir);
      const installed = path.join(userDir, 'node_modules', pkg.name);
      assert.ok(fs.existsSync(path.join(installed, 'dist', 'index.js')));

      // The example flow as the package ships it, pointed at the test broker and a schema of its own.
      const prefix = 'xstate/chart';
      const schema = uniqueName('pkg');
      const flows = JSON.parse(fs.readFileSync(path.join(installed, 'examples', 'marketplace.json'), 'utf8'));
      const url = new URL(broker.url);
      for (const n of flows) {
        if (n.type === 'mqtt-broker') Object.assign(n, { broker: url.hostname, port: url.port });
        if (n.type === 'xstate-store') n.schema = schema;
      }
      fs.writeFileSync(path.join(userDir, 'flows.json'), JSON.stringify(flows));
      const port = await freePort();
      fs.writeFileSync(path.join(userDir, 'settings.js'), `module.exports = { flowFile: 'flows.json', credentialSecret: false, uiHost: '127.0.0.1', uiPort: ${port} };\n`);

      const child = spawn(node, [path.join(userDir, 'node_modules', 'node-red', 'red.js'), '--userDir', userDir, '--settings', path.join(userDir, 'settings.js')], {
        env: process.env,
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let output = '';
      const exited = new Promise((resolve) => child.once('exit', resolve));
      const client = await MqttRecorder.connect(broker.url);
      try {
        await new Promise((resolve, reject) => {
          child.stdout.on('data', (chunk) => {
            output += chunk;
            if (/Started flows/.test(output)) resolve();
          });
          child.stderr.on('data', (chunk) => (output += chunk));
          child.once('exit', (code) => reject(new Error(`Node-RED exited (${code}):\n${output}`)));
        });
        assert.match(output, new RegExp(`Node-RED version: v${target.nodeRed.replace(/\./g, '\\.')}`));
        assert.doesNotMatch(output, /\[error\].*xstate|Waiting for missing types/);

        // The examples are in the editor's Import > Examples menu under the package name.
        const admin = `http://127.0.0.1:${port}`;
        const modules = await (await fetch(`${admin}/library/examples/flows/`)).json();
        assert.ok(JSON.stringify(modules).includes(pkg.name), JSON.stringify(modules));
        const example = await (await fetch(`${admin}/library/examples/flows/${pkg.name}/marketplace`)).json();
        assert.ok(example.some((n) => n.type === 'xstate-chart'));

        await client.subscribe(`${prefix}/#`);
        await flowAnswers(client, prefix);
        const chartId = uniqueName('pkg-demo');
        await client.publish(`${prefix}/${chartId}/event`, { type: 'reject' });
        const state = await client.waitFor((m) => m.topic === `${prefix}/${chartId}/state`);
        assert.deepEqual(state.json.value, { Negotiate: 'Reject' });
        await client.waitFor((m) => m.topic === `${prefix}/${chartId}/action/rejectOffer`);

        child.kill('SIGTERM');
        await exited;
        // The row in the store: PostgreSQL when DATABASE_URL is set (the example reads it), else embedded.
        const store = new ChartStore(
          process.env.DATABASE_URL
            ? { backend: 'postgres', connection: process.env.DATABASE_URL, schema }
            : { backend: 'embedded', dataDir: path.join(userDir, 'xstate-data'), schema },
        );
        try {
          const { rows } = await store.query(`select seq, state from "${schema}".charts where chart_id = $1`, [chartId]);
          assert.equal(Number(rows[0].seq), 1);
          assert.deepEqual(rows[0].state.value, { Negotiate: 'Reject' });
          await store.query(`drop schema "${schema}" cascade`);
        } finally {
          await store.close();
        }
      } finally {
        if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
        await client.end();
      }
    });
  }
});
