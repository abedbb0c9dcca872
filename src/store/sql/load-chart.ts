import type { Queryable } from '../db';
import type { ChartRecord } from '../chart-record';

export async function loadChart(db: Queryable, schema: string, machineId: string, chartId: string): Promise<ChartRecord | undefined> {
  const { rows } = await db.query<{ machine_version: number; seq: string | number; status: string; state: ChartRecord['state']; snapshot: ChartRecord['snapshot']; commit_id: string | null }>(
    `select machine_version, seq, status, state, snapshot, commit_id from ${schema}.charts where machine_id = $1 and chart_id = $2`,
    [machineId, chartId],
  );
  const row = rows[0];
  if (!row) return undefined;
  return { machineId, chartId, machineVersion: Number(row.machine_version), seq: Number(row.seq), status: row.status, state: row.state, snapshot: row.snapshot, commitId: row.commit_id ?? undefined };
}
