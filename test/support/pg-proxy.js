'use strict';
// A TCP proxy in front of PostgreSQL that can lose a connection at the worst moment: after the
// server committed a transaction and before the client heard so. Point a store's connection string
// at it (`proxy.connectionString(url)`), arm a cut, and the client sees "Connection terminated"
// for a COMMIT that landed.
//
//   const proxy = await PgProxy.start();                      // in front of 127.0.0.1:5432
//   const store = { backend: 'postgres', connection: proxy.connectionString(process.env.DATABASE_URL) };
//   const cut = proxy.cutAfterCommit({ when: (statements) => statements.some((s) => /outbox/.test(s)) });
//   ...                                                       // something commits
//   const { statements } = await cut;                         // the transaction whose reply was lost
//   await proxy.close();
//
// It reads the client's side of the protocol only as far as it must: the untyped start-up messages,
// then typed messages, noting the SQL of simple queries ('Q') and of parsed statements ('P') since
// BEGIN. A statement outside BEGIN...COMMIT is a transaction of its own, committed when the server
// finished it: for it, the cut comes after the Sync ('S') that ends it. It does not speak TLS (pg
// does not ask for it unless sslmode says so).
const net = require('node:net');

const SSL_REQUEST = 80877103;
const GSS_REQUEST = 80877104;

class Connection {
  constructor(proxy, client) {
    this.proxy = proxy;
    this.client = client;
    this.server = net.connect(proxy.target.port, proxy.target.host);
    this.inbound = Buffer.alloc(0); // client → server bytes not parsed yet
    this.outbound = Buffer.alloc(0); // server → client bytes, parsed only while a cut waits for the reply
    this.startup = true;
    this.inTransaction = false;
    this.statements = [];
    this.cut = undefined; // the armed cut this connection's COMMIT takes, while its reply is awaited
    client.on('data', (chunk) => this.fromClient(chunk));
    this.server.on('data', (chunk) => this.fromServer(chunk));
    for (const socket of [client, this.server]) {
      socket.on('error', () => this.destroy());
      socket.on('close', () => this.destroy());
    }
  }

  fromClient(chunk) {
    this.inbound = Buffer.concat([this.inbound, chunk]);
    for (;;) {
      if (this.startup) {
        if (this.inbound.length < 8) break;
        const length = this.inbound.readInt32BE(0);
        if (this.inbound.length < length) break;
        const code = this.inbound.readInt32BE(4);
        // After an SSL or GSS request the server answers one byte and the client starts up again.
        if (code !== SSL_REQUEST && code !== GSS_REQUEST) this.startup = false;
        this.inbound = this.inbound.subarray(length);
        continue;
      }
      if (this.inbound.length < 5) break;
      const length = this.inbound.readInt32BE(1);
      if (this.inbound.length < 1 + length) break;
      const type = String.fromCharCode(this.inbound[0]);
      const body = this.inbound.subarray(5, 1 + length);
      this.inbound = this.inbound.subarray(1 + length);
      if (type === 'Q') this.query(body.toString('utf8', 0, body.indexOf(0)));
      else if (type === 'P') {
        const nameEnd = body.indexOf(0);
        this.statements.push(body.toString('utf8', nameEnd + 1, body.indexOf(0, nameEnd + 1)));
      } else if (type === 'S' && !this.inTransaction) {
        this.commitOf([...this.statements]);
      }
    }
    this.server.write(chunk);
  }

  query(sql) {
    const text = sql.trim().replace(/;$/, '').toUpperCase();
    if (text === 'BEGIN' || text.startsWith('BEGIN ') || text.startsWith('START TRANSACTION')) {
      this.statements = [];
      this.inTransaction = true;
      return;
    }
    if (text === 'COMMIT' || text === 'END') {
      this.inTransaction = false;
      this.commitOf([...this.statements]);
      return;
    }
    if (text === 'ROLLBACK') {
      this.inTransaction = false;
      this.statements = [];
      return;
    }
    this.statements.push(sql);
    // A simple query outside a transaction commits on its own.
    if (!this.inTransaction) this.commitOf([...this.statements]);
  }

  /** A transaction is about to commit with these statements: take an armed cut it satisfies. */
  commitOf(statements) {
    this.statements = [];
    if (statements.length === 0) return;
    const armed = this.proxy.armed.find((cut) => cut.when(statements));
    if (!armed) return;
    this.proxy.armed.splice(this.proxy.armed.indexOf(armed), 1);
    this.cut = { ...armed, statements };
  }

  fromServer(chunk) {
    if (!this.cut) {
      this.client.write(chunk);
      return;
    }
    // The COMMIT went to the server: hold its reply back, and once ReadyForQuery says the server
    // finished it, drop both sides without a word to the client.
    this.outbound = Buffer.concat([this.outbound, chunk]);
    while (this.outbound.length >= 5) {
      const length = this.outbound.readInt32BE(1);
      if (this.outbound.length < 1 + length) break;
      const type = String.fromCharCode(this.outbound[0]);
      this.outbound = this.outbound.subarray(1 + length);
      if (type === 'Z') {
        const { resolve, statements } = this.cut;
        this.cut = undefined;
        this.destroy();
        this.proxy.cuts++;
        resolve({ statements });
        return;
      }
    }
  }

  destroy() {
    this.client.destroy();
    this.server.destroy();
    this.proxy.connections.delete(this);
  }
}

class PgProxy {
  /** Starts a proxy on a free local port in front of `target` (default 127.0.0.1:5432). */
  static async start({ host = '127.0.0.1', port = 5432 } = {}) {
    const proxy = new PgProxy({ host, port });
    await new Promise((resolve, reject) => {
      proxy.server.once('error', reject);
      proxy.server.listen(0, '127.0.0.1', resolve);
    });
    proxy.port = proxy.server.address().port;
    return proxy;
  }

  constructor(target) {
    this.target = target;
    this.armed = [];
    this.cuts = 0;
    this.connections = new Set();
    this.server = net.createServer((client) => this.connections.add(new Connection(this, client)));
  }

  /** `url` (a postgres:// connection string) with its host and port replaced by the proxy's. */
  connectionString(url) {
    const parsed = new URL(url);
    parsed.hostname = '127.0.0.1';
    parsed.port = String(this.port);
    return parsed.toString();
  }

  /**
   * Arms one cut: the next transaction, on any connection, whose statements (the SQL text of each
   * query since BEGIN, in order; or the one statement of an implicit transaction) satisfy `when` has
   * its COMMIT (or Sync) delivered to the server, and then, once the server has finished it, the
   * connection is closed before the reply reaches the client.
   * Resolves with `{ statements }` once it happened.
   */
  cutAfterCommit({ when = () => true } = {}) {
    return new Promise((resolve) => this.armed.push({ when, resolve }));
  }

  /** Closes every connection now, as a server restart or a network failure would. */
  dropConnections() {
    for (const connection of [...this.connections]) connection.destroy();
  }

  async close() {
    this.armed = [];
    this.dropConnections();
    await new Promise((resolve) => this.server.close(() => resolve()));
  }
}

module.exports = { PgProxy };
