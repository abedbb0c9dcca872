import type { Queryable } from '../db';

export interface DedupWindow {
  /** The last this many event ids of each chart are kept... */
  events: number;
  /** ...and every id younger than this. */
  hours: number;
}

export const DEFAULT_DEDUP_WINDOW: DedupWindow = { events: 1000, hours: 24 };

/** Forgets event ids that are outside both bounds of the window; returns how many. */
export async function pruneEventIds(db: Queryable, schema: string, machineId: string, window: DedupWindow): Promise<number> {
  const { rowCount } = await db.query(
    `delete from ${schema}.event_ids e
      using ${schema}.charts c
      where e.machine_id = $1 and c.machine_id = e.machine_id and c.chart_id = e.chart_id
        and e.applied_at < now() - $3::double precision * interval '1 hour'
        and e.seq <= c.seq - $2`,
    [machineId, window.events, window.hours],
  );
  return rowCount;
}
