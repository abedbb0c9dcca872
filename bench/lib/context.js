'use strict';
// What the scenarios of one run share: its id, the brokers, the database, the Node-RED processes,
// and the clean-up (schemas dropped, processes killed, brokers stopped, folders removed).
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const crypto = require('node:crypto');
const pg = require('pg');
const { NodeRedProcess } = require('../../test/support/node-red-process');
const { startBroker } = require('./mosquitto');
const { LoadClient } = require('./mqtt-load');

class BenchContext {
  constructor(options) {
    this.options = options;
    this.runId = `${new Date().toISOString().slice(0, 10).replace(/-/g, '')}_${crypto.randomBytes(3).toString('hex')}`;
    this.databaseUrl = process.env.DATABASE_URL;
    this.dir = fs.mkdtempSync(path.join(os.tmpdir(), 'xstate-bench-'));
    this.schemas = new Set();
    this.brokers = {};
    this.processes = [];
    this.clients = [];
    this.cleanups = [];
    this.profileDir = path.join(__dirname, '..', 'results', 'profiles', this.runId);
    this.started = new Set();
    // A bench that dies of an error must not leave brokers and Node-RED processes behind.
    this.onExit = () => {
      for (const child of this.started) child.kill();
      fs.rmSync(this.dir, { recursive: true, force: true });
    };
    process.on('exit', this.onExit);
  }

  log(message) {
    console.error(`[bench ${new Date().toISOString().slice(11, 19)}] ${message}`);
  }

  /** The broker the bench starts: `noDelay` true (the SPEC's setting) or false (Mosquitto's default). */
  async broker(noDelay = true) {
    const key = noDelay ? 'noDelay' : 'default';
    this.brokers[key] ??= startBroker({ noDelay }).then((broker) => {
      if (broker.kill) this.started.add({ kill: broker.kill });
      return broker;
    });
    return this.brokers[key];
  }

  async client(broker) {
    const client = await LoadClient.connect(broker.url);
    this.clients.push(client);
    return client;
  }

  /** A schema of this run, dropped at the end. */
  schema(label) {
    const name = `bench_${this.runId}_${label}`;
    this.schemas.add(name);
    return name;
  }

  postgresStore(label) {
    if (!this.databaseUrl) throw new Error('DATABASE_URL is not set');
    return { backend: 'postgres', connection: this.databaseUrl, schema: this.schema(label) };
  }

  embeddedStore(label) {
    const dataDir = path.join(this.dir, `pglite-${label}`);
    fs.mkdirSync(dataDir, { recursive: true });
    return { backend: 'embedded', dataDir, schema: 'xstate' };
  }

  /**
   * A pg client of its own (for SQL the package does not do: bulk rows, scratch tables, reads).
   * End it when the scenario is done (connections are shared with everyone); else the run does.
   */
  async sql() {
    const client = new pg.Client({ connectionString: this.databaseUrl, application_name: 'xstate-bench' });
    // A dropped connection fails the query that uses it; it must not crash the bench.
    client.on('error', (err) => this.log(`database connection lost: ${err.message}`));
    await client.connect();
    this.cleanups.push(() => client.end());
    return client;
  }

  /**
   * Has PostgreSQL write a checkpoint now, when the bench uses it, so that a window measured for
   * seconds does not share its time with a checkpoint an earlier scenario's writes started (b
   * writes more than max_wal_size, 1 GB): in a run of hours one comes every 5 minutes, and its slow
   * commits are far below the 99th percentile. Resolves to how long it took, in ms.
   */
  async checkpoint() {
    if (!this.databaseUrl) return 0;
    const client = await this.sql();
    const started = Date.now();
    await client.query('checkpoint');
    await client.end();
    return Date.now() - started;
  }

  /** Starts a Node-RED child process with these flows; it is killed at the end of the run. */
  async nodeRed(flows, { settings = {}, label = 'node-red', nodeArgs = [] } = {}) {
    // --profile: a CPU profile per process, written when it exits (stopped, not killed).
    const profile = this.options.profile ? ['--cpu-prof', `--cpu-prof-dir=${path.join(this.profileDir, label)}`] : [];
    const given = this.options.nodeArgs ? this.options.nodeArgs.split(',').filter(Boolean) : [];
    const nr = new NodeRedProcess({ flows, userDir: fs.mkdtempSync(path.join(this.dir, `${label}-`)), settings, nodeArgs: [...profile, ...given, ...nodeArgs] });
    this.processes.push(nr);
    this.started.add({ kill: () => nr.child?.kill('SIGKILL') });
    const startedAt = await nr.start();
    nr.startedAt = startedAt;
    return nr;
  }

  /** Stops Node-RED as a service manager does (its profile is written then); killed after 20 s. */
  async stopNodeRed(nr) {
    this.processes = this.processes.filter((p) => p !== nr);
    const timer = setTimeout(() => nr.kill(), 20000);
    await nr.stop();
    clearTimeout(timer);
    // BENCH_NODE_RED_OUTPUT=<path prefix>: keep what the process printed (e.g. --node-args=--trace-gc).
    if (process.env.BENCH_NODE_RED_OUTPUT) fs.writeFileSync(`${process.env.BENCH_NODE_RED_OUTPUT}-${path.basename(nr.userDir ?? 'nr')}.log`, nr.output);
  }

  /** The Node-RED process's resident memory in MB (Linux /proc). */
  static rssMb(nr) {
    try {
      const status = fs.readFileSync(`/proc/${nr.child.pid}/status`, 'utf8');
      const kb = (name) => Number(new RegExp(`${name}:\\s+(\\d+)`).exec(status)?.[1]);
      return { rss: Math.round(kb('VmRSS') / 1024), peak: Math.round(kb('VmHWM') / 1024) };
    } catch {
      return undefined;
    }
  }

  async close() {
    for (const client of this.clients.splice(0)) await client.end().catch(() => {});
    for (const nr of this.processes.splice(0)) await this.stopNodeRed(nr).catch(() => nr.kill());
    if (this.databaseUrl && this.schemas.size > 0) {
      const client = new pg.Client({ connectionString: this.databaseUrl });
      await client.connect();
      for (const schema of this.schemas) await client.query(`drop schema if exists "${schema}" cascade`).catch((err) => this.log(`drop ${schema}: ${err.message}`));
      await client.end();
    }
    for (const cleanup of this.cleanups.splice(0).reverse()) await Promise.resolve(cleanup()).catch(() => {});
    for (const broker of Object.values(this.brokers)) await (await broker).stop().catch(() => {});
    fs.rmSync(this.dir, { recursive: true, force: true });
    process.off('exit', this.onExit);
  }
}

module.exports = { BenchContext };
