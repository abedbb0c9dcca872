'use strict';
// The store's SQL on both backends through ChartStore, its public class (no Node-RED).
const assert = require('node:assert/strict');
const { once } = require('node:events');
const { ChartStore, TableGrowth, withRetry, isTransient, RetriesExhausted } = require('../dist/index.js');
const { storePerTest } = require('./support/store');
const { backends, postgres, describeIf, skipReason, uniqueName } = require('./support/env');
const { PgBouncer, pgbouncerMissing } = require('./support/pgbouncer');

const noPgBouncer = pgbouncerMissing();

function record(chartId, seq, value = 'a') {
  return {
    machineId: 'M',
    chartId,
    machineVersion: 1,
    seq,
    status: 'active',
    state: { chartId, machine: { id: 'M', version: 1 }, status: 'active', value, context: { n: seq }, history: {}, metadata: { timestamp: seq, seq, id: `${chartId}:${seq}` } },
    snapshot: { status: 'active', value, context: { n: seq }, historyValue: {}, children: {} },
  };
}

for (const backend of backends) {
  describeIf(backend.skip, `store (${backend.name})`, () => {
    const test = storePerTest(backend);
    let config;
    let store;
    beforeEach(() => ({ config, store } = test));

    it('migrates once even when several stores start at the same time', async () => {
      const others = [new ChartStore(config), new ChartStore(config), new ChartStore(config)];
      await Promise.all([store, ...others].map((s) => s.ready()));
      await Promise.all(others.map((s) => s.close()));
      const { rows } = await store.query(`select version from "${config.schema}".migrations order by version`);
      assert.deepEqual(rows.map((r) => Number(r.version)), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
      assert.equal(store.status.state, 'connected');
    });

    const commit = (rec, expectedSeq, extra = {}) => store.commitTransition({ record: rec, expectedSeq, schedule: [], cancel: [], ...extra }).then((o) => o.result);

    it('commits with a compare-and-set on seq', async () => {
      assert.equal(await store.loadChart('M', 'c1'), undefined);
      assert.equal(await commit(record('c1', 1), 0), 'committed');
      assert.equal(await commit(record('c1', 1, 'other'), 0), 'conflict', 'a second create loses');
      assert.equal(await commit(record('c1', 2, 'b'), 1), 'committed');
      assert.equal(await commit(record('c1', 3, 'c'), 1), 'conflict', 'a stale writer loses');
      const loaded = await store.loadChart('M', 'c1');
      assert.equal(loaded.seq, 2);
      assert.equal(loaded.state.value, 'b');
      assert.deepEqual(loaded.snapshot.context, { n: 2 });
      assert.equal(await store.countCharts('M'), 1);
    });

    it('commits transitions ready together in one group; a conflict leaves the others committed', async () => {
      for (let i = 0; i < 50; i++) assert.equal(await commit(record(`g${i}`, 1), 0), 'committed');
      // One transaction at a time: while the first commit is in flight the 50 others gather, and
      // go in the next transaction together. One writer of g7 is behind: its expected seq is old.
      const grouped = new ChartStore({ ...config, commitConcurrency: 1 });
      const groupCommit = (rec, expectedSeq, extra) => grouped.commitTransition({ record: rec, expectedSeq, schedule: [], cancel: [], ...extra }).then((o) => o.result);
      const first = groupCommit(record('first', 1), 0, {});
      const group = Array.from({ length: 50 }, (_, i) => groupCommit(record(`g${i}`, 2, 'b'), i === 7 ? 0 : 1, { eventId: `e-${i}`, outbox: [{ n: i }], schedule: [{ id: 't', event: { type: 'tick' }, delayMs: 60000 }] }));
      assert.ok(grouped.commitsWaiting >= 50, 'the 50 wait together while the first is in flight (on the embedded database, all gather for a turn)');
      assert.equal(await first, 'committed');
      const results = await Promise.all(group);
      await grouped.close();
      assert.deepEqual(results.filter((r) => r === 'committed').length, 49);
      assert.equal(results[7], 'conflict');
      const count = async (table) => Number((await store.query(`select count(*) as n from "${config.schema}".${table}`)).rows[0].n);
      assert.equal(await count('event_ids'), 49, 'the refused transition left no event id');
      assert.equal(await count('outbox'), 49, 'nor an outbox row');
      assert.equal(await count('timers'), 49, 'nor a timer');
      assert.equal((await store.loadChart('M', 'g7')).seq, 1);
      assert.equal((await store.loadChart('M', 'g8')).seq, 2);
    });

    it('tells of a landed transition whether its chart had outbox rows of earlier transitions', async () => {
      const step = (seq, extra = {}) => store.commitTransition({ record: record('o', seq), expectedSeq: seq - 1, schedule: [], cancel: [], outbox: [{ seq }], ...extra });
      assert.deepEqual(await step(1), { result: 'committed', earlierOutbox: false }, 'a new chart');
      assert.deepEqual(await step(2), { result: 'committed', earlierOutbox: true }, 'row 1 is there');
      await store.clearOutbox('M', [{ chartId: 'o', seq: 1 }]);
      assert.deepEqual(await step(3), { result: 'committed', earlierOutbox: true }, 'row 2 is there');
      await store.clearOutbox('M', [{ chartId: 'o', seq: 2 }, { chartId: 'o', seq: 3 }]);
      assert.deepEqual(await step(4), { result: 'committed', earlierOutbox: false }, 'all delivered and cleared');
      assert.equal((await step(4)).result, 'conflict');
    });

    it('reads the charts asked for while reads are in flight in one statement, each as read alone', async () => {
      assert.equal(await commit(record('l1', 1), 0, { eventId: 'e-1' }), 'committed');
      assert.equal(await commit(record('l2', 1, 'b'), 0, { eventId: 'e-2' }), 'committed');
      const pg = require('pg');
      const original = pg.Client.prototype.query;
      const grouped = [];
      pg.Client.prototype.query = function (config, ...rest) {
        const text = typeof config === 'string' ? config : config?.text;
        const values = typeof config === 'object' && config?.values ? config.values : rest[0];
        if (String(text).includes('with ordinality')) grouped.push(values[1]);
        return original.call(this, config, ...rest);
      };
      let loaded;
      try {
        const asks = [['l1', 'e-1'], ['l2', 'e-1'], ['missing', 'e-1'], ['l1', undefined], ['l2', 'e-2'], ['l1', 'e-9']];
        loaded = await Promise.all(asks.map(([chartId, eventId]) => store.loadStoredChart('M', chartId, eventId)));
      } finally {
        pg.Client.prototype.query = original;
      }
      const [l1Applied, l2Other, missing, l1NoId, l2Applied, l1NotApplied] = loaded;
      assert.deepEqual(
        { version: l1Applied.machineVersion, seq: l1Applied.seq, value: l1Applied.snapshot.value, lastEventId: l1Applied.lastEventId, applied: l1Applied.eventApplied },
        { version: 1, seq: 1, value: 'a', lastEventId: undefined, applied: true },
      );
      assert.equal(l2Other.eventApplied, false, "l2 has not seen l1's id");
      assert.equal(l2Other.snapshot.value, 'b');
      assert.equal(missing, undefined, 'a chart not stored is undefined, the others unaffected');
      assert.equal(l1NoId.eventApplied, false);
      assert.equal(l1NoId.bytes, JSON.stringify(record('l1', 1).snapshot).length);
      assert.equal(l2Applied.eventApplied, true);
      assert.equal(l1NotApplied.eventApplied, false);
      // Reads start alone while a slot is free (two on PostgreSQL, one embedded); the rest wait and
      // go together in one statement.
      if (backend.name === 'postgres') assert.deepEqual(grouped, [['missing', 'l1', 'l2', 'l1']]);
    });

    it('vacuums its tables as transitions accumulate where nothing else does (PGlite; PostgreSQL with autovacuum off)', async () => {
      const vacuumed = new ChartStore({ ...config, vacuum: { intervalMs: 20, transitions: 100 } });
      await vacuumed.ready();
      if (backend.name === 'postgres') {
        // The server's setting decides; CI's PostgreSQL runs with autovacuum off (conf.d/90-ci.conf).
        const { rows: [{ setting }] } = await vacuumed.query(`select current_setting('autovacuum') as setting`);
        assert.equal(vacuumed.vacuumsItself, setting === 'off', `autovacuum is ${setting}`);
        if (setting !== 'off') return vacuumed.close();
      } else {
        assert.equal(vacuumed.vacuumsItself, true);
      }
      const report = once(vacuumed, 'vacuumed');
      const step = (seq) => vacuumed.commitTransition({ record: record('v', seq), expectedSeq: seq - 1, schedule: [], cancel: [], eventId: `e-${seq}`, outbox: [{ seq }] }).then((o) => o.result);
      for (let seq = 1; seq <= 120; seq++) assert.equal(await step(seq), 'committed');
      await vacuumed.clearOutbox('M', Array.from({ length: 120 }, (_, i) => ({ chartId: 'v', seq: i + 1 })));
      const [{ transitions }] = await report;
      assert.ok(transitions >= 100, `vacuumed after ${transitions} transitions`);
      const { rows } = await vacuumed.query(
        `select relname, vacuum_count, analyze_count from pg_stat_user_tables where schemaname = $1 and relname in ('charts', 'outbox', 'event_ids') order by relname`,
        [config.schema],
      );
      assert.deepEqual(rows.map((row) => [row.relname, Number(row.vacuum_count) > 0, Number(row.analyze_count) > 0]), [
        ['charts', true, true],
        ['event_ids', true, true],
        ['outbox', true, true],
      ]);
      assert.equal(await step(121), 'committed', 'the store goes on after a vacuum');
      await vacuumed.close();
    });

    if (backend.name === 'embedded') {
      it('vacuums and analyzes a table at a time, each step in a turn of the event loop of its own (PGlite works in this thread)', async () => {
        // Each statement PGlite runs, with the turn of the event loop it ran in (a chain of immediates counts them).
        const { PGlite } = require('@electric-sql/pglite');
        const exec = PGlite.prototype.exec;
        const ran = [];
        let turn = 0;
        let counting = true;
        const count = () => {
          turn++;
          if (counting) setImmediate(count);
        };
        setImmediate(count);
        PGlite.prototype.exec = function (text, ...rest) {
          if (/^\s*(vacuum|analyze)/i.test(text)) ran.push({ text: text.replace(/"[^"]*"\./g, ''), turn });
          return exec.call(this, text, ...rest);
        };
        const vacuumed = new ChartStore({ ...config, vacuum: { intervalMs: 20, transitions: 10 } });
        try {
          const report = once(vacuumed, 'vacuumed');
          for (let seq = 1; seq <= 12; seq++) await vacuumed.commitTransition({ record: record('t', seq), expectedSeq: seq - 1, schedule: [], cancel: [] });
          await report;
        } finally {
          PGlite.prototype.exec = exec;
          counting = false;
          await vacuumed.close();
        }
        const tables = ['charts', 'outbox', 'event_ids', 'transitions', 'timers', 'relays'];
        assert.deepEqual(ran.slice(0, 12).map((r) => r.text), tables.flatMap((table) => [`vacuum ${table}`, `analyze ${table}`]));
        for (let i = 1; i < 12; i++) assert.ok(ran[i].turn > ran[i - 1].turn, `"${ran[i].text}" ran in a later turn than "${ran[i - 1].text}"`);
      });
    }

    if (backend.name === 'postgres') {
      it('under load, starts a group beside one in flight only once enough transitions wait; idle, at once', async () => {
        const busy = new ChartStore({ ...config, commitConcurrency: 4, commitBusyMinimum: 5 });
        const busyCommit = (rec, expectedSeq) => busy.commitTransition({ record: rec, expectedSeq, schedule: [], cancel: [] }).then((o) => o.result);
        assert.equal(await busyCommit(record('held', 1), 0), 'committed', 'alone and idle: committed at once');
        // A group kept in flight: another connection holds the row lock of the chart it writes.
        const pg = require('pg');
        const locker = new pg.Client({ connectionString: config.connection });
        await locker.connect();
        await locker.query('begin');
        await locker.query(`select 1 from "${config.schema}".charts where chart_id = 'held' for update`);
        let heldDone = false;
        const held = busyCommit(record('held', 2, 'b'), 1).finally(() => (heldDone = true));
        try {
          assert.equal(busy.commitsWaiting, 0, 'nothing was in flight: it started at once');
          // Asked through the test's own store, not the locker: inside the locker's transaction
          // pg_stat_activity would be the snapshot of its first read, and never show the wait.
          const waitingOnLock = async () =>
            Number((await store.query(`select count(*) as n from pg_stat_activity where wait_event_type = 'Lock' and query like '%json_to_recordset%'`)).rows[0].n) > 0;
          const givenUpAt = Date.now() + 20_000;
          while (!(await waitingOnLock())) {
            assert.ok(Date.now() < givenUpAt, 'the held group waits on the row lock');
            await new Promise((resolve) => setTimeout(resolve, 5));
          }

          const four = [1, 2, 3, 4].map((i) => busyCommit(record(`b${i}`, 1), 0));
          assert.equal(busy.commitsWaiting, 4, 'four wait for the group in flight rather than start groups of their own');
          const fifth = busyCommit(record('b5', 1), 0);
          assert.equal(busy.commitsWaiting, 0, 'the fifth makes five: they start beside the held group, together');
          assert.deepEqual(await Promise.all([...four, fifth]), Array(5).fill('committed'));
          assert.equal(heldDone, false, 'the held group is still in flight');
        } finally {
          await locker.query('commit');
          await locker.end();
        }
        assert.equal(await held, 'committed');
        await busy.close();
      });

      it('analyzes the outbox once undelivered rows grew to 10,000, so the prepared commit looks it up by key rather than scanning it', async () => {
        // The prepared group commit runs one plan, made from what the planner knew then: made while
        // the outbox was nearly empty, it scanned the whole outbox for each transition's
        // earlier-outbox check once deliveries had stopped (a broker away) and rows piled up.
        const pg = require('pg');
        const original = pg.Client.prototype.query;
        let commitText;
        pg.Client.prototype.query = function (config, ...rest) {
          const text = typeof config === 'string' ? config : config?.text;
          if (String(text).includes('json_to_recordset')) commitText = text;
          return original.call(this, config, ...rest);
        };
        const growing = new ChartStore(config);
        const analyzed = [];
        growing.on('outbox-analyzed', (rows) => analyzed.push(rows));
        const s = `"${config.schema}"`;
        const client = new pg.Client({ connectionString: config.connection });
        await client.connect();
        const outboxPlan = async () => {
          await client.query(`prepare commit_plan as ${commitText}`);
          try {
            await client.query('set plan_cache_mode = force_generic_plan');
            const { rows } = await client.query(`explain execute commit_plan('[]', '[]', '[]')`);
            return rows.map((row) => row['QUERY PLAN']).join('\n');
          } finally {
            await client.query('deallocate commit_plan');
            await client.query('reset plan_cache_mode');
          }
        };
        const commitMany = async (from, count) => {
          const commits = [];
          for (let i = from; i < from + count; i++) {
            commits.push(growing.commitTransition({ record: record(`o${i}`, 1), expectedSeq: 0, schedule: [], cancel: [], outbox: [{ topic: 't', payload: i }] }).then((o) => o.result));
          }
          assert.deepEqual(new Set(await Promise.all(commits)), new Set(['committed']));
        };
        try {
          await commitMany(0, 2);
          // The store's own vacuum (or autovacuum) counted a nearly empty outbox.
          await client.query(`vacuum ${s}.outbox`);
          assert.match(await outboxPlan(), /Seq Scan on outbox o\b/, 'the plan made now scans the outbox');
          await commitMany(2, 9000);
          assert.deepEqual(analyzed, [], 'not yet at 10,000 rows');
          const analyzing = once(growing, 'outbox-analyzed');
          await commitMany(9002, 1500);
          await analyzing;
          assert.equal(analyzed.length, 1, `analyzed once: ${analyzed}`);
          assert.ok(analyzed[0] >= 10000, `at ${analyzed[0]} rows`);
          const plan = await outboxPlan();
          assert.match(plan, /Index (Only )?Scan using outbox_pkey on outbox o\b/, plan);
          assert.doesNotMatch(plan, /Seq Scan on outbox/, plan);
        } finally {
          pg.Client.prototype.query = original;
          await client.end();
          await growing.close();
        }
      });
    }

    it('prepares the group commit and the read of a chart from the first, and analyzes the tables they look up by key as its commits grow them, so the plans kept are made again for their size', async () => {
      // One session (a pool of one on PostgreSQL; PGlite is one): the plan the store's prepared
      // statement keeps there is the one EXPLAIN EXECUTE shows in it. No vacuum of the store's own
      // during the test: it would count the tables too.
      const growing = new ChartStore({ ...config, poolSize: 1, vacuum: { intervalMs: 3_600_000, transitions: 1e9 } });
      const analyzed = [];
      growing.on('tables-analyzed', (tables) => analyzed.push(tables));
      const s = `"${config.schema}"`;
      const create = (chartId) =>
        growing.commitTransition({ record: record(chartId, 1), expectedSeq: 0, schedule: [{ id: 't', event: { type: 'T' }, delayMs: 3_600_000 }], cancel: [], eventId: `${chartId}-1` }).then((o) => o.result);
      const createMany = async (prefix, count) => {
        const results = await Promise.all(Array.from({ length: count }, (_, i) => create(`${prefix}${i}`)));
        assert.deepEqual(new Set(results), new Set(['committed']));
      };
      const keptPlan = async (name, args = `'[]', '[]', '[]'`) => {
        const { rows } = await growing.query(`explain execute "${name.replaceAll('"', '""')}"(${args})`);
        return rows.map((row) => row['QUERY PLAN']).join('\n');
      };
      const preparedNamed = async (prefix) => (await growing.query(`select name from pg_prepared_statements where name like $1`, [`${prefix}%`])).rows.map((row) => row.name);
      try {
        assert.equal(await create('p'), 'committed');
        const commits = await preparedNamed('xstate-commit');
        assert.equal(commits.length, 1, 'prepared from the first commit');
        const [name] = commits;
        assert.match(name, new RegExp(`^xstate-commit:"${config.schema}":[0-9a-f]{12}$`), 'under a name with a digest of its text');
        assert.equal((await growing.loadStoredChart('M', 'p', 'p-1')).eventApplied, true);
        const [load] = await preparedNamed('xstate-load-chart');
        assert.match(load ?? '', new RegExp(`^xstate-load-chart:"${config.schema}":[0-9a-f]{12}$`), 'the read of one chart, prepared from the first');
        const loadPlan = () => keptPlan(load, `'M', 'p', 'p-1'`);
        // Twenty charts counted (autovacuum's first ANALYZE comes after 50 rows; the store's vacuum
        // counts what it finds): the plan made now scans them, right for twenty rows.
        await createMany('a', 20);
        await growing.query(`analyze ${s}.charts, ${s}.event_ids, ${s}.timers`);
        await growing.query('set plan_cache_mode = force_generic_plan');
        assert.equal(await create('b'), 'committed');
        assert.match(await keptPlan(name), /Seq Scan on charts c\b/, 'the plan made for twenty charts');
        assert.equal((await growing.loadStoredChart('M', 'b', 'b-1')).eventApplied, true);
        assert.match(await loadPlan(), /Seq Scan on charts c\b/, 'the read, likewise');
        assert.deepEqual(analyzed, []);
        // The store's commits add 600 charts, each with an event id and a timer.
        const analyzing = once(growing, 'tables-analyzed');
        await createMany('c', 600);
        await analyzing;
        assert.deepEqual(analyzed, [['charts', 'event_ids', 'timers']], 'analyzed once, at 500 rows added');
        const plan = await keptPlan(name);
        assert.match(plan, /Index Scan using charts_pkey on charts c\b/, plan);
        assert.match(plan, /Index Only Scan using event_ids_pkey on event_ids x\b/, plan);
        assert.match(plan, /Index Scan using timers_pkey on timers t\b/, plan);
        assert.doesNotMatch(plan, /Seq Scan on (charts|event_ids|timers)\b|hashed SubPlan/, plan);
        const read = await loadPlan();
        assert.match(read, /Index Scan using charts_pkey on charts c\b/, read);
        assert.match(read, /Index Only Scan using event_ids_pkey on event_ids e\b/, read);
      } finally {
        await growing.query('reset plan_cache_mode');
        await growing.close();
      }
    });

    it('fails a prepared commit that PostgreSQL refuses with its error, runs the next one, and prepares it again when it was dropped', async () => {
      // One connection (PostgreSQL): the DEALLOCATE below reaches the session the commits use.
      const failing = new ChartStore({ ...config, poolSize: 1 });
      const step = (seq, extra = {}) => failing.commitTransition({ record: record('f', seq), expectedSeq: seq - 1, schedule: [], cancel: [], eventId: `e-${seq}`, ...extra }).then((o) => o.result);
      try {
        assert.equal(await step(1), 'committed');
        assert.equal(await step(2), 'committed');
        assert.equal(await step(3), 'committed');
        assert.equal(await step(4, { eventId: 'e-3' }), 'duplicate', 'an id applied already, refused by the prepared statement');
        await assert.rejects(step(4, { json: { state: '{"value":', snapshot: '{}' } }), (err) => err.code === '22P02', 'malformed JSON: invalid_text_representation');
        assert.equal(await step(4), 'committed', 'the session goes on');
        await failing.query('deallocate all');
        // PostgreSQL: pg's client still believes the statement prepared (26000 at Bind, nothing
        // executed); that commit runs unnamed, and the connection is replaced by one that prepares afresh.
        assert.equal(await step(5), 'committed', 'a statement dropped behind the store\'s back');
        assert.equal(await step(6), 'committed', 'prepared again');
        assert.equal((await failing.query(`select count(*)::int as n from pg_prepared_statements where name like 'xstate-commit%'`)).rows[0].n, 1);
        assert.equal((await failing.loadChart('M', 'f')).seq, 6);
      } finally {
        await failing.close();
      }
    });

    it('numbers machine versions by definition, and concurrent deploys agree', async () => {
      const v1 = await store.registerMachine('M', { id: 'M', states: {} }, 'digest-1');
      const again = await Promise.all([1, 2, 3].map(() => store.registerMachine('M', { id: 'M' }, 'digest-2')));
      assert.equal(v1, 1);
      assert.deepEqual(again, [2, 2, 2]);
      assert.equal(await store.registerMachine('M', { id: 'M', states: {} }, 'digest-1'), 1, 'an earlier definition keeps its version');
    });

    it('remembers event ids with their transition, refuses them twice, and forgets them outside the window', async () => {
      const commit = (seq, eventId) => store.commitTransition({ record: record('c2', seq), expectedSeq: seq - 1, schedule: [], cancel: [], eventId }).then((o) => o.result);
      assert.equal(await commit(1, 'e-1'), 'committed');
      assert.equal(await commit(2, 'e-1'), 'duplicate');
      assert.equal((await store.loadChart('M', 'c2')).seq, 1, 'a duplicate changes nothing');
      for (let seq = 2; seq <= 5; seq++) assert.equal(await commit(seq, `e-${seq}`), 'committed');
      assert.equal(await store.pruneEventIds('M', { events: 2, hours: 24 }), 0, 'younger than the window');
      assert.equal(await store.pruneEventIds('M', { events: 2, hours: 0 }), 3, 'older, and not among the last 2');
      const { rows } = await store.query(`select event_id from "${config.schema}".event_ids order by seq`);
      assert.deepEqual(rows.map((r) => r.event_id), ['e-4', 'e-5']);
    });

    it('refuses a schema name that is not an identifier', () => {
      assert.throws(() => new ChartStore({ ...config, schema: 'x; drop table y' }), /not a valid identifier/);
    });
  });
}

// Production clusters put a pooler between their processes and PostgreSQL. PgBouncer in transaction
// mode (before 1.21) hands a client's statements to whichever server connection is free: a
// statement prepared on one is missing on the next (26000) or was prepared there by another client
// (42P05). Both come before anything was executed: the store runs that commit unnamed and, once it
// saw it happen a few times, prepares no more.
describeIf(skipReason([!postgres.skip, postgres.skip], [!noPgBouncer, noPgBouncer]), 'store behind PgBouncer in transaction mode', function () {
  this.timeout(60000);
  let bouncer;
  let schema;
  before(async () => {
    bouncer = await PgBouncer.start(process.env.DATABASE_URL, { poolMode: 'transaction', serverConnections: 2 });
  });
  afterEach(async () => {
    const { Client } = require('pg');
    const db = new Client({ connectionString: process.env.DATABASE_URL });
    await db.connect();
    await db.query(`drop schema if exists "${schema}" cascade`);
    await db.end();
  });
  after(async () => {
    await bouncer?.close();
  });

  it('commits every transition of three stores on two server connections with the group commit prepared, and then prepares no more', async () => {
    schema = uniqueName('t');
    // Three stores (processes) of four connections each on one schema; a group starts beside one in flight at once.
    const open = () => new ChartStore({ backend: 'postgres', connection: bouncer.url, schema, commitBusyMinimum: 1, poolSize: 4 });
    const stores = [open(), open(), open()];
    const unprepared = stores.map((store) => new Promise((resolve) => store.once('commit-unprepared', resolve)));
    try {
      await stores[0].ready();
      const charts = 60;
      const rounds = 20;
      const results = {};
      for (let seq = 1; seq <= rounds; seq++) {
        const round = Array.from({ length: charts }, (_, i) =>
          stores[i % stores.length].commitTransition({ record: record(`c${i}`, seq), expectedSeq: seq - 1, schedule: [], cancel: [], eventId: `e-${i}-${seq}` }),
        );
        for (const { result } of await Promise.all(round)) results[result] = (results[result] ?? 0) + 1;
      }
      assert.deepEqual(results, { committed: charts * rounds });
      const { rows } = await stores[0].query(`select count(*)::int as charts, min(seq)::int as low, max(seq)::int as high from "${schema}".charts`);
      assert.deepEqual(rows[0], { charts, low: rounds, high: rounds });
      const refused = await Promise.race([Promise.any(unprepared), new Promise((resolve) => setTimeout(resolve, 0, undefined))]);
      assert.ok(refused, 'a store met refused statements and stopped preparing');
      assert.match(refused.code, /^(26000|42P05)$/);
    } finally {
      await Promise.all(stores.map((store) => store.close()));
    }
  });
});

describe('store: table growth', () => {
  it('tells which tables grew to four times what the planner counted, by at least their floor, counts what was added during an ANALYZE as still to count, and what shrank from where it shrank to', () => {
    const growth = new TableGrowth({ charts: 500, timers: 500, outbox: 10_000 });
    growth.add('charts', 499);
    growth.add('relays', 10_000);
    assert.deepEqual(growth.due(), [], 'below the floor; a table not followed is ignored');
    growth.add('charts', 1);
    assert.deepEqual(growth.due(), ['charts']);
    growth.counted('charts', 1_000, 500);
    assert.deepEqual(growth.due(), []);
    growth.add('charts', 2_999);
    assert.deepEqual(growth.due(), [], 'not yet four times the 1,000 counted');
    const addedBefore = growth.addedTo('charts') + 1;
    growth.add('charts', 1);
    assert.deepEqual(growth.due(), ['charts']);
    growth.add('charts', 700);
    growth.counted('charts', 4_000, addedBefore);
    assert.equal(growth.addedTo('charts'), 700, 'added while it was counted');
    growth.add('timers', 800);
    growth.add('timers', -400);
    assert.deepEqual(growth.due(), [], 'timers deleted count against those added');
    growth.add('timers', 100);
    assert.deepEqual(growth.due(), ['timers']);
    growth.counted('timers', 0);
    assert.deepEqual([growth.addedTo('timers'), growth.due()], [0, []], 'a drained table counted empty starts again from the floor');
    // The outbox: undelivered rows pile up, are counted, then delivered; a vacuum may plan for the
    // emptied outbox, so the next backlog is measured from empty.
    growth.add('outbox', 10_000);
    assert.deepEqual(growth.due(), ['outbox']);
    growth.counted('outbox', 10_000);
    growth.add('outbox', -10_000);
    growth.add('outbox', 9_999);
    assert.deepEqual(growth.due(), []);
    growth.add('outbox', 1);
    assert.deepEqual(growth.due(), ['outbox'], 'at the floor again, not at four times the 10,000 counted before');
  });
});

describe('store: retries', () => {
  const policy = { attempts: 4, initialDelayMs: 1, maxDelayMs: 5, totalMs: 1000 };

  it('classifies transient failures', () => {
    for (const code of ['40001', '40P01', '57P01', '08006', 'ECONNREFUSED', 'ECONNRESET']) assert.equal(isTransient({ code }), true, code);
    assert.equal(isTransient(new Error('Connection terminated unexpectedly')), true);
    for (const code of ['23505', '42P01', '22P02']) assert.equal(isTransient({ code }), false, code);
  });

  it('retries transient failures and gives up after the bound', async () => {
    let calls = 0;
    const result = await withRetry(async () => {
      calls++;
      if (calls < 3) throw Object.assign(new Error('refused'), { code: 'ECONNREFUSED' });
      return 'ok';
    }, policy);
    assert.equal(result, 'ok');
    assert.equal(calls, 3);
    calls = 0;
    await assert.rejects(
      withRetry(async () => {
        calls++;
        throw Object.assign(new Error('deadlock'), { code: '40P01' });
      }, policy),
      (err) => err instanceof RetriesExhausted && err.attempts === 4,
    );
    assert.equal(calls, 4);
  });

  it('fails at once on other errors', async () => {
    let calls = 0;
    await assert.rejects(
      withRetry(async () => {
        calls++;
        throw Object.assign(new Error('syntax'), { code: '42601' });
      }, policy),
      /syntax/,
    );
    assert.equal(calls, 1);
  });

  it('reports a refused connection as persistence trouble after its retries', async () => {
    const store = new ChartStore({ backend: 'postgres', connection: 'postgres://127.0.0.1:1/none', retry: policy });
    const statuses = [];
    store.on('status', (s) => statuses.push(s.state));
    await assert.rejects(store.loadChart('M', 'c'), RetriesExhausted);
    assert.ok(statuses.includes('retrying'));
    assert.equal(store.status.state, 'error');
    await store.close();
  });
});
