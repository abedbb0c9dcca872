import type { Queryable } from '../db';

export async function countCharts(db: Queryable, schema: string, machineId: string): Promise<number> {
  const { rows } = await db.query<{ count: string | number }>(`select count(*) as count from ${schema}.charts where machine_id = $1`, [machineId]);
  return Number(rows[0]?.count ?? 0);
}
