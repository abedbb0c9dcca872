'use strict';
// Awaiting a state of the store's tables on PostgreSQL without polling: a trigger the test adds to
// the table NOTIFYs every row change, and a condition is checked again on each notification.
const crypto = require('node:crypto');
const { Client } = require('pg');

const ident = (name) => `"${String(name).replace(/"/g, '""')}"`;

/**
 * Watches `schema.table` (which must exist) on the PostgreSQL at `connection`. Every insert, update
 * and delete is announced with the operation and the listed `columns` of the row.
 *   changes: every change seen so far, `{ op: 'INSERT' | 'UPDATE' | 'DELETE', row: { column: value } }`
 *   waitFor(predicate(changes), timeoutMs, what): resolves once the changes seen satisfy it
 *   until(check, timeoutMs, what): resolves once `await check()` is truthy, checked now and again
 *     after every change (coalesced), so a state reached before the watch started counts too
 *   close(): drops the trigger and disconnects
 */
async function watchTable(connection, schema, table, columns = ['chart_id', 'seq']) {
  const client = new Client({ connectionString: connection });
  // A lost connection fails the waits (below), never the process.
  let lost;
  const listeners = new Set();
  client.on('error', (err) => {
    lost = err;
    for (const listener of [...listeners]) listener();
  });
  await client.connect();
  const tag = `test_watch_${crypto.randomBytes(4).toString('hex')}`;
  const fields = columns.map((c) => `'${c}', r.${ident(c)}`).join(', ');
  await client.query(`
    create function ${ident(schema)}.${tag}() returns trigger language plpgsql as $$
    declare r record;
    begin
      if TG_OP = 'DELETE' then r := OLD; else r := NEW; end if;
      perform pg_notify('${tag}', json_build_object('op', TG_OP, 'row', json_build_object(${fields}))::text);
      return null;
    end $$;
    create trigger ${tag} after insert or update or delete on ${ident(schema)}.${ident(table)}
      for each row execute function ${ident(schema)}.${tag}();`);
  const changes = [];
  client.on('notification', (message) => {
    if (message.channel !== tag) return;
    changes.push(JSON.parse(message.payload));
    for (const listener of [...listeners]) listener();
  });
  await client.query(`listen ${tag}`);

  /** Calls `test` now and after every change until it resolves truthy; rejects after the timeout. */
  function whenever(test, timeoutMs, what) {
    return new Promise((resolve, reject) => {
      let running = false;
      let again = false;
      let finished = false;
      const finish = (err, value) => {
        finished = true;
        listeners.delete(listener);
        clearTimeout(timer);
        if (err) reject(err);
        else resolve(value);
      };
      const listener = async () => {
        if (finished) return;
        if (lost) return finish(new Error(`lost the watch's connection while waiting for ${what}: ${lost.message}`));
        if (running) {
          again = true;
          return;
        }
        running = true;
        try {
          do {
            again = false;
            const value = await test();
            if (value) return finish(undefined, value);
          } while (again && !finished);
        } catch (err) {
          finish(err);
        } finally {
          running = false;
        }
      };
      const timer = setTimeout(() => finish(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)), timeoutMs);
      listeners.add(listener);
      void listener();
    });
  }

  return {
    changes,
    waitFor: (predicate, timeoutMs = 20000, what = 'a change') => whenever(() => predicate(changes), timeoutMs, what),
    until: (check, timeoutMs = 20000, what = 'the condition') => whenever(check, timeoutMs, what),
    /** A one-off query on the watch's own connection. */
    query: (text, params) => client.query(text, params),
    async close() {
      await client.query(`drop trigger if exists ${tag} on ${ident(schema)}.${ident(table)}; drop function if exists ${ident(schema)}.${tag}()`).catch(() => {});
      await client.end().catch(() => {});
    },
  };
}

module.exports = { watchTable };
