import { PGlite, type Transaction } from '@electric-sql/pglite';
import type { Db, Queryable } from './db';

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

function wrap(db: PGlite | Transaction): Queryable {
  return {
    async query(text, params) {
      const result = await db.query(text, params as unknown[]);
      return { rows: result.rows as never[], rowCount: Math.max(result.affectedRows ?? 0, result.rows.length) };
    },
    async exec(text) {
      await db.exec(text);
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
    async query(text, params) {
      return wrap(await mine.db).query(text, params);
    },
    async exec(text) {
      return wrap(await mine.db).exec(text);
    },
    async transaction(work) {
      const db = await mine.db;
      return db.transaction((tx) => work(wrap(tx)));
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
