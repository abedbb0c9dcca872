import type { Db } from '../db';
import type { ChartRecord } from '../chart-record';
import { saveChart } from './save-chart';

export interface TimerWrite {
  id: string;
  event: unknown;
  delayMs: number;
}

export interface FiredTimer {
  timerId: string;
  /** The chart seq that scheduled it: a re-scheduled timer has a newer one. */
  scheduledSeq: number;
}

export interface TransitionCommit {
  record: ChartRecord;
  expectedSeq: number;
  schedule: TimerWrite[];
  cancel: string[];
  /** The timer whose event this transition applies: it is consumed in the same transaction. */
  fired?: FiredTimer;
  /** The event's idempotency key: remembered with the transition, refused if already there. */
  eventId?: string;
  /** The messages of the transition, kept in the outbox until they are delivered. */
  outbox?: unknown[];
}

/**
 * committed; conflict: another writer changed the chart; stale: the fired timer is gone or
 * replaced; duplicate: an event with this id was already applied to the chart.
 */
export type CommitResult = 'committed' | 'conflict' | 'stale' | 'duplicate';

class Abort extends Error {
  constructor(readonly result: CommitResult) {
    super(result);
  }
}

/**
 * Commits a transition: the chart (compare-and-set on seq), the timers it schedules or cancels, and
 * the consumption of the timer that fired it, all or nothing. Without timers it is one statement.
 */
export async function commitTransition(db: Db, schema: string, commit: TransitionCommit): Promise<CommitResult> {
  const { record, expectedSeq, schedule, cancel, fired, eventId, outbox } = commit;
  if (!fired && !eventId && !outbox && schedule.length === 0 && cancel.length === 0) {
    return (await saveChart(db, schema, record, expectedSeq)) ? 'committed' : 'conflict';
  }
  try {
    return await db.transaction(async (tx) => {
      const key = [record.machineId, record.chartId];
      if (fired) {
        const consumed = await tx.query(
          `delete from ${schema}.timers where machine_id = $1 and chart_id = $2 and timer_id = $3 and scheduled_seq = $4`,
          [...key, fired.timerId, fired.scheduledSeq],
        );
        if (consumed.rowCount !== 1) throw new Abort('stale');
      }
      if (!(await saveChart(tx, schema, record, expectedSeq))) throw new Abort('conflict');
      if (eventId !== undefined) {
        const remembered = await tx.query(
          `insert into ${schema}.event_ids (machine_id, chart_id, event_id, seq) values ($1, $2, $3, $4)
           on conflict (machine_id, chart_id, event_id) do nothing`,
          [...key, eventId, record.seq],
        );
        if (remembered.rowCount !== 1) throw new Abort('duplicate');
      }
      if (cancel.length > 0) {
        await tx.query(`delete from ${schema}.timers where machine_id = $1 and chart_id = $2 and timer_id = any($3::text[])`, [...key, cancel]);
      }
      if (outbox) {
        await tx.query(`insert into ${schema}.outbox (machine_id, chart_id, seq, messages) values ($1, $2, $3, $4::jsonb)`, [...key, record.seq, JSON.stringify(outbox)]);
      }
      for (const timer of schedule) {
        await tx.query(
          `insert into ${schema}.timers (machine_id, chart_id, timer_id, event, due_at, scheduled_seq)
           values ($1, $2, $3, $4::jsonb, now() + $5::double precision * interval '1 millisecond', $6)
           on conflict (machine_id, chart_id, timer_id) do update
             set event = excluded.event, due_at = excluded.due_at, scheduled_seq = excluded.scheduled_seq,
                 claimed_by = null, claimed_until = null`,
          [...key, timer.id, JSON.stringify(timer.event), timer.delayMs, record.seq],
        );
      }
      return 'committed' as const;
    });
  } catch (err) {
    if (err instanceof Abort) return err.result;
    throw err;
  }
}
