'use strict';
// A real Node-RED process with this package installed, for restarts, crashes and several
// processes on one store.
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { spawn } = require('node:child_process');
const { linkPackage } = require('../../scripts/user-dir');

class NodeRedProcess {
  /**
   * `settings`: more of settings.js, e.g. `{ xstate: { tcpNoDelay: false } }` (JSON values only);
   * `nodeArgs`: options for node itself, e.g. `['--cpu-prof']`.
   */
  constructor({ flows, userDir, port = 0, env = {}, settings = {}, nodeArgs = [] }) {
    this.flows = flows;
    this.userDir = userDir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'xstate-nr-'));
    this.port = port;
    this.env = env;
    this.settings = settings;
    this.nodeArgs = nodeArgs;
    this.output = '';
    this.outputListeners = new Set();
  }

  /** Starts Node-RED; resolves at "Started flows" with the time it happened. */
  async start() {
    fs.mkdirSync(this.userDir, { recursive: true });
    linkPackage(this.userDir);
    fs.writeFileSync(path.join(this.userDir, 'flows.json'), JSON.stringify(this.flows, null, 2));
    const settings = {
      flowFile: 'flows.json',
      credentialSecret: false,
      uiHost: '127.0.0.1',
      uiPort: this.port,
      logging: { console: { level: 'info' } },
      editorTheme: { tours: false },
      telemetry: { enabled: false, updateNotification: false },
      ...this.settings,
    };
    fs.writeFileSync(path.join(this.userDir, 'settings.js'), `module.exports = ${JSON.stringify(settings)};\n`);
    const red = require.resolve('node-red/red.js');
    this.child = spawn(process.execPath, [...this.nodeArgs, red, '--userDir', this.userDir, '--settings', path.join(this.userDir, 'settings.js')], {
      env: { ...process.env, ...this.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.exited = new Promise((resolve) => this.child.once('exit', (code, signal) => resolve({ code, signal })));
    const startedAt = this.output.length;
    return new Promise((resolve, reject) => {
      let started = false;
      const onData = (chunk) => {
        this.output += chunk;
        for (const listener of [...this.outputListeners]) listener();
      };
      this.child.stdout.on('data', (chunk) => {
        onData(chunk);
        // The editor's address (and the admin API's): the port is known once Node-RED listens.
        this.url ??= /Server now running at (http:\/\/\S+?)\/?\s/.exec(this.output)?.[1];
        if (!started && this.output.indexOf('Started flows', startedAt) >= 0) {
          started = true;
          resolve(Date.now());
        }
      });
      this.child.stderr.on('data', onData);
      this.child.once('exit', (code) => reject(new Error(`Node-RED exited (${code}) before starting its flows:\n${this.output.slice(-3000)}`)));
    });
  }

  /** Resolves once Node-RED has written a line matching `pattern` (since `from`, an output offset). */
  waitForOutput(pattern, { from = 0, timeoutMs = 20000 } = {}) {
    return new Promise((resolve, reject) => {
      const check = () => {
        const match = pattern.exec(this.output.slice(from));
        if (!match) return;
        this.outputListeners.delete(check);
        clearTimeout(timer);
        resolve(match);
      };
      const timer = setTimeout(() => {
        this.outputListeners.delete(check);
        reject(new Error(`timed out after ${timeoutMs} ms waiting for Node-RED to write ${pattern}:\n${this.output.slice(-2000)}`));
      }, timeoutMs);
      this.outputListeners.add(check);
      check();
    });
  }

  /** Stops Node-RED the way a service manager does (SIGTERM: flows close, then exit). */
  async stop() {
    if (!this.child || this.child.exitCode !== null || this.child.signalCode !== null) return;
    this.child.kill('SIGTERM');
    return this.exited;
  }

  /** Kills Node-RED with no chance to clean up. */
  async kill() {
    if (!this.child || this.child.exitCode !== null || this.child.signalCode !== null) return;
    this.child.kill('SIGKILL');
    return this.exited;
  }
}

module.exports = { NodeRedProcess };
