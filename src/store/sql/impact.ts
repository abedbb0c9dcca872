import type { Queryable } from '../db';

export interface StateGroup {
  version: number;
  value: unknown;
  charts: number;
}

export interface TimerGroup {
  version: number;
  value: unknown;
  eventType: string;
  timers: number;
}

/**
 * How many charts of a machine are in each state of each version: read from the index on
 * (machine_id, machine_version, value_key) alone, so it stays fast on a million charts.
 */
export async function chartsByState(db: Queryable, schema: string, machineId: string): Promise<StateGroup[]> {
  const { rows } = await db.query<{ machine_version: number; value_key: string; charts: string | number }>(
    `select machine_version, value_key, count(*) as charts from ${schema}.charts where machine_id = $1
      group by machine_version, value_key order by machine_version, value_key`,
    [machineId],
  );
  return rows.map((row) => ({ version: Number(row.machine_version), value: JSON.parse(row.value_key), charts: Number(row.charts) }));
}

/** The pending timers of a machine's charts, by the version and state of their chart and their event. */
export async function timersByState(db: Queryable, schema: string, machineId: string): Promise<TimerGroup[]> {
  const { rows } = await db.query<{ machine_version: number; value_key: string; event_type: string; timers: string | number }>(
    `select c.machine_version, c.value_key, t.event->>'type' as event_type, count(*) as timers
       from ${schema}.timers t join ${schema}.charts c on c.machine_id = t.machine_id and c.chart_id = t.chart_id
      where t.machine_id = $1
      group by c.machine_version, c.value_key, t.event->>'type'`,
    [machineId],
  );
  return rows.map((row) => ({ version: Number(row.machine_version), value: JSON.parse(row.value_key), eventType: row.event_type, timers: Number(row.timers) }));
}

/** A page of the ids of the charts not on `version` (to move them now). */
export async function chartsBehind(db: Queryable, schema: string, machineId: string, version: number, after: string, limit: number): Promise<string[]> {
  const { rows } = await db.query<{ chart_id: string }>(
    `select chart_id from ${schema}.charts where machine_id = $1 and machine_version < $2 and chart_id > $3 order by chart_id limit $4`,
    [machineId, version, after, limit],
  );
  return rows.map((row) => row.chart_id);
}
