import type { Queryable } from '../db';
import { outboxMessages } from '../../engine/messages';

/**
 * The outbox: the messages of committed transitions until they are delivered. Each row has an
 * owner, the relay that sends it (see relays.ts); a row whose owner stopped renewing its lease is
 * an orphan that any relay of the machine may adopt.
 */
export interface OutboxEntry {
  chartId: string;
  seq: number;
  messages: unknown[];
}

export interface OutboxRow extends OutboxEntry {
  owner: string | null;
  /** Owned by the relay that asked. */
  mine: boolean;
  /** Owned by nobody alive: adoptable. */
  orphaned: boolean;
}

const orphaned = (schema: string) =>
  `(o.owner is null or not exists (select 1 from ${schema}.relays r where r.owner = o.owner and r.alive_until > now()))`;

/** Every outbox row of some charts, oldest first per chart, with who owns it. */
export async function readChartOutbox(db: Queryable, schema: string, machineId: string, chartIds: string[], owner: string): Promise<OutboxRow[]> {
  const { rows } = await db.query<{ chart_id: string; seq: string | number; messages: unknown; owner: string | null; orphaned: boolean }>(
    `select o.chart_id, o.seq, o.messages, o.owner, ${orphaned(schema)} and o.owner is distinct from $3 as orphaned
       from ${schema}.outbox o
      where o.machine_id = $1 and o.chart_id = any($2::text[])
      order by o.chart_id, o.seq`,
    [machineId, chartIds, owner],
  );
  return rows.map((row) => ({
    chartId: row.chart_id,
    seq: Number(row.seq),
    messages: outboxMessages(row.messages),
    owner: row.owner,
    mine: row.owner === owner,
    orphaned: row.orphaned,
  }));
}

/** Takes over the orphaned rows of some charts; returns the rows now owned, as `chartId:seq`. */
export async function adoptOutbox(db: Queryable, schema: string, machineId: string, chartIds: string[], owner: string): Promise<Set<string>> {
  const { rows } = await db.query<{ chart_id: string; seq: string | number }>(
    `update ${schema}.outbox o set owner = $3
      where o.machine_id = $1 and o.chart_id = any($2::text[]) and o.owner is distinct from $3 and ${orphaned(schema)}
      returning o.chart_id, o.seq`,
    [machineId, chartIds, owner],
  );
  return new Set(rows.map((row) => `${row.chart_id}:${Number(row.seq)}`));
}

/**
 * Charts (after `after`, in chart id order) that have rows this relay must send: orphaned ones,
 * and with `includeMine` its own (left by an earlier run under the same owner).
 */
export async function scanOutboxCharts(db: Queryable, schema: string, machineId: string, owner: string, includeMine: boolean, after: string, limit: number): Promise<string[]> {
  const { rows } = await db.query<{ chart_id: string }>(
    `select distinct o.chart_id from ${schema}.outbox o
      where o.machine_id = $1 and o.chart_id > $3 and ((o.owner = $2 and $5) or (${orphaned(schema)} and o.owner is distinct from $2))
      order by o.chart_id limit $4`,
    [machineId, owner, after, limit, includeMine],
  );
  return rows.map((row) => row.chart_id);
}

/** Forgets delivered transitions. */
export async function clearOutbox(db: Queryable, schema: string, machineId: string, delivered: Array<{ chartId: string; seq: number }>): Promise<void> {
  if (delivered.length === 0) return;
  await db.query(
    `delete from ${schema}.outbox o using unnest($2::text[], $3::bigint[]) with ordinality as d(chart_id, seq, n)
      where o.machine_id = $1 and o.chart_id = d.chart_id and o.seq = d.seq
        -- Always true. With it the planner expects a few rows from unnest and looks each up by its
        -- key; without, it hashed every outbox row of the machine, dead ones included, for every
        -- statement (15 ms for 400 rows after 8 s of bench b, growing until a vacuum; 1.4 ms now).
        and d.n between 0 and 9223372036854775807`,
    [machineId, delivered.map((d) => d.chartId), delivered.map((d) => d.seq)],
  );
}
