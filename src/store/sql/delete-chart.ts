import type { Queryable } from '../db';

/** Deletes a chart; its timers, event ids, outbox rows and log go with it (a trigger, migration 9). */
export async function deleteChart(db: Queryable, schema: string, machineId: string, chartId: string): Promise<boolean> {
  const { rowCount } = await db.query(`delete from ${schema}.charts where machine_id = $1 and chart_id = $2`, [machineId, chartId]);
  return rowCount > 0;
}
