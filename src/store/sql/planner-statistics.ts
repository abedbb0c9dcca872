import type { Queryable } from '../db';

/**
 * The rows the planner counted in these tables of the schema (`reltuples`, set by ANALYZE and
 * VACUUM; 0 for a table never counted).
 */
export async function plannerRowCounts(db: Queryable, schema: string, tables: string[]): Promise<Map<string, number>> {
  const { rows } = await db.query<{ relname: string; reltuples: number }>(
    `select c.relname, greatest(c.reltuples, 0)::float8 as reltuples
       from pg_class c join pg_namespace n on n.oid = c.relnamespace
      where n.nspname = $1 and c.relname = any($2::text[])`,
    [schema, tables],
  );
  return new Map(rows.map((row) => [row.relname, Number(row.reltuples)]));
}

/** Counts the rows of these tables for the planner (ANALYZE; a table we do not own is skipped with a warning). */
export async function analyzeTables(db: Queryable, schema: string, tables: string[]): Promise<void> {
  await db.exec(`analyze ${tables.map((table) => `${schema}.${table}`).join(', ')}`);
}
