import { EventEmitter } from 'node:events';
import { checkSchemaName, quoteIdent, type Db, type Queryable } from './db';
import { openEmbedded } from './embedded-db';
import { openPostgres } from './postgres-db';
import { migrate } from './migrations';
import { DEFAULT_RETRY, RetriesExhausted, withRetry, type RetryPolicy } from './retry';
import type { ChartRecord } from './chart-record';
import { loadChart, loadStoredCharts, type ChartToLoad, type StoredChart } from './sql/load-chart';
import { MACHINES_CHANNEL, registerMachine } from './sql/register-machine';
import { candidateVersion, listMachines, loadMachine, loadMachineVersions, type StoredMachine } from './sql/load-machine';
import { chartsBehind, chartsByState, timersByState, type StateGroup, type TimerGroup } from './sql/impact';
import { pruneEventIds, type DedupWindow } from './sql/prune-event-ids';
import { adoptOutbox, clearOutbox, readChartOutbox, scanOutboxCharts, type OutboxRow } from './sql/outbox';
import { renewRelay, retireRelay } from './sql/relays';
import { countCharts } from './sql/count-charts';
import { listCharts, type ChartSummary } from './sql/list-charts';
import { chartDetail, type ChartDetail } from './sql/chart-detail';
import { deleteChart, type DeletedChart } from './sql/delete-chart';
import { chartKeyOf, commitTransitions, firedTimerDeleted, landedBefore, type CommitOutcome, type TransitionCommit } from './sql/commit-transitions';
import { StatementGroup } from './statement-group';
import { CHURNING_TABLES, vacuumTable } from './sql/vacuum';
import { autovacuumIsOn } from './sql/autovacuum-setting';
import { analyzeTables, plannerRowCounts } from './sql/planner-statistics';
import { TableGrowth } from './table-growth';
import { chartTimers, claimDueTimers, dropTimer, releaseTimers, timerOutlook, type DueTimer, type PendingTimer, type TimerOutlook } from './sql/timers';
import { errorText } from '../engine/texts';

export type Backend = 'postgres' | 'embedded';

export interface StoreOptions {
  backend: Backend;
  /** PostgreSQL connection string (postgres backend). */
  connection?: string;
  user?: string;
  password?: string;
  /** PGlite data folder (embedded backend). */
  dataDir?: string;
  schema?: string;
  retry?: RetryPolicy;
  /** Group commit: transactions in flight at once (default 4; 1 on the embedded database) and largest group (default 500). */
  commitConcurrency?: number;
  commitGroupSize?: number;
  /**
   * While a group commit is in flight, another starts beside it only once this many transitions
   * wait; fewer wait until no group is in flight (default 16 on PostgreSQL). A transition that finds
   * nothing in flight is committed at once, whatever this says.
   */
  commitBusyMinimum?: number;
  /** Transitions kept in each chart's log for the editor (default 20; 0 keeps none). */
  transitionsKept?: number;
  /**
   * The embedded database, and PostgreSQL with autovacuum off: vacuum the churning tables when at
   * least `transitions` were committed since the last time, looking every `intervalMs`.
   */
  vacuum?: { intervalMs: number; transitions: number };
  /** PostgreSQL: connections in the pool (default 10). */
  poolSize?: number;
}

export const DEFAULT_VACUUM = { intervalMs: 60_000, transitions: 2_000 };

export const DEFAULT_TRANSITIONS_KEPT = 20;

/**
 * The tables the group commit looks rows up in by key, with the rows its commits add to one
 * before the store analyzes it again, once it holds four times what the planner counted (see
 * TableGrowth and ChartStore.analyzeGrownTables). The outbox's rows come and go with every
 * transition: counted net of those delivered, it grows when deliveries stop (the broker away);
 * from 1,000 it was analyzed four times in an ordinary burst (rows in flight), from 10,000 not.
 */
export const GROWTH_FLOORS = { charts: 500, event_ids: 500, timers: 500, outbox: 10_000 };

/**
 * Under load, transitions that each started a transaction of their own the moment a slot was free
 * made many groups of one beside the large ones: each a commit (a WAL flush) competing with the
 * others, 15-40 ms apiece when PostgreSQL was busy. Gathering them until 16 wait, or until no
 * group is in flight, lowered bench c's half-load p50 (3.4-4.3 → 2.2-3.0 ms) and its p99, with
 * throughput alike; the runs and what bounds the p99 now are in bench/README.md.
 */
export const DEFAULT_COMMIT_BUSY_MINIMUM = 16;

export type StoreState = 'connecting' | 'connected' | 'retrying' | 'error' | 'closed';

export interface StoreStatus {
  state: StoreState;
  message: string;
}

/**
 * The store of one `xstate-store` config node: one pool (or one shared PGlite), its migrations,
 * the chart and machine operations with retries, and the status the nodes that use it show.
 * Emits `status` with a {@link StoreStatus} whenever its state changes.
 */
export class ChartStore extends EventEmitter {
  readonly backend: Backend;
  readonly schema: string;
  private readonly table: string;
  private readonly options: StoreOptions;
  private readonly retry: RetryPolicy;
  private db?: Db;
  private opening?: Promise<Db>;
  private readonly inflight = new Set<Promise<unknown>>();
  private users = 0;
  private usersGone?: () => void;
  private closed = false;
  private readonly commits: StatementGroup<TransitionCommit, CommitOutcome>;
  /** Reads of charts for the runtime, grouped while others are in flight. */
  private readonly loads: StatementGroup<ChartToLoad, StoredChart | undefined>;
  /** Transitions committed since the last vacuum (when the store vacuums, see {@link vacuumsItself}). */
  private committedSinceVacuum = 0;
  private vacuumTimer?: NodeJS.Timeout;
  private vacuuming = false;
  /** Rows the store's commits added to the tables they look up by key, since the planner counted them. */
  private readonly growth = new TableGrowth(GROWTH_FLOORS);
  private analyzingGrown = false;
  readonly transitionsKept: number;
  status: StoreStatus = { state: 'connecting', message: 'connecting' };

  constructor(options: StoreOptions) {
    super();
    this.options = options;
    this.backend = options.backend;
    this.schema = checkSchemaName(options.schema || 'xstate');
    this.table = quoteIdent(this.schema);
    this.retry = options.retry ?? DEFAULT_RETRY;
    if (this.backend === 'embedded' && !options.dataDir) throw new Error(errorText('noDataFolder'));
    this.transitionsKept = Math.max(0, Math.floor(options.transitionsKept ?? DEFAULT_TRANSITIONS_KEPT));
    this.commits = new StatementGroup({
      run: (group) => this.commitGroup(group),
      keyOf: (commit) => chartKeyOf(commit.record),
      // PGlite has one connection: a second transaction would only queue behind the first.
      concurrency: options.commitConcurrency ?? (this.backend === 'embedded' ? 1 : 4),
      maxSize: options.commitGroupSize ?? 500,
      gatherOneTurn: this.backend === 'embedded',
      busyMinimum: options.commitBusyMinimum ?? (this.backend === 'embedded' ? 1 : DEFAULT_COMMIT_BUSY_MINIMUM),
    });
    this.loads = new StatementGroup({
      run: (charts) => this.run((db) => loadStoredCharts(db, this.table, charts)),
      // Reads are short: two at once leave the pool's other connections to the commits.
      concurrency: this.backend === 'embedded' ? 1 : 2,
      maxSize: 500,
    });
    if (this.backend === 'embedded') this.startVacuuming();
  }

  /**
   * Whether the store vacuums its tables itself: on the embedded database (PGlite has no
   * autovacuum), and on a PostgreSQL whose autovacuum is off (known once the store is open). Each
   * transition leaves dead rows (the chart's old version, a delivered outbox row): unvacuumed,
   * `charts` held 86,625 dead rows beside 1,000 live ones after 8 s of bench b.
   */
  get vacuumsItself(): boolean {
    return this.vacuumTimer !== undefined;
  }

  private startVacuuming(): void {
    if (this.vacuumTimer || this.closed) return;
    const vacuum = this.options.vacuum ?? DEFAULT_VACUUM;
    this.vacuumTimer = setInterval(() => void this.vacuumIfDue(vacuum.transitions), vacuum.intervalMs);
    this.vacuumTimer.unref();
  }

  /** Opens the database and applies migrations; shared by every caller until it succeeds. */
  ready(): Promise<Db> {
    if (this.closed) return Promise.reject(new Error(errorText('storeClosed')));
    if (!this.opening) {
      this.opening = this.retrying(async () => {
        const db = this.db ?? this.open();
        this.db = db;
        await migrate(db, this.schema);
        const counts = await plannerRowCounts(db, this.schema, Object.keys(GROWTH_FLOORS));
        for (const table of Object.keys(GROWTH_FLOORS)) this.growth.counted(table, counts.get(table) ?? 0, 0);
        if (this.backend === 'postgres' && !this.vacuumTimer && !(await autovacuumIsOn(db))) this.startVacuuming();
        return db;
      });
      this.opening.catch(() => {
        this.opening = undefined;
      });
    }
    return this.opening;
  }

  loadChart(machineId: string, chartId: string): Promise<ChartRecord | undefined> {
    return this.run((db) => loadChart(db, this.table, machineId, chartId));
  }

  /**
   * The chart as the runtime needs it, and whether `eventId` was applied to it; read in one
   * statement with the other charts asked for while reads are in flight (see {@link StatementGroup}).
   */
  loadStoredChart(machineId: string, chartId: string, eventId?: string): Promise<StoredChart | undefined> {
    return this.loads.add({ machineId, chartId, eventId });
  }

  /**
   * Commits a transition with its timers, event id and outbox row, all or nothing, in a group with
   * the other transitions ready at the same time; see {@link commitTransitions}.
   */
  commitTransition(commit: TransitionCommit): Promise<CommitOutcome> {
    return this.commits.add(commit);
  }

  /** Commits waiting for a transaction (not yet in flight). */
  get commitsWaiting(): number {
    return this.commits.waiting;
  }

  private async commitGroup(group: TransitionCommit[]): Promise<CommitOutcome[]> {
    let attempt = 0;
    const outcomes = await this.run(async (db) => {
      // A retry after a failure that may have come after COMMIT (a lost connection): the commits
      // that landed are recognised by their commit ids instead of being refused as conflicts.
      if (attempt++ > 0) {
        const landed = await landedBefore(db, this.table, group);
        if (landed) return landed;
      }
      return commitTransitions(db, this.table, group, { transitionsKept: this.transitionsKept, prepared: true });
    });
    let committed = 0;
    outcomes.forEach(({ result }, i) => {
      if (result !== 'committed') return;
      committed++;
      const commit = group[i];
      if (commit.outboxRecord !== undefined || commit.outbox !== undefined) this.growth.add('outbox', 1);
      if (commit.expectedSeq === 0) this.growth.add('charts', 1);
      if (commit.eventId !== undefined) this.growth.add('event_ids', 1);
      // Timers scheduled less those deleted (cancelled, or fired and not scheduled again): a timer
      // scheduled again, or a chart's one timer moved, leaves the table as it was.
      this.growth.add('timers', commit.schedule.length - commit.cancel.length - (firedTimerDeleted(commit) === undefined ? 0 : 1));
    });
    this.committedSinceVacuum += committed;
    this.analyzeGrownTables();
    return outcomes;
  }

  /**
   * Analyzes a table the group commit looks rows up in by key once this store's commits grew it to
   * four times what the planner counted (see {@link TableGrowth}), so that the plan every
   * connection keeps for the prepared statement is made again for the table as it is. The
   * statement is prepared from the first commit: planned each time instead, it cost 1-2 ms more
   * per event (bench c's idle p50 3.1 against 1.0-1.1 ms; the planning alone 0.8-1.2 ms).
   *
   * The outbox likewise, when undelivered rows pile up while commits go on (the broker is away):
   * with a plan made while it was nearly empty, each transition's earlier-outbox check scanned the
   * whole outbox. Measured one event at a time beside an outage of 1,000 charts' deliveries: 2.3 ms
   * per event, then 6-7 ms with 10,000-30,000 rows waiting (23 ms with 100,000), against 1.2-1.4 ms
   * with this analyze; autovacuum, or the store's own vacuum where it is off, got there up to a
   * minute later (at 40,000 rows in that run).
   *
   * Emits `tables-analyzed` with the tables, and `outbox-analyzed` with the outbox rows counted
   * when the outbox was among them.
   */
  private analyzeGrownTables(): void {
    if (this.closed || this.analyzingGrown || this.growth.due().length === 0) return;
    this.analyzingGrown = true;
    void (async () => {
      try {
        // Again while some grew meanwhile: no commit may come to ask.
        for (let due = this.growth.due(); due.length > 0; due = this.growth.due()) {
          const outboxRows = this.growth.addedTo('outbox');
          // A table at a time with a turn of the event loop between, as the vacuum does: PGlite
          // works in this thread.
          for (const table of due) {
            if (this.closed) return;
            await this.run((db) => this.analyzeCounting(db, table));
            await new Promise((resolve) => setImmediate(resolve));
          }
          this.emit('tables-analyzed', due);
          if (due.includes('outbox')) this.emit('outbox-analyzed', outboxRows);
        }
      } catch {
        // A database in trouble shows on the store's status; a later commit tries again.
      } finally {
        this.analyzingGrown = false;
      }
    })();
  }

  /** Analyzes a table, and keeps the planner's new count of it when the store follows it (see {@link TableGrowth}). */
  private async analyzeCounting(db: Queryable, table: string): Promise<void> {
    const addedBefore = this.growth.addedTo(table);
    await analyzeTables(db, this.table, [table]);
    if (!this.growth.follows(table)) return;
    const rows = (await plannerRowCounts(db, this.schema, [table])).get(table);
    if (rows !== undefined) this.growth.counted(table, rows, addedBefore);
  }

  /**
   * Vacuums when enough was written since the last time (see {@link vacuumsItself}, vacuumTable).
   * Emits `vacuumed` with how many transitions it followed and how long it took.
   */
  private async vacuumIfDue(transitions: number): Promise<void> {
    if (this.closed || this.vacuuming || this.committedSinceVacuum < transitions) return;
    this.vacuuming = true;
    const followed = this.committedSinceVacuum;
    this.committedSinceVacuum = 0;
    const started = Date.now();
    try {
      // A table and a step at a time, with a turn of the event loop between: PGlite works in this
      // thread, and `vacuum (analyze)` of the six tables in one statement held every event and
      // message of the process for 300 ms (bench a's tables after 50,000 transitions).
      for (const table of CHURNING_TABLES) {
        for (const step of [(db: Db) => vacuumTable(db, this.table, table), (db: Db) => this.analyzeCounting(db, table)]) {
          if (this.closed) return;
          await this.run(step);
          await new Promise((resolve) => setImmediate(resolve));
        }
      }
      this.emit('vacuumed', { transitions: followed, ms: Date.now() - started });
    } catch {
      // The store's status tells of a database in trouble; the next look tries again.
      this.committedSinceVacuum += followed;
    } finally {
      this.vacuuming = false;
    }
  }

  claimDueTimers(machineId: string, owner: string, leaseMs: number, limit: number): Promise<DueTimer[]> {
    return this.run((db) => claimDueTimers(db, this.table, machineId, owner, leaseMs, limit));
  }

  timerOutlook(machineId: string): Promise<TimerOutlook> {
    return this.run((db) => timerOutlook(db, this.table, machineId));
  }

  releaseTimers(machineId: string, owner: string): Promise<void> {
    return this.run((db) => releaseTimers(db, this.table, machineId, owner));
  }

  dropTimer(machineId: string, chartId: string, timerId: string, scheduledSeq: number): Promise<void> {
    return this.run((db) => dropTimer(db, this.table, machineId, chartId, timerId, scheduledSeq));
  }

  chartTimers(machineId: string, chartId: string): Promise<PendingTimer[]> {
    return this.run((db) => chartTimers(db, this.table, machineId, chartId));
  }

  registerMachine(machineId: string, definition: unknown, digest: string, migrate?: unknown): Promise<number> {
    return this.run((db) => registerMachine(db, this.table, machineId, definition, digest, migrate));
  }

  readChartOutbox(machineId: string, chartIds: string[], owner: string): Promise<OutboxRow[]> {
    return this.run((db) => readChartOutbox(db, this.table, machineId, chartIds, owner));
  }

  adoptOutbox(machineId: string, chartIds: string[], owner: string): Promise<Set<string>> {
    return this.run((db) => adoptOutbox(db, this.table, machineId, chartIds, owner));
  }

  scanOutboxCharts(machineId: string, owner: string, includeMine: boolean, after: string, limit: number): Promise<string[]> {
    return this.run((db) => scanOutboxCharts(db, this.table, machineId, owner, includeMine, after, limit));
  }

  async clearOutbox(machineId: string, delivered: Array<{ chartId: string; seq: number }>): Promise<void> {
    await this.run((db) => clearOutbox(db, this.table, machineId, delivered));
    this.growth.add('outbox', -delivered.length);
  }

  renewRelay(owner: string, leaseMs: number): Promise<void> {
    return this.run((db) => renewRelay(db, this.table, owner, leaseMs));
  }

  retireRelay(owner: string): Promise<void> {
    return this.run((db) => retireRelay(db, this.table, owner));
  }

  pruneEventIds(machineId: string, window: DedupWindow): Promise<number> {
    return this.run((db) => pruneEventIds(db, this.table, machineId, window));
  }

  loadMachine(machineId: string, version?: number): Promise<StoredMachine | undefined> {
    return this.run((db) => loadMachine(db, this.table, machineId, version));
  }

  candidateVersion(machineId: string, digest: string): Promise<{ version: number; changed: boolean }> {
    return this.run((db) => candidateVersion(db, this.table, machineId, digest));
  }

  chartsByState(machineId: string): Promise<StateGroup[]> {
    return this.run((db) => chartsByState(db, this.table, machineId));
  }

  timersByState(machineId: string): Promise<TimerGroup[]> {
    return this.run((db) => timersByState(db, this.table, machineId));
  }

  chartsBehind(machineId: string, version: number, after: string, limit: number): Promise<string[]> {
    return this.run((db) => chartsBehind(db, this.table, machineId, version, after, limit));
  }

  loadMachineVersions(machineId: string): Promise<StoredMachine[]> {
    return this.run((db) => loadMachineVersions(db, this.table, machineId));
  }

  listMachines(): Promise<Array<{ machineId: string; version: number }>> {
    return this.run((db) => listMachines(db, this.table));
  }

  /**
   * Calls `listener` when a new machine version is written to this store by any process, with
   * `undefined` when notifications may have been missed (a lost connection came back).
   */
  async watchMachines(listener: (change: { machineId: string; version: number } | undefined) => void): Promise<() => Promise<void>> {
    const db = await this.ready();
    return db.listen(MACHINES_CHANNEL, (payload) => {
      if (payload === undefined) return listener(undefined);
      try {
        const change = JSON.parse(payload) as { schema: string; machineId: string; version: number };
        if (change.schema === this.table) listener({ machineId: change.machineId, version: change.version });
      } catch {
        // not ours
      }
    });
  }

  countCharts(machineId: string): Promise<number> {
    return this.run((db) => countCharts(db, this.table, machineId));
  }

  listCharts(machineId: string, prefix: string, after: string, limit: number): Promise<{ charts: ChartSummary[]; next: string | null }> {
    return this.run((db) => listCharts(db, this.table, machineId, prefix, after, limit));
  }

  chartDetail(machineId: string, chartId: string): Promise<ChartDetail | undefined> {
    return this.run((db) => chartDetail(db, this.table, machineId, chartId));
  }

  deleteChart(machineId: string, chartId: string): Promise<DeletedChart | undefined> {
    return this.run((db) => deleteChart(db, this.table, machineId, chartId));
  }

  /** Raw query for tests and admin tools; parameters are always bound, never interpolated. */
  query<R = Record<string, unknown>>(text: string, params?: unknown[]): Promise<{ rows: R[]; rowCount: number }> {
    return this.run((db) => db.query<R>(text, params));
  }

  /**
   * Registers a node that uses the store; it calls the returned function when it has finished
   * (after its own close). Node-RED closes all nodes at once: this is how the store knows when the
   * last write of its users is done.
   */
  acquire(): () => void {
    this.users++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.users--;
      if (this.users === 0) this.usersGone?.();
    };
  }

  /**
   * Waits for its users to finish (at most `waitForUsersMs`) and for pending writes, then ends the
   * pool (or releases the shared PGlite).
   */
  async close(waitForUsersMs = 12000): Promise<void> {
    if (this.closed) return;
    if (this.users > 0) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, waitForUsersMs);
        this.usersGone = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
    // From here the retries of operations still running end: their users are gone.
    this.closed = true;
    clearInterval(this.vacuumTimer);
    while (this.inflight.size > 0) await Promise.allSettled([...this.inflight]);
    await this.opening?.catch(() => {});
    await this.db?.close();
    this.setStatus('closed', 'closed');
  }

  private open(): Db {
    if (this.backend === 'embedded') return openEmbedded(this.options.dataDir as string);
    return openPostgres({
      connectionString: this.options.connection,
      user: this.options.user,
      password: this.options.password,
      max: this.options.poolSize,
      onIdleError: (err) => this.setStatus('retrying', errorText('connectionLost', { message: err.message })),
      // Behind a pooler in transaction mode (PgBouncer before 1.21) named statements are refused
      // again and again: commits go on unprepared, and the node says why once.
      onUnprepared: (err) => this.emit('commit-unprepared', err),
    });
  }

  private run<T>(work: (db: Db) => Promise<T>): Promise<T> {
    const pending = (async () => {
      const db = await this.ready();
      return this.retrying(() => work(db));
    })();
    this.inflight.add(pending);
    const forget = () => this.inflight.delete(pending);
    pending.then(forget, forget);
    return pending;
  }

  private async retrying<T>(work: () => Promise<T>): Promise<T> {
    try {
      const result = await withRetry(
        work,
        this.retry,
        (err, attempt, delay) => this.setStatus('retrying', errorText('retryingIn', { attempt, delay, message: (err as Error).message })),
        () => this.closed,
      );
      if (this.status.state !== 'connected') this.setStatus('connected', 'connected');
      return result;
    } catch (err) {
      if (err instanceof RetriesExhausted) this.setStatus('error', err.message);
      throw err;
    }
  }

  private setStatus(state: StoreState, message: string): void {
    if (this.status.state === state && this.status.message === message) return;
    this.status = { state, message };
    this.emit('status', this.status);
  }
}
