'use strict';
// A private PgBouncer in front of the suite's PostgreSQL (DATABASE_URL), as production clusters run
// one: transaction pooling, few server connections, its own configuration and port, started as a
// child of the test process.
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { spawn, spawnSync } = require('node:child_process');
const { freePort } = require('./env');

/** Debian puts it in /usr/sbin, which a non-root PATH may leave out. */
const BINARIES = ['pgbouncer', '/usr/sbin/pgbouncer'];

function pgbouncerBinary() {
  return BINARIES.find((binary) => !spawnSync(binary, ['--version']).error);
}

/** Undefined when a `pgbouncer` binary can be run here, else why not. */
function pgbouncerMissing() {
  return pgbouncerBinary() ? undefined : 'no pgbouncer binary (apt-get install pgbouncer)';
}

class PgBouncer {
  /** Starts PgBouncer on a free port in front of `databaseUrl`; resolves once it listens. */
  static async start(databaseUrl, { poolMode = 'transaction', serverConnections = 2 } = {}) {
    const bouncer = new PgBouncer(await freePort(), databaseUrl, poolMode, serverConnections);
    await bouncer.start();
    return bouncer;
  }

  constructor(port, databaseUrl, poolMode, serverConnections) {
    const server = new URL(databaseUrl);
    const database = decodeURIComponent(server.pathname.slice(1)) || 'postgres';
    const user = decodeURIComponent(server.username) || os.userInfo().username;
    this.port = port;
    this.url = `postgres://${encodeURIComponent(user)}@127.0.0.1:${port}/${encodeURIComponent(database)}`;
    this.dir = fs.mkdtempSync(path.join(os.tmpdir(), 'xstate-pgbouncer-'));
    // Run as root, PgBouncer refuses to start unless told a user to become, who must read this.
    fs.chmodSync(this.dir, 0o755);
    this.conf = path.join(this.dir, 'pgbouncer.ini');
    const target = [`host=${server.hostname || '127.0.0.1'}`, `port=${server.port || 5432}`, `dbname=${database}`, `user=${user}`];
    if (server.password) target.push(`password=${decodeURIComponent(server.password)}`);
    const lines = [
      '[databases]',
      `${database} = ${target.join(' ')}`,
      '[pgbouncer]',
      'listen_addr = 127.0.0.1',
      `listen_port = ${port}`,
      'unix_socket_dir =',
      // Clients are not authenticated here: the server connections use the user of DATABASE_URL.
      'auth_type = any',
      `pool_mode = ${poolMode}`,
      `default_pool_size = ${serverConnections}`,
      'max_client_conn = 200',
    ];
    fs.writeFileSync(this.conf, `${lines.join('\n')}\n`);
    this.output = '';
  }

  start() {
    const args = process.getuid?.() === 0 ? ['-u', 'nobody', this.conf] : [this.conf];
    this.child = spawn(pgbouncerBinary(), args, { stdio: ['ignore', 'pipe', 'pipe'] });
    this.exited = new Promise((resolve) => this.child.once('exit', (code, signal) => resolve({ code, signal })));
    return new Promise((resolve, reject) => {
      const onData = (chunk) => {
        this.output += chunk;
        if (/process up/.test(this.output)) resolve();
      };
      this.child.stdout.on('data', onData);
      this.child.stderr.on('data', onData);
      this.child.once('exit', (code) => reject(new Error(`pgbouncer exited (${code}) before it listened:\n${this.output}`)));
    });
  }

  async close() {
    if (this.child && this.child.exitCode === null && this.child.signalCode === null) {
      this.child.kill('SIGINT');
      await this.exited;
    }
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

module.exports = { PgBouncer, pgbouncerMissing };
