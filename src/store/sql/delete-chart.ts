import type { Queryable } from '../db';

/** What a deleted chart was at the end: its messages of farewell say so. */
export interface DeletedChart {
  version: number;
  seq: number;
}

/**
 * Deletes a chart; its timers, event ids, outbox rows and log go with it (a trigger, migration 9).
 * Resolves to the version and seq it had, or undefined when there was no such chart.
 */
export async function deleteChart(db: Queryable, schema: string, machineId: string, chartId: string): Promise<DeletedChart | undefined> {
  const { rows } = await db.query<{ machine_version: number; seq: string | number }>(
    `delete from ${schema}.charts where machine_id = $1 and chart_id = $2 returning machine_version, seq`,
    [machineId, chartId],
  );
  return rows.length === 0 ? undefined : { version: rows[0].machine_version, seq: Number(rows[0].seq) };
}
