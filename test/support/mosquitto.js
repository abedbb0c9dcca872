'use strict';
// A private Mosquitto for the tests that stop, freeze or restart a broker: its own configuration,
// port and persistence folder, started as a child of the test process. The shared broker on 1883
// is never touched.
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { spawn, spawnSync } = require('node:child_process');
const { freePort } = require('./env');

/** Undefined when a `mosquitto` binary can be run here, else why not. */
function mosquittoMissing() {
  const probe = spawnSync('mosquitto', ['-h'], { encoding: 'utf8' });
  return probe.error ? `no mosquitto binary (${probe.error.code})` : undefined;
}

class Mosquitto {
  /** Starts a broker on a free port; `persistence` keeps sessions and queued messages across restarts. */
  static async start({ persistence = true } = {}) {
    const broker = new Mosquitto(await freePort(), persistence);
    await broker.start();
    return broker;
  }

  constructor(port, persistence) {
    this.port = port;
    this.url = `mqtt://127.0.0.1:${port}`;
    this.dir = fs.mkdtempSync(path.join(os.tmpdir(), 'xstate-mosquitto-'));
    this.conf = path.join(this.dir, 'mosquitto.conf');
    const lines = [
      `listener ${port} 127.0.0.1`,
      'allow_anonymous true',
      `persistence ${persistence}`,
      `persistence_location ${this.dir}/`,
      'log_dest stderr', // unbuffered: stdout to a pipe would hold the "running" line back
      'log_type error',
      'log_type warning',
      'log_type notice',
      'log_type information',
    ];
    // Run as root, Mosquitto would switch to the user "mosquitto", who cannot write this folder.
    if (process.getuid?.() === 0) lines.push('user root');
    fs.writeFileSync(this.conf, `${lines.join('\n')}\n`);
    this.output = '';
  }

  /** Starts (or starts again) the broker; resolves once it listens. */
  start() {
    this.child = spawn('mosquitto', ['-c', this.conf], { stdio: ['ignore', 'pipe', 'pipe'] });
    this.exited = new Promise((resolve) => this.child.once('exit', (code, signal) => resolve({ code, signal })));
    const from = this.output.length;
    return new Promise((resolve, reject) => {
      const onData = (chunk) => {
        this.output += chunk;
        if (/mosquitto version \S+ running/.test(this.output.slice(from))) resolve();
      };
      this.child.stdout.on('data', onData);
      this.child.stderr.on('data', onData);
      this.child.once('exit', (code) => reject(new Error(`mosquitto exited (${code}) before it listened:\n${this.output.slice(from)}`)));
    });
  }

  /** Stops it the way a service manager does (SIGTERM: it saves its sessions); resolves at exit. */
  async stop() {
    if (!this.running) return;
    this.child.kill('SIGTERM');
    await this.exited;
  }

  /** Freezes the process (SIGSTOP): connections stay open, nothing is read or acknowledged. */
  freeze() {
    this.child.kill('SIGSTOP');
  }

  /** Lets a frozen broker run again (SIGCONT). */
  thaw() {
    this.child.kill('SIGCONT');
  }

  get running() {
    return Boolean(this.child) && this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Stops it (thawed first) and removes its folder. */
  async close() {
    if (this.running) {
      this.thaw();
      await this.stop();
    }
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

module.exports = { Mosquitto, mosquittoMissing };
