import type { Db, Queryable } from '../db';
import type { ChartRecord } from '../chart-record';

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
  /** The record's state and snapshot as JSON text, when the caller has them already. */
  json?: { state: string; snapshot: string };
  expectedSeq: number;
  schedule: TimerWrite[];
  cancel: string[];
  /** The timer whose event this transition applies: it is consumed in the same transaction. */
  fired?: FiredTimer;
  /** The event's idempotency key: remembered with the transition, refused if already there. */
  eventId?: string;
  /** The messages of the transition, kept in the outbox until they are delivered. */
  outbox?: unknown[];
  /** The relay that delivers the outbox row (see the `relays` table). */
  outboxOwner?: string;
}

/**
 * committed; conflict: another writer changed the chart; stale: the fired timer is gone or
 * replaced; duplicate: an event with this id was already applied to the chart.
 */
export type CommitResult = 'committed' | 'conflict' | 'stale' | 'duplicate';

/** A chart appears at most once in a group: the caller keeps two commits of one chart apart. */
const keyOf = (record: ChartRecord) => `${record.machineId}\u0000${record.chartId}`;

/**
 * Commits a group of transitions of different charts in one transaction, one statement per table
 * for the whole group (arrays through `unnest`, as graphile-worker does). Each transition is all or
 * nothing on its own: a compare-and-set failure, an already applied event id or a consumed timer
 * leaves that transition out and the others in. The checks that can refuse a transition run before
 * anything is written, so a refused one leaves no trace; the timer rows they read are locked until
 * the commit, so a timer is consumed once.
 */
export async function commitTransitions(db: Db, schema: string, commits: TransitionCommit[]): Promise<CommitResult[]> {
  const results: Array<CommitResult | undefined> = commits.map(() => undefined);
  if (commits.length === 0) return [];
  return db.transaction(async (tx) => {
    await refuseStaleTimers(tx, schema, commits, results);
    await refuseAppliedEvents(tx, schema, commits, results);
    const written = await writeCharts(tx, schema, commits, results);
    const landed = commits.filter((_, i) => written.has(i));
    commits.forEach((_, i) => (results[i] ??= written.has(i) ? 'committed' : 'conflict'));
    if (landed.length > 0) await writeWithCharts(tx, schema, landed);
    return results as CommitResult[];
  });
}

/**
 * After a failure that may have happened after the commit landed (a connection lost during
 * COMMIT): the commits whose chart row carries their commit id are in. Undefined when none is, i.e.
 * the group did not land and can be committed again as it is.
 */
export async function landedBefore(db: Queryable, schema: string, commits: TransitionCommit[]): Promise<CommitResult[] | undefined> {
  const { rows } = await db.query<{ machine_id: string; chart_id: string; commit_id: string | null }>(
    `select c.machine_id, c.chart_id, c.commit_id from ${schema}.charts c
       join unnest($1::text[], $2::text[]) as k(machine_id, chart_id) on c.machine_id = k.machine_id and c.chart_id = k.chart_id`,
    [commits.map((c) => c.record.machineId), commits.map((c) => c.record.chartId)],
  );
  const stored = new Map(rows.map((row) => [`${row.machine_id}\u0000${row.chart_id}`, row.commit_id]));
  const landed = commits.map((c) => c.record.commitId !== undefined && stored.get(keyOf(c.record)) === c.record.commitId);
  if (!landed.some(Boolean)) return undefined;
  // The group's transaction committed: what is not in was refused then; its caller reloads.
  return landed.map((yes) => (yes ? 'committed' : 'conflict'));
}

async function refuseStaleTimers(tx: Queryable, schema: string, commits: TransitionCommit[], results: Array<CommitResult | undefined>): Promise<void> {
  const fired = commits.map((c, i) => ({ c, i })).filter(({ c }) => c.fired);
  if (fired.length === 0) return;
  const { rows } = await tx.query<{ i: number }>(
    `select f.i from unnest($1::int[], $2::text[], $3::text[], $4::text[], $5::bigint[]) as f(i, machine_id, chart_id, timer_id, scheduled_seq)
       join ${schema}.timers t on t.machine_id = f.machine_id and t.chart_id = f.chart_id and t.timer_id = f.timer_id and t.scheduled_seq = f.scheduled_seq
       for update of t`,
    [
      fired.map(({ i }) => i),
      fired.map(({ c }) => c.record.machineId),
      fired.map(({ c }) => c.record.chartId),
      fired.map(({ c }) => c.fired?.timerId),
      fired.map(({ c }) => c.fired?.scheduledSeq),
    ],
  );
  const present = new Set(rows.map((row) => Number(row.i)));
  for (const { i } of fired) if (!present.has(i)) results[i] = 'stale';
}

async function refuseAppliedEvents(tx: Queryable, schema: string, commits: TransitionCommit[], results: Array<CommitResult | undefined>): Promise<void> {
  const withId = commits.map((c, i) => ({ c, i })).filter(({ c, i }) => c.eventId !== undefined && results[i] === undefined);
  if (withId.length === 0) return;
  const { rows } = await tx.query<{ i: number }>(
    `select e.i from unnest($1::int[], $2::text[], $3::text[], $4::text[]) as e(i, machine_id, chart_id, event_id)
      where exists (select 1 from ${schema}.event_ids x where x.machine_id = e.machine_id and x.chart_id = e.chart_id and x.event_id = e.event_id)`,
    [withId.map(({ i }) => i), withId.map(({ c }) => c.record.machineId), withId.map(({ c }) => c.record.chartId), withId.map(({ c }) => c.eventId)],
  );
  for (const row of rows) results[Number(row.i)] = 'duplicate';
}

/** Inserts new charts and updates existing ones with a compare-and-set on seq; returns the indexes written. */
async function writeCharts(tx: Queryable, schema: string, commits: TransitionCommit[], results: Array<CommitResult | undefined>): Promise<Set<number>> {
  const written = new Set<number>();
  const open = commits.map((c, i) => ({ c, i })).filter(({ i }) => results[i] === undefined);
  const columns = (list: typeof open) => [
    list.map(({ i }) => i),
    list.map(({ c }) => c.record.machineId),
    list.map(({ c }) => c.record.chartId),
    list.map(({ c }) => c.record.machineVersion),
    list.map(({ c }) => c.record.seq),
    list.map(({ c }) => c.record.status),
    list.map(({ c }) => c.json?.state ?? JSON.stringify(c.record.state)),
    list.map(({ c }) => c.json?.snapshot ?? JSON.stringify(c.record.snapshot)),
    list.map(({ c }) => c.record.commitId ?? null),
    list.map(({ c }) => c.expectedSeq),
  ];
  const input = `unnest($1::int[], $2::text[], $3::text[], $4::int[], $5::bigint[], $6::text[], $7::jsonb[], $8::jsonb[], $9::text[], $10::bigint[])
                 as u(i, machine_id, chart_id, machine_version, seq, status, state, snapshot, commit_id, expected_seq)`;
  const created = open.filter(({ c }) => c.expectedSeq === 0);
  if (created.length > 0) {
    const { rows } = await tx.query<{ i: number }>(
      `with input as (select * from ${input}),
            inserted as (
              insert into ${schema}.charts (machine_id, chart_id, machine_version, seq, status, state, snapshot, commit_id)
              select machine_id, chart_id, machine_version, seq, status, state, snapshot, commit_id from input
              on conflict (machine_id, chart_id) do nothing
              returning machine_id, chart_id)
       select input.i from input join inserted using (machine_id, chart_id)`,
      columns(created),
    );
    for (const row of rows) written.add(Number(row.i));
  }
  const updated = open.filter(({ c }) => c.expectedSeq !== 0);
  if (updated.length > 0) {
    const { rows } = await tx.query<{ i: number }>(
      `update ${schema}.charts c
          set machine_version = u.machine_version, seq = u.seq, status = u.status, state = u.state, snapshot = u.snapshot,
              commit_id = u.commit_id, updated_at = now()
         from ${input}
        where c.machine_id = u.machine_id and c.chart_id = u.chart_id and c.seq = u.expected_seq
       returning u.i`,
      columns(updated),
    );
    for (const row of rows) written.add(Number(row.i));
  }
  return written;
}

/** What a written transition brings along: its event id, timers and outbox row. */
async function writeWithCharts(tx: Queryable, schema: string, landed: TransitionCommit[]): Promise<void> {
  const machine = (c: TransitionCommit) => c.record.machineId;
  const chart = (c: TransitionCommit) => c.record.chartId;

  const withId = landed.filter((c) => c.eventId !== undefined);
  if (withId.length > 0) {
    await tx.query(
      `insert into ${schema}.event_ids (machine_id, chart_id, event_id, seq)
       select * from unnest($1::text[], $2::text[], $3::text[], $4::bigint[]) on conflict do nothing`,
      [withId.map(machine), withId.map(chart), withId.map((c) => c.eventId), withId.map((c) => c.record.seq)],
    );
  }

  // One operation per timer row: a fired timer that the transition schedules again is replaced
  // by the upsert below rather than deleted first.
  const deletes: Array<{ c: TransitionCommit; timerId: string }> = [];
  for (const c of landed) {
    const rescheduled = new Set(c.schedule.map((t) => t.id));
    for (const timerId of c.cancel) deletes.push({ c, timerId });
    if (c.fired && !rescheduled.has(c.fired.timerId) && !c.cancel.includes(c.fired.timerId)) deletes.push({ c, timerId: c.fired.timerId });
  }
  if (deletes.length > 0) {
    await tx.query(
      `delete from ${schema}.timers t using unnest($1::text[], $2::text[], $3::text[]) as d(machine_id, chart_id, timer_id)
        where t.machine_id = d.machine_id and t.chart_id = d.chart_id and t.timer_id = d.timer_id`,
      [deletes.map((d) => machine(d.c)), deletes.map((d) => chart(d.c)), deletes.map((d) => d.timerId)],
    );
  }

  const schedules = landed.flatMap((c) => c.schedule.map((timer) => ({ c, timer })));
  if (schedules.length > 0) {
    await tx.query(
      `insert into ${schema}.timers (machine_id, chart_id, timer_id, event, due_at, scheduled_seq)
       select machine_id, chart_id, timer_id, event, now() + delay_ms * interval '1 millisecond', scheduled_seq
         from unnest($1::text[], $2::text[], $3::text[], $4::jsonb[], $5::double precision[], $6::bigint[])
           as s(machine_id, chart_id, timer_id, event, delay_ms, scheduled_seq)
       on conflict (machine_id, chart_id, timer_id) do update
         set event = excluded.event, due_at = excluded.due_at, scheduled_seq = excluded.scheduled_seq,
             claimed_by = null, claimed_until = null`,
      [
        schedules.map((s) => machine(s.c)),
        schedules.map((s) => chart(s.c)),
        schedules.map((s) => s.timer.id),
        schedules.map((s) => JSON.stringify(s.timer.event)),
        schedules.map((s) => s.timer.delayMs),
        schedules.map((s) => s.c.record.seq),
      ],
    );
  }

  const withOutbox = landed.filter((c) => c.outbox !== undefined);
  if (withOutbox.length > 0) {
    await tx.query(
      `insert into ${schema}.outbox (machine_id, chart_id, seq, messages, owner)
       select * from unnest($1::text[], $2::text[], $3::bigint[], $4::jsonb[], $5::text[])`,
      [withOutbox.map(machine), withOutbox.map(chart), withOutbox.map((c) => c.record.seq), withOutbox.map((c) => JSON.stringify(c.outbox)), withOutbox.map((c) => c.outboxOwner ?? null)],
    );
  }
}
