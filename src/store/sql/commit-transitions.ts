import type { Queryable } from '../db';
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
  /** The messages of the transition, kept in the outbox until they are delivered, as they are... */
  outbox?: unknown[];
  /**
   * ...or what makes them again: an OutboxRecord's JSON without its state (see outboxRecordJson in
   * engine/messages.ts); the statement puts in the state it writes to the chart's row.
   */
  outboxRecord?: string;
  /** The relay that delivers the outbox row (see the `relays` table). */
  outboxOwner?: string;
  /** The transition for the chart's log of last transitions: the event, and the values before and after. */
  logged?: { event: unknown; from: unknown; to: unknown };
}

export interface CommitOptions {
  /** Transitions kept in each chart's log (0: none written). */
  transitionsKept: number;
  /**
   * Prepare the statement (parsed once per connection, and soon planned once: 1-2 ms saved per
   * commit). Its caller keeps the plan fit for the tables' size: see below.
   */
  prepared?: boolean;
}

/**
 * committed; conflict: another writer changed the chart; stale: the fired timer is gone or
 * replaced; duplicate: an event with this id was already applied to the chart.
 */
export type CommitResult = 'committed' | 'conflict' | 'stale' | 'duplicate';

/** What became of a transition. */
export interface CommitOutcome {
  result: CommitResult;
  /**
   * Whether, when it landed, its chart had outbox rows of earlier transitions (not yet delivered,
   * or delivered and not yet cleared). False tells a relay that nothing is to be sent before this
   * transition's messages: it need not read the chart's outbox first. True when not known.
   */
  earlierOutbox: boolean;
}

/**
 * The fired timer a transition deletes: the one it consumed, unless it schedules that timer again
 * (the upsert replaces the row) or cancels it (deleted once, as a cancel).
 */
export function firedTimerDeleted(commit: TransitionCommit): string | undefined {
  const timerId = commit.fired?.timerId;
  if (timerId === undefined || commit.schedule.some((t) => t.id === timerId) || commit.cancel.includes(timerId)) return undefined;
  return timerId;
}

/** A chart's log is trimmed to its retention every this many transitions (cheaper than every time). */
const TRIM_LOG_EVERY = 10;

/** A chart's key among the charts of every machine (one chart is never twice in a group). */
export const chartKeyOf = (record: ChartRecord) => `${record.machineId}\u0000${record.chartId}`;

/**
 * Commits a group of transitions of different charts (a chart appears once: the caller keeps two
 * commits of one chart apart) in ONE statement: the charts' rows are written with a compare-and-set
 * on seq, guarded by "this event id is not applied yet" and "the fired timer is still there", and
 * data-modifying CTEs write, for the charts written only, their event ids, timers, outbox rows and
 * log (arrays through `unnest`, as graphile-worker does). One statement is one transaction without
 * BEGIN/COMMIT round trips; each transition is all or nothing on its own, and one refused leaves the
 * others in. Row locks on the charts serialize concurrent writers of a chart, so a timer fires once
 * and an id is applied once. Why a transition was refused is asked only when one was.
 */
export async function commitTransitions(db: Queryable, schema: string, commits: TransitionCommit[], options: CommitOptions = { transitionsKept: 0 }): Promise<CommitOutcome[]> {
  if (commits.length === 0) return [];
  const logging = options.transitionsKept > 0;
  // JSON text goes in the document as a string, parsed once by the cast to its column's type. Put in
  // as nested JSON instead, json_to_recordset parsed it too, and slowly: 63 ms for a group of 500
  // ring transitions against 5 ms as strings (PostgreSQL 15, parse and casts alone). JSON null
  // stays SQL null, as before.
  const jsonText = (value: string | undefined) => (value === 'null' ? undefined : value);

  // The group as one JSON document, one object per transition, made by one JSON.stringify (built
  // by concatenation it was 6% of all the bytes Node-RED allocated in bench a); the state, snapshot
  // and messages, serialized already, go in as strings. An outbox record goes in without its state,
  // which the statement puts in from the state text (a fifth of the document's bytes for the ring).
  // A field without a value is left out (undefined), not written as null: json_to_recordset reads
  // a missing key as null, and five nulls were a tenth of the ring's document.
  const document = JSON.stringify(
    commits.map((c, i) => {
      const { record } = c;
      const logged = logging && c.logged ? c.logged : undefined;
      const state = jsonText(c.json?.state ?? JSON.stringify(record.state));
      // The statement would make no outbox row of a record without a state: refused here, loudly.
      if (c.outboxRecord !== undefined && state === undefined) throw new Error(`chart ${record.chartId}: an outbox record needs the transition's state`);
      return {
        i,
        machine_id: record.machineId,
        chart_id: record.chartId,
        machine_version: record.machineVersion,
        seq: record.seq,
        expected_seq: c.expectedSeq,
        status: record.status,
        state,
        snapshot: jsonText(c.json?.snapshot ?? JSON.stringify(record.snapshot)),
        commit_id: record.commitId,
        event_id: c.eventId,
        fired_timer: c.fired?.timerId,
        fired_seq: c.fired?.scheduledSeq,
        messages: c.outbox === undefined ? undefined : jsonText(JSON.stringify(c.outbox)),
        outbox_record: c.outboxRecord,
        owner: c.outboxOwner,
        log_event: logged ? jsonText(JSON.stringify(logged.event)) : undefined,
        log_from: logged ? jsonText(JSON.stringify(logged.from)) : undefined,
        log_to: logged ? jsonText(JSON.stringify(logged.to)) : undefined,
        log_below: logged && record.seq % TRIM_LOG_EVERY === 0 ? record.seq - options.transitionsKept : undefined,
      };
    }),
  );

  // One operation per timer row: a fired timer that the transition schedules again is replaced by
  // the upsert rather than deleted first, and one it cancels is deleted once.
  const deletes: Array<{ i: number; timer_id: string }> = [];
  commits.forEach((c, i) => {
    for (const timerId of c.cancel) deletes.push({ i, timer_id: timerId });
    const fired = firedTimerDeleted(c);
    if (fired !== undefined) deletes.push({ i, timer_id: fired });
  });
  const schedules = commits.flatMap((c, i) => c.schedule.map((timer) => ({ i, timer_id: timer.id, event: timer.event, delay_ms: timer.delayMs })));

  const { rows: written } = await db.query<{ i: number; earlier_outbox: boolean }>(
    `with input as (
       select i, machine_id, chart_id, machine_version, seq, expected_seq, status, state::jsonb as state, snapshot::json as snapshot,
              commit_id, event_id, fired_timer, fired_seq, owner,
              -- The record is an object with at least its prefix: '{"state":<state>,' and the rest of it.
              coalesce(('{"state":' || state || ',' || substr(outbox_record, 2))::json, messages::json) as messages,
              log_event::jsonb as log_event, log_from::jsonb as log_from, log_to::jsonb as log_to, log_below
         from json_to_recordset($1::json)
         as u(i int, machine_id text, chart_id text, machine_version int, seq bigint, expected_seq bigint, status text, state text, snapshot text,
              commit_id text, event_id text, fired_timer text, fired_seq bigint, messages text, outbox_record text, owner text,
              log_event text, log_from text, log_to text, log_below bigint)
        -- Always true. With no statistics, a range condition is estimated to keep 0.5% of the rows:
        -- the planner expects one transition, not json_to_recordset's default 100, and so looks each
        -- chart up by its key rather than hashing a scan of all charts, bloated or not.
        where u.i between 0 and 2147483647
     ),
     created as (
       insert into ${schema}.charts (machine_id, chart_id, machine_version, seq, status, state, snapshot, commit_id)
       select machine_id, chart_id, machine_version, seq, status, state, snapshot, commit_id from input where expected_seq = 0
       on conflict (machine_id, chart_id) do nothing
       returning machine_id, chart_id
     ),
     updated as (
       update ${schema}.charts c
          set machine_version = u.machine_version, seq = u.seq, status = u.status, state = u.state, snapshot = u.snapshot,
              commit_id = u.commit_id, updated_at = now()
         from input u
        where u.expected_seq <> 0 and c.machine_id = u.machine_id and c.chart_id = u.chart_id and c.seq = u.expected_seq
          -- OFFSET 0 keeps each check a lookup per transition: without it the planner may turn it
          -- into a hash of the whole table, built for every group (event_ids grows with every event).
          and (u.event_id is null or not exists (
                select 1 from ${schema}.event_ids x where x.machine_id = u.machine_id and x.chart_id = u.chart_id and x.event_id = u.event_id offset 0))
          and (u.fired_timer is null or exists (
                select 1 from ${schema}.timers t where t.machine_id = u.machine_id and t.chart_id = u.chart_id and t.timer_id = u.fired_timer and t.scheduled_seq = u.fired_seq offset 0))
       -- The transition's whole input row: joined back to input on i instead, the planner (expecting
       -- one row of each) compared every updated row with every input row, n² for a group of n
       -- (250,000 comparisons, 104 of 133 ms, for a group of 500 on PGlite).
       returning u.*
     ),
     landed as (
       select input.* from input join created using (machine_id, chart_id)
       union all
       select * from updated
     ),
     ids as (
       insert into ${schema}.event_ids (machine_id, chart_id, event_id, seq)
       select machine_id, chart_id, event_id, seq from landed where event_id is not null
       on conflict do nothing
     ),
     gone as (
       delete from ${schema}.timers t using jsonb_to_recordset($2::jsonb) as d(i int, timer_id text), landed l
        -- Always true, as in input: expecting jsonb_to_recordset's default 100 rows, the planner
        -- hashed a scan of all timers (cheaper than 100 lookups up to tens of thousands of timers).
        where d.i between 0 and 2147483647
          and l.i = d.i and t.machine_id = l.machine_id and t.chart_id = l.chart_id and t.timer_id = d.timer_id
     ),
     scheduled as (
       insert into ${schema}.timers (machine_id, chart_id, timer_id, event, due_at, scheduled_seq)
       select l.machine_id, l.chart_id, s.timer_id, s.event, now() + s.delay_ms * interval '1 millisecond', l.seq
         from jsonb_to_recordset($3::jsonb) as s(i int, timer_id text, event jsonb, delay_ms double precision) join landed l using (i)
       on conflict (machine_id, chart_id, timer_id) do update
         set event = excluded.event, due_at = excluded.due_at, scheduled_seq = excluded.scheduled_seq, claimed_by = null, claimed_until = null
     ),
     sent as (
       insert into ${schema}.outbox (machine_id, chart_id, seq, messages, owner)
       select machine_id, chart_id, seq, messages, owner from landed where messages is not null
     ),
     logged as (
       insert into ${schema}.transitions (machine_id, chart_id, seq, event, from_value, to_value)
       select machine_id, chart_id, seq, log_event, log_from, log_to from landed where log_to is not null
     ),
     trimmed as (
       delete from ${schema}.transitions t using landed l
        where l.log_below is not null and t.machine_id = l.machine_id and t.chart_id = l.chart_id and t.seq <= l.log_below
     )
     -- The statement's snapshot has every earlier transition of a landed chart: the one before it
     -- committed before its seq was read (compare-and-set), and those before that likewise.
     select l.i, exists (select 1 from ${schema}.outbox o where o.machine_id = l.machine_id and o.chart_id = l.chart_id and o.seq < l.seq) as earlier_outbox
       from landed l`,
    [document, JSON.stringify(deletes), JSON.stringify(schedules)],
    // A prepared statement soon runs on a generic plan made once, from what the planner knew of the
    // tables then. Made on a fresh schema, that plan hashed all of event_ids and scanned all of
    // charts for every group, and a run slowed from 4,300 to 1,250 transitions/s within 50 s, until
    // a VACUUM or ANALYZE happened to replace it; the guards above do not cover every such plan (on
    // near-empty tables one looked charts up through charts_by_state by machine alone, and one
    // made after a table of a few dozen rows was analyzed scans it). So the caller that prepares it
    // has the tables analyzed again as they grow (ChartStore.analyzeGrownTables).
    options.prepared ? { name: `xstate-commit:${schema}` } : undefined,
  );
  const earlierOutbox = new Map(written.map((row) => [Number(row.i), row.earlier_outbox]));
  const results = earlierOutbox.size === commits.length ? commits.map((): CommitResult => 'committed') : await whyRefused(db, schema, commits, new Set(earlierOutbox.keys()));
  return results.map((result, i) => ({ result, earlierOutbox: earlierOutbox.get(i) ?? true }));
}

/**
 * For the transitions a group left out: an event id already applied, a fired timer gone or
 * replaced, or else a compare-and-set conflict (read after the fact; the caller reloads anyway).
 */
async function whyRefused(db: Queryable, schema: string, commits: TransitionCommit[], written: Set<number>): Promise<CommitResult[]> {
  const refused = commits.map((c, i) => ({ c, i })).filter(({ i }) => !written.has(i));
  const { rows } = await db.query<{ i: number; applied: boolean; timer_gone: boolean }>(
    `select r.i,
            r.event_id is not null and exists (select 1 from ${schema}.event_ids x where x.machine_id = r.machine_id and x.chart_id = r.chart_id and x.event_id = r.event_id) as applied,
            r.fired_timer is not null and not exists (select 1 from ${schema}.timers t where t.machine_id = r.machine_id and t.chart_id = r.chart_id and t.timer_id = r.fired_timer and t.scheduled_seq = r.fired_seq) as timer_gone
       from unnest($1::int[], $2::text[], $3::text[], $4::text[], $5::text[], $6::bigint[]) as r(i, machine_id, chart_id, event_id, fired_timer, fired_seq)`,
    [
      refused.map(({ i }) => i),
      refused.map(({ c }) => c.record.machineId),
      refused.map(({ c }) => c.record.chartId),
      refused.map(({ c }) => c.eventId ?? null),
      refused.map(({ c }) => c.fired?.timerId ?? null),
      refused.map(({ c }) => c.fired?.scheduledSeq ?? null),
    ],
  );
  const results: CommitResult[] = commits.map(() => 'committed');
  for (const row of rows) results[Number(row.i)] = row.applied ? 'duplicate' : row.timer_gone ? 'stale' : 'conflict';
  return results;
}

/**
 * After a failure that may have happened after the commit landed (a connection lost while the
 * statement's result was on its way): the commits whose chart row carries their commit id are in.
 * Undefined when none is, i.e. the group did not land and can be committed again as it is.
 */
export async function landedBefore(db: Queryable, schema: string, commits: TransitionCommit[]): Promise<CommitOutcome[] | undefined> {
  const { rows } = await db.query<{ machine_id: string; chart_id: string; commit_id: string | null }>(
    `select c.machine_id, c.chart_id, c.commit_id from ${schema}.charts c
       join unnest($1::text[], $2::text[]) as k(machine_id, chart_id) on c.machine_id = k.machine_id and c.chart_id = k.chart_id`,
    [commits.map((c) => c.record.machineId), commits.map((c) => c.record.chartId)],
  );
  const stored = new Map(rows.map((row) => [`${row.machine_id}\u0000${row.chart_id}`, row.commit_id]));
  const landed = commits.map((c) => c.record.commitId !== undefined && stored.get(chartKeyOf(c.record)) === c.record.commitId);
  if (!landed.some(Boolean)) return undefined;
  // The group's statement committed: what is not in was refused then; its caller reloads.
  return landed.map((yes) => ({ result: yes ? 'committed' : 'conflict', earlierOutbox: true }));
}
