import type { Queryable } from '../db';
import type { ChartState } from '../../engine/chart-state';
import { chartTimers } from './timers';

export interface ChartDetail {
  state: ChartState;
  timers: Array<{ id: string; event: unknown; dueAt: string }>;
  transitions: Array<{ seq: number; event: unknown; from: unknown; to: unknown; at: string }>;
  machine: { id: string; version: number; definition: unknown };
}

/** A chart as the editor shows it: its state, pending timers, last transitions and its machine version. */
export async function chartDetail(db: Queryable, schema: string, machineId: string, chartId: string, transitions = 50): Promise<ChartDetail | undefined> {
  const key = [machineId, chartId];
  const chart = await db.query<{ state: ChartState; machine_version: number; definition: unknown }>(
    `select c.state, c.machine_version, m.definition from ${schema}.charts c
       left join ${schema}.machines m on m.machine_id = c.machine_id and m.version = c.machine_version
      where c.machine_id = $1 and c.chart_id = $2`,
    key,
  );
  const row = chart.rows[0];
  if (!row) return undefined;
  const timers = await chartTimers(db, schema, machineId, chartId);
  const log = await db.query<{ seq: string | number; event: unknown; from_value: unknown; to_value: unknown; at: Date | string }>(
    `select seq, event, from_value, to_value, at from ${schema}.transitions where machine_id = $1 and chart_id = $2 order by seq desc limit $3`,
    [...key, transitions],
  );
  return {
    state: row.state,
    timers: timers.map((t) => ({ id: t.timerId, event: t.event, dueAt: t.dueAt })),
    transitions: log.rows.map((t) => ({ seq: Number(t.seq), event: t.event, from: t.from_value, to: t.to_value, at: new Date(t.at).toISOString() })),
    machine: { id: machineId, version: Number(row.machine_version), definition: row.definition },
  };
}
