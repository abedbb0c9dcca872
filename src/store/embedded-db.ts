import { PGlite, parse, protocol, type Transaction } from '@electric-sql/pglite';
import { preparedName, type Db, type Queryable } from './db';

interface Shared {
  db: Promise<PGlite>;
  users: number;
}

/**
 * One PGlite per data folder in this process: two instances on one folder would corrupt it, and
 * opening one takes seconds. The last user to release it closes it.
 */
const openFolders = new Map<string, Shared>();
/** Closes still running, by folder: a reopen waits for them. */
const closing = new Map<string, Promise<void>>();

/** The named statements prepared on one PGlite (its one session), each with its parameters' types. */
const statementsOf = new WeakMap<PGlite, Map<string, Promise<number[]>>>();

/** Protocol messages sent to PGlite in one call, which answers them in one go. */
const messages = (...parts: Uint8Array[]): Uint8Array => Buffer.concat(parts);

/**
 * Runs a statement prepared once under `name`. PGlite's `query()` parses, and so plans, every
 * statement again (its unnamed statement), and takes no parameters in an SQL `EXECUTE`: the group
 * commit was planned in 1.2 ms and ran in 0.85. Here it is parsed once (Parse with a name, then
 * Describe for its parameters' types) and each run is one call: Bind, Describe, Execute, Sync. The
 * values are serialized and the rows parsed by PGlite's own serializers and parsers, and the data
 * folder synced after a statement outside a transaction, as `query()` does. The caller holds
 * PGlite's query lock, so nothing runs between these messages.
 */
async function runPrepared(db: PGlite, name: string, text: string, params: unknown[], inTransaction: boolean): Promise<{ rows: never[]; rowCount: number }> {
  let statements = statementsOf.get(db);
  if (!statements) statementsOf.set(db, (statements = new Map()));
  const statement = preparedName(name, text);
  for (let attempt = 1; ; attempt++) {
    const types = statements.get(statement) ?? prepare(db, statements, statement, text);
    const dataTypes = await types;
    const values = params.map((value, i) => {
      if (value === null || value === undefined) return null;
      const serializer = db.serializers[dataTypes[i]];
      return serializer ? serializer(value) : String(value);
    });
    try {
      const { messages: answer } = await db.execProtocol(
        messages(protocol.serialize.bind({ statement, values }), protocol.serialize.describe({ type: 'P' }), protocol.serialize.execute({}), protocol.serialize.sync()),
      );
      if (!inTransaction) await db.syncToFs();
      const [result] = parse.parseResults(answer, db.parsers);
      return { rows: (result?.rows ?? []) as never[], rowCount: Math.max(result?.affectedRows ?? 0, result?.rows.length ?? 0) };
    } catch (err) {
      // Dropped behind the store's back (DEALLOCATE, DISCARD ALL: 26000, no such statement): prepared again, once.
      if ((err as { code?: string }).code !== '26000' || attempt > 1) throw err;
      if (statements.get(statement) === types) statements.delete(statement);
    }
  }
}

/**
 * Parses `text` as the named statement `statement` (one left by a failed attempt closed first: Close
 * of a statement that does not exist is no error) and resolves to its parameters' types.
 */
function prepare(db: PGlite, statements: Map<string, Promise<number[]>>, statement: string, text: string): Promise<number[]> {
  const { close, parse: parseStatement, describe, sync } = protocol.serialize;
  const types = db
    .execProtocol(messages(close({ type: 'S', name: statement }), parseStatement({ name: statement, text }), describe({ type: 'S', name: statement }), sync()))
    .then(({ messages: answer }) => parse.parseDescribeStatementResults(answer));
  statements.set(statement, types);
  // Not prepared (an aborted transaction, a missing table): prepared again next time.
  types.catch(() => {
    if (statements.get(statement) === types) statements.delete(statement);
  });
  return types;
}

/** `tx`: the transaction the queries run in, if any; else each is a transaction of its own. */
function wrap(db: PGlite, tx?: Transaction): Queryable {
  const on = tx ?? db;
  return {
    async query(text, params, options) {
      if (options?.name) {
        const { name } = options;
        const run = () => db.runExclusive(() => runPrepared(db, name, text, params ?? [], tx !== undefined));
        // Outside a transaction, wait for any to end, as query() does: the statement must not land in one.
        return tx ? run() : db._runExclusiveTransaction(run);
      }
      const result = await on.query(text, params as unknown[]);
      return { rows: result.rows as never[], rowCount: Math.max(result.affectedRows ?? 0, result.rows.length) };
    },
    async exec(text) {
      await on.exec(text);
    },
  };
}

export function openEmbedded(dataDir: string): Db {
  let shared = openFolders.get(dataDir);
  if (!shared) {
    const previousClose = closing.get(dataDir) ?? Promise.resolve();
    const db = previousClose.then(async () => {
      const instance = new PGlite(dataDir);
      await instance.waitReady;
      return instance;
    });
    shared = { db, users: 0 };
    openFolders.set(dataDir, shared);
  }
  shared.users++;
  const mine = shared;
  let released = false;
  return {
    async query(text, params, options) {
      return wrap(await mine.db).query(text, params, options);
    },
    async exec(text) {
      return wrap(await mine.db).exec(text);
    },
    async transaction(work) {
      const db = await mine.db;
      return db.transaction((tx) => work(wrap(db, tx)));
    },
    async listen(channel, listener) {
      const db = await mine.db;
      const unlisten = await db.listen(channel, (payload) => listener(payload));
      return async () => {
        if (!db.closed) await unlisten();
      };
    },
    async close() {
      if (released) return;
      released = true;
      mine.users--;
      if (mine.users > 0) return;
      openFolders.delete(dataDir);
      const done = mine.db.then((db) => db.close()).catch(() => {});
      closing.set(dataDir, done);
      await done;
      if (closing.get(dataDir) === done) closing.delete(dataDir);
    },
  };
}
