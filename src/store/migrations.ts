import { quoteIdent, type Db } from './db';

/**
 * Versioned, append-only migrations. Each runs once per schema, inside one transaction that holds
 * an advisory lock, so two processes starting at once neither race nor apply one twice.
 */
const MIGRATIONS: Array<{ version: number; sql: (schema: string) => string }> = [
  {
    version: 1,
    sql: (s) => `
      create table ${s}.machines (
        machine_id text not null,
        version integer not null,
        definition jsonb not null,
        digest text not null,
        created_at timestamptz not null default now(),
        primary key (machine_id, version)
      );
      create index machines_digest on ${s}.machines (machine_id, digest);
      create table ${s}.charts (
        machine_id text not null,
        chart_id text not null,
        machine_version integer not null,
        seq bigint not null,
        status text not null,
        state jsonb not null,
        snapshot jsonb not null,
        created_at timestamptz not null default now(),
        updated_at timestamptz not null default now(),
        primary key (machine_id, chart_id)
      );`,
  },
  {
    // Durable timers: XState keeps delayed events in memory only. A row per pending delayed event,
    // written in the transaction of the transition that scheduled it.
    version: 2,
    sql: (s) => `
      create table ${s}.timers (
        machine_id text not null,
        chart_id text not null,
        timer_id text not null,
        event jsonb not null,
        due_at timestamptz not null,
        scheduled_seq bigint not null,
        claimed_by text,
        claimed_until timestamptz,
        primary key (machine_id, chart_id, timer_id),
        foreign key (machine_id, chart_id) references ${s}.charts (machine_id, chart_id) on delete cascade
      );
      create index timers_due on ${s}.timers (machine_id, due_at);`,
  },
  {
    // Idempotent events: the ids of applied events, per chart, inside a window (see prune).
    // commit_id: tells a commit that landed before its connection dropped from another writer's.
    version: 3,
    sql: (s) => `
      create table ${s}.event_ids (
        machine_id text not null,
        chart_id text not null,
        event_id text not null,
        seq bigint not null,
        applied_at timestamptz not null default now(),
        primary key (machine_id, chart_id, event_id),
        foreign key (machine_id, chart_id) references ${s}.charts (machine_id, chart_id) on delete cascade
      );
      create index event_ids_age on ${s}.event_ids (machine_id, applied_at);
      alter table ${s}.charts add column commit_id text;`,
  },
  {
    // Transactional outbox: the messages of a committed transition until they are delivered.
    version: 4,
    sql: (s) => `
      create table ${s}.outbox (
        machine_id text not null,
        chart_id text not null,
        seq bigint not null,
        messages jsonb not null,
        created_at timestamptz not null default now(),
        primary key (machine_id, chart_id, seq),
        foreign key (machine_id, chart_id) references ${s}.charts (machine_id, chart_id) on delete cascade
      );`,
  },
  {
    // Outbox rows belong to the relay that sends them; relays renew a lease while they run, and the
    // rows of a relay whose lease ran out are adopted by another (several processes on one store).
    version: 5,
    sql: (s) => `
      alter table ${s}.outbox add column owner text;
      create table ${s}.relays (
        owner text primary key,
        alive_until timestamptz not null
      );`,
  },
  {
    // The last transitions of each chart (the editor's sidebar shows them), written with the
    // transition, pruned to the store's retention.
    version: 6,
    sql: (s) => `
      create table ${s}.transitions (
        machine_id text not null,
        chart_id text not null,
        seq bigint not null,
        event jsonb not null,
        from_value jsonb,
        to_value jsonb not null,
        at timestamptz not null default now(),
        primary key (machine_id, chart_id, seq),
        foreign key (machine_id, chart_id) references ${s}.charts (machine_id, chart_id) on delete cascade
      );`,
  },
  {
    // Versions you can deploy without fear: a version's state map, and the charts counted by version
    // and state from an index alone (the impact of a new version on a million charts).
    version: 7,
    sql: (s) => `
      alter table ${s}.machines add column migrate jsonb;
      alter table ${s}.charts add column value_key text generated always as ((state->'value')::text) stored;
      create index charts_by_state on ${s}.charts (machine_id, machine_version, value_key);`,
  },
  {
    // What is stored to be given back whole, never queried inside, is kept as the text it came as
    // (json): a jsonb value is parsed into its binary form on every write, which costs the most on
    // the embedded database, where it runs in Node-RED's own thread.
    version: 8,
    sql: (s) => `
      alter table ${s}.charts alter column snapshot type json using snapshot::json;
      alter table ${s}.outbox alter column messages type json using messages::json;`,
  },
  {
    // The rows beside a chart (timers, event ids, outbox rows, log) no longer check a foreign key on
    // insert: the group commit writes them only for the charts it has just written, and each check
    // looked the chart up through an index with an entry per version of the row (30% of PostgreSQL's
    // CPU in the store's benchmark: SPI_execute_snapshot under AfterTriggerEndQuery). What the keys'
    // ON DELETE CASCADE did, a trigger on charts does: a chart deleted in any way takes its rows along.
    version: 9,
    sql: (s) => `
      alter table ${s}.event_ids drop constraint if exists event_ids_machine_id_chart_id_fkey;
      alter table ${s}.outbox drop constraint if exists outbox_machine_id_chart_id_fkey;
      alter table ${s}.transitions drop constraint if exists transitions_machine_id_chart_id_fkey;
      alter table ${s}.timers drop constraint if exists timers_machine_id_chart_id_fkey;
      create function ${s}.delete_chart_rows() returns trigger language plpgsql as $$
      begin
        delete from ${s}.timers where machine_id = old.machine_id and chart_id = old.chart_id;
        delete from ${s}.event_ids where machine_id = old.machine_id and chart_id = old.chart_id;
        delete from ${s}.outbox where machine_id = old.machine_id and chart_id = old.chart_id;
        delete from ${s}.transitions where machine_id = old.machine_id and chart_id = old.chart_id;
        return old;
      end $$;
      create trigger delete_chart_rows after delete on ${s}.charts for each row execute function ${s}.delete_chart_rows();`,
  },
  {
    // ANALYZE, which the store runs itself on the embedded database (in Node-RED's thread) and on a
    // PostgreSQL without autovacuum, sorted 30,000 sampled values of every column: the log's JSON
    // (no query filters on it) took 120 ms of 130, and event_ids' keys 40 ms, after 40,000
    // transitions on PGlite. The log's JSON gets no statistics; event_ids, looked up by key only,
    // is sampled at 3,000 rows. The outbox's messages are never filtered on either.
    version: 10,
    sql: (s) => `
      alter table ${s}.transitions alter column event set statistics 0, alter column from_value set statistics 0, alter column to_value set statistics 0;
      alter table ${s}.outbox alter column messages set statistics 0;
      alter table ${s}.event_ids alter column machine_id set statistics 10, alter column chart_id set statistics 10, alter column event_id set statistics 10,
        alter column seq set statistics 10, alter column applied_at set statistics 10;`,
  },
];

export async function migrate(db: Db, schema: string): Promise<number[]> {
  const s = quoteIdent(schema);
  return db.transaction(async (tx) => {
    await tx.query('select pg_advisory_xact_lock(hashtext($1))', [`node-red-xstate:migrate:${schema}`]);
    await tx.exec(`create schema if not exists ${s};
      create table if not exists ${s}.migrations (
        version integer primary key,
        applied_at timestamptz not null default now()
      );`);
    const { rows } = await tx.query<{ version: number }>(`select version from ${s}.migrations`);
    const applied = new Set(rows.map((row) => Number(row.version)));
    const newlyApplied: number[] = [];
    for (const migration of MIGRATIONS) {
      if (applied.has(migration.version)) continue;
      await tx.exec(migration.sql(s));
      await tx.query(`insert into ${s}.migrations (version) values ($1)`, [migration.version]);
      newlyApplied.push(migration.version);
    }
    return newlyApplied;
  });
}
