import type { Queryable } from '../db';
import type { ChartRecord } from '../chart-record';

/**
 * Writes a chart's next state with a compare-and-set on `seq`: a new chart only if none exists, an
 * existing one only if nobody committed since `expectedSeq`. Returns false when another writer won
 * (the caller reloads and recomputes); one statement, so no explicit transaction is needed.
 */
export async function saveChart(db: Queryable, schema: string, record: ChartRecord, expectedSeq: number): Promise<boolean> {
  const state = JSON.stringify(record.state);
  const snapshot = JSON.stringify(record.snapshot);
  if (expectedSeq === 0) {
    const { rowCount } = await db.query(
      `insert into ${schema}.charts (machine_id, chart_id, machine_version, seq, status, state, snapshot, commit_id)
       values ($1, $2, $3, $4, $5, $6::jsonb, $7::jsonb, $8)
       on conflict (machine_id, chart_id) do nothing`,
      [record.machineId, record.chartId, record.machineVersion, record.seq, record.status, state, snapshot, record.commitId ?? null],
    );
    return rowCount === 1;
  }
  const { rowCount } = await db.query(
    `update ${schema}.charts
        set machine_version = $3, seq = $4, status = $5, state = $6::jsonb, snapshot = $7::jsonb, commit_id = $9, updated_at = now()
      where machine_id = $1 and chart_id = $2 and seq = $8`,
    [record.machineId, record.chartId, record.machineVersion, record.seq, record.status, state, snapshot, expectedSeq, record.commitId ?? null],
  );
  return rowCount === 1;
}
