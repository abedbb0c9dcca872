import type { Queryable } from '../db';

export interface ChartSummary {
  chartId: string;
  value: unknown;
  status: string;
  seq: number;
  version: number;
  updatedAt: string;
}

/**
 * One page of a machine's charts in chart id order, those whose id starts with `prefix`, after the
 * chart id `after`: a walk of the primary key from there, never the whole table. `next` is the
 * `after` of the following page, or null.
 */
export async function listCharts(db: Queryable, schema: string, machineId: string, prefix: string, after: string, limit: number): Promise<{ charts: ChartSummary[]; next: string | null }> {
  const { rows } = await db.query<{ chart_id: string; value: unknown; status: string; seq: string | number; machine_version: number; updated_at: Date | string }>(
    `select chart_id, state->'value' as value, status, seq, machine_version, updated_at from ${schema}.charts
      where machine_id = $1 and chart_id > $3 and chart_id >= $2 and starts_with(chart_id, $2)
      order by chart_id limit $4`,
    [machineId, prefix, after, limit + 1],
  );
  const charts = rows.slice(0, limit).map((row) => ({
    chartId: row.chart_id,
    value: row.value,
    status: row.status,
    seq: Number(row.seq),
    version: Number(row.machine_version),
    updatedAt: new Date(row.updated_at).toISOString(),
  }));
  return { charts, next: rows.length > limit ? charts[charts.length - 1].chartId : null };
}
