import type { Queryable } from '../db';

/**
 * Whether PostgreSQL has statistics of these tables of the schema (an ANALYZE or VACUUM counted
 * them, as autovacuum does within a minute or so of their first writes), with rows in those of
 * `withRows`. Until then a plan made once and reused would be made for empty tables.
 */
export async function haveStatistics(db: Queryable, schema: string, tables: string[], withRows: string[]): Promise<boolean> {
  const { rows } = await db.query<{ known: boolean }>(
    `select count(*) = cardinality($2::text[]) and bool_and(c.relname <> all($3::text[]) or c.reltuples > 0) as known
       from pg_class c join pg_namespace n on n.oid = c.relnamespace
      where n.nspname = $1 and c.relname = any($2::text[]) and c.reltuples >= 0`,
    [schema, tables, withRows],
  );
  return rows[0]?.known === true;
}

/** Counts the rows of these tables for the planner (ANALYZE; a table we do not own is skipped with a warning). */
export async function analyzeTables(db: Queryable, schema: string, tables: string[]): Promise<void> {
  await db.exec(`analyze ${tables.map((table) => `${schema}.${table}`).join(', ')}`);
}
