'use strict';
// A private Mosquitto for the bench, on a free port, with or without `set_tcp_nodelay true`; the
// shared broker on 1883 is never touched. Falls back to the embedded aedes broker (which sets
// TCP_NODELAY) when there is no mosquitto binary.
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { spawn, spawnSync } = require('node:child_process');
const { freePort } = require('../../test/support/env');
const { startEmbeddedBroker, portInUse } = require('../../scripts/embedded-broker');

const delay = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

function mosquittoBinary() {
  for (const candidate of ['mosquitto', '/usr/sbin/mosquitto', '/usr/local/sbin/mosquitto']) {
    const probe = spawnSync(candidate, ['-h'], { encoding: 'utf8' });
    if (!probe.error) return { path: candidate, version: /mosquitto version (\S+)/.exec(`${probe.stdout}${probe.stderr}`)?.[1] ?? 'unknown' };
  }
  return undefined;
}

/**
 * Starts a broker; resolves to { url, port, kind, settings, stop }. `noDelay`: Mosquitto's
 * `set_tcp_nodelay` (its default is off). Everything else stays at Mosquitto's defaults
 * (max_queued_messages 1000), persistence off.
 */
async function startBroker({ noDelay }) {
  const binary = mosquittoBinary();
  if (!binary) {
    const broker = await startEmbeddedBroker(0);
    return { ...broker, pid: process.pid, kind: 'aedes (embedded, TCP_NODELAY on)', settings: {}, stop: broker.close };
  }
  const port = await freePort();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'xstate-bench-mosquitto-'));
  const conf = path.join(dir, 'mosquitto.conf');
  const lines = [`listener ${port} 127.0.0.1`, 'allow_anonymous true', 'persistence false', 'log_dest none'];
  if (noDelay) lines.push('set_tcp_nodelay true');
  fs.writeFileSync(conf, `${lines.join('\n')}\n`);
  const child = spawn(binary.path, ['-c', conf], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (chunk) => (stderr += chunk));
  const exited = new Promise((resolve) => child.once('exit', resolve));
  for (let i = 0; !(await portInUse(port)); i++) {
    if (child.exitCode !== null || i > 100) throw new Error(`mosquitto did not start: ${stderr}`);
    await delay(50);
  }
  return {
    url: `mqtt://127.0.0.1:${port}`,
    port,
    pid: child.pid,
    kind: `mosquitto ${binary.version}${noDelay ? ', set_tcp_nodelay true' : ', default settings (set_tcp_nodelay off)'}`,
    settings: { set_tcp_nodelay: noDelay },
    /** At once, for a bench that is exiting on an error. */
    kill: () => {
      child.kill('SIGKILL');
      fs.rmSync(dir, { recursive: true, force: true });
    },
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exited;
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

module.exports = { startBroker, mosquittoBinary };
