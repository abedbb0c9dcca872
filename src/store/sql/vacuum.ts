import type { Queryable } from '../db';

/** The tables that every transition writes or deletes rows of. */
export const CHURNING_TABLES = ['charts', 'outbox', 'event_ids', 'transitions', 'timers', 'relays'];

/**
 * Removes the dead rows of one of the churning tables (its statistics are refreshed apart, by
 * analyzeTables). The embedded database needs it from us: PGlite runs PostgreSQL as a single user, with no
 * autovacuum (a table seen there with 44,000 dead rows, never vacuumed after 70 s, `autovacuum`
 * shown as `on`), so without it the outbox, updated charts and trimmed logs grow for as long as the
 * gateway runs. So does a PostgreSQL whose autovacuum was turned off. Not in a transaction: VACUUM
 * refuses to run in one.
 */
export async function vacuumTable(db: Queryable, schema: string, table: string): Promise<void> {
  await db.exec(`vacuum ${schema}.${table}`);
}
