import type { Queryable } from '../db';

export interface DueTimer {
  chartId: string;
  timerId: string;
  event: { type: string; [key: string]: unknown };
  scheduledSeq: number;
  dueMs: number;
}

/**
 * Claims up to `limit` due timers of a machine for `owner` for `leaseMs`, earliest first. Rows
 * another process is claiming right now are skipped (SKIP LOCKED); an expired claim (its owner
 * died) is taken over. A claim only avoids duplicate work: firing consumes the row in the
 * transition's own transaction, so a timer fires once even if two owners run it.
 */
export async function claimDueTimers(db: Queryable, schema: string, machineId: string, owner: string, leaseMs: number, limit: number): Promise<DueTimer[]> {
  const { rows } = await db.query<{ chart_id: string; timer_id: string; event: DueTimer['event']; scheduled_seq: string | number; due_ms: string | number }>(
    `update ${schema}.timers t
        set claimed_by = $2, claimed_until = now() + $3::double precision * interval '1 millisecond'
       from (select machine_id, chart_id, timer_id from ${schema}.timers
              where machine_id = $1 and due_at <= now() and (claimed_until is null or claimed_until < now())
              order by due_at
              limit $4
              for update skip locked) due
      where t.machine_id = due.machine_id and t.chart_id = due.chart_id and t.timer_id = due.timer_id
      returning t.chart_id, t.timer_id, t.event, t.scheduled_seq, extract(epoch from t.due_at) * 1000 as due_ms`,
    [machineId, owner, leaseMs, limit],
  );
  return rows
    .map((row) => ({ chartId: row.chart_id, timerId: row.timer_id, event: row.event, scheduledSeq: Number(row.scheduled_seq), dueMs: Number(row.due_ms) }))
    .sort((a, b) => a.dueMs - b.dueMs);
}

export interface TimerOutlook {
  pending: number;
  /** Milliseconds until the next unclaimed timer is due (negative: overdue); undefined: none. */
  nextInMs: number | undefined;
}

export async function timerOutlook(db: Queryable, schema: string, machineId: string): Promise<TimerOutlook> {
  const { rows } = await db.query<{ pending: string | number; next_in_ms: string | number | null }>(
    `select count(*) as pending,
            extract(epoch from (min(due_at) filter (where claimed_until is null or claimed_until < now())) - now()) * 1000 as next_in_ms
       from ${schema}.timers where machine_id = $1`,
    [machineId],
  );
  const row = rows[0];
  return { pending: Number(row?.pending ?? 0), nextInMs: row?.next_in_ms === null || row?.next_in_ms === undefined ? undefined : Number(row.next_in_ms) };
}

/** Gives up this owner's claims (on a clean stop) so another process need not wait for the lease. */
export async function releaseTimers(db: Queryable, schema: string, machineId: string, owner: string): Promise<void> {
  await db.query(`update ${schema}.timers set claimed_by = null, claimed_until = null where machine_id = $1 and claimed_by = $2`, [machineId, owner]);
}

/** Drops a timer whose event the chart no longer accepts (its state was left while it was due). */
export async function dropTimer(db: Queryable, schema: string, machineId: string, chartId: string, timerId: string, scheduledSeq: number): Promise<void> {
  await db.query(`delete from ${schema}.timers where machine_id = $1 and chart_id = $2 and timer_id = $3 and scheduled_seq = $4`, [machineId, chartId, timerId, scheduledSeq]);
}

export interface PendingTimer {
  timerId: string;
  event: unknown;
  dueAt: string;
  /** Milliseconds until it is due, by the database's clock (negative: overdue). */
  inMs: number;
}

/** A chart's pending timers, soonest first. */
export async function chartTimers(db: Queryable, schema: string, machineId: string, chartId: string): Promise<PendingTimer[]> {
  const { rows } = await db.query<{ timer_id: string; event: unknown; due_at: Date | string; in_ms: string | number }>(
    `select timer_id, event, due_at, extract(epoch from due_at - now()) * 1000 as in_ms from ${schema}.timers
      where machine_id = $1 and chart_id = $2 order by due_at`,
    [machineId, chartId],
  );
  return rows.map((row) => ({ timerId: row.timer_id, event: row.event, dueAt: new Date(row.due_at).toISOString(), inMs: Number(row.in_ms) }));
}
