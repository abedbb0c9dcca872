import type { Queryable } from '../db';

/**
 * Whether PostgreSQL has statistics with rows for each of these tables of the schema (an ANALYZE
 * or VACUUM counted them, as autovacuum does within a minute or so of their first writes). Until
 * then a plan made once and reused would be made for empty tables.
 */
export async function haveStatistics(db: Queryable, schema: string, tables: string[]): Promise<boolean> {
  const { rows } = await db.query<{ counted: string | number }>(
    `select count(*) as counted from pg_class c join pg_namespace n on n.oid = c.relnamespace
      where n.nspname = $1 and c.relname = any($2::text[]) and c.reltuples > 0`,
    [schema, tables],
  );
  return Number(rows[0]?.counted) === tables.length;
}
