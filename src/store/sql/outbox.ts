import type { Queryable } from '../db';

export interface OutboxEntry {
  chartId: string;
  seq: number;
  messages: unknown[];
}

/** Undelivered transitions of a machine, oldest first per chart. */
export async function readOutbox(db: Queryable, schema: string, machineId: string, limit: number): Promise<OutboxEntry[]> {
  const { rows } = await db.query<{ chart_id: string; seq: string | number; messages: unknown[] }>(
    `select chart_id, seq, messages from ${schema}.outbox where machine_id = $1 order by chart_id, seq limit $2`,
    [machineId, limit],
  );
  return rows.map((row) => ({ chartId: row.chart_id, seq: Number(row.seq), messages: row.messages }));
}

/** Forgets delivered transitions. */
export async function clearOutbox(db: Queryable, schema: string, machineId: string, delivered: Array<{ chartId: string; seq: number }>): Promise<void> {
  if (delivered.length === 0) return;
  await db.query(
    `delete from ${schema}.outbox o using unnest($2::text[], $3::bigint[]) as d(chart_id, seq)
      where o.machine_id = $1 and o.chart_id = d.chart_id and o.seq = d.seq`,
    [machineId, delivered.map((d) => d.chartId), delivered.map((d) => d.seq)],
  );
}
