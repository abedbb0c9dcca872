import type { Db } from '../db';

/** The tables that hold rows of a chart beside its own. */
const BESIDE = ['timers', 'event_ids', 'outbox', 'transitions'];

/**
 * Deletes a chart with its timers, event ids, outbox rows and log, in one transaction. The chart's
 * row is locked first: a commit of the chart waiting behind the lock then finds it gone (a
 * conflict), and none that committed before is missed by the deletes that follow.
 */
export async function deleteChart(db: Db, schema: string, machineId: string, chartId: string): Promise<boolean> {
  return db.transaction(async (tx) => {
    const { rowCount } = await tx.query(`select 1 from ${schema}.charts where machine_id = $1 and chart_id = $2 for update`, [machineId, chartId]);
    if (rowCount === 0) return false;
    for (const table of BESIDE) await tx.query(`delete from ${schema}.${table} where machine_id = $1 and chart_id = $2`, [machineId, chartId]);
    await tx.query(`delete from ${schema}.charts where machine_id = $1 and chart_id = $2`, [machineId, chartId]);
    return true;
  });
}
