import type { OutMessage } from '../engine/messages';
import type { EventObject } from '../engine/machine';
import { ChartError } from '../engine/errors';
import { errorText } from '../engine/texts';
import type { DedupWindow } from '../store/sql/prune-event-ids';
import type { ChartSummary } from '../store/sql/list-charts';
import type { ChartDetail } from '../store/sql/chart-detail';
import type { DeletedChart } from '../store/sql/delete-chart';
import type { StateGroup, TimerGroup } from '../store/sql/impact';
import { versionDigest, type CompiledMachine } from '../engine/machine';
import { isEmptyMigrate, type MigrateMap } from '../engine/migrate';
import { impactOf, type Impact } from '../engine/impact';
import type { ChartCache } from './chart-cache';
import { ChartRuntime, type ChartPersistence, type Outcome } from './chart-runtime';
import type { MachineSource } from './machine-source';
import { OutboxRelay, type OutboxStore } from './outbox-relay';
import { TimerScheduler, type TimerStore } from './timer-scheduler';
import type { WaitingEvents } from './waiting-events';

/** Where a chart's messages go: the node's outputs, and whether they can go now. */
export interface DeliveryPort {
  deliver(messages: OutMessage[]): Promise<void>;
  connected(): boolean;
  close(): void;
}

export interface ServiceStore extends ChartPersistence, OutboxStore, TimerStore {
  countCharts(machineId: string): Promise<number>;
  pruneEventIds(machineId: string, window: DedupWindow): Promise<number>;
  listCharts(machineId: string, prefix: string, after: string, limit: number): Promise<{ charts: ChartSummary[]; next: string | null }>;
  chartDetail(machineId: string, chartId: string): Promise<ChartDetail | undefined>;
  deleteChart(machineId: string, chartId: string): Promise<DeletedChart | undefined>;
  candidateVersion(machineId: string, digest: string): Promise<{ version: number; changed: boolean }>;
  chartsByState(machineId: string): Promise<StateGroup[]>;
  timersByState(machineId: string): Promise<TimerGroup[]>;
  chartsBehind(machineId: string, version: number, after: string, limit: number): Promise<string[]>;
}

export interface ServiceOptions {
  store: ServiceStore;
  source: MachineSource;
  topicPrefix: string;
  create: boolean;
  strict: boolean;
  /** The outbox relay's owner name (stable across restarts of one process). */
  owner: string;
  /** `move` (default) or `pin`: see {@link RuntimeOptions.versioning}. */
  versioning?: 'move' | 'pin';
  cache?: ChartCache;
  waiting?: WaitingEvents;
  maxQueuePerChart?: number;
  maxContextBytes?: number;
  dedup: DedupWindow;
  /** Opens the delivery of messages; called once, when the service has started. */
  openDelivery: () => DeliveryPort;
  pruneEveryMs?: number;
  /** The service started: how many charts the machine has. */
  onStarted?: (charts: number) => void;
  /** What a timer's event did (an applied one's messages are on their way already). */
  onTimerOutcome?: (outcome: Outcome) => void;
  onPendingTimers?: (pending: number) => void;
  /** Trouble that does not answer an event (relay, timers, pruning). */
  /** Trouble of a part that does not answer an event: the outbox relay or the timers. */
  onWarning?: (part: 'outbox' | 'timers', err: unknown) => void;
  /** Messages of a transition never acknowledged, given up after some tries. */
  onGiveUp?: (entry: { chartId: string; seq: number }, err: unknown) => void;
}

/**
 * Everything that runs for one `xstate-chart` node: the machine's versions, the runtime, the timer
 * scheduler, the outbox relay and the pruning of event ids. It starts on first use (and again after
 * a failed start, at the next event), and everything it creates is created only while it is not
 * stopped: each step after an `await` looks first. `stop()` stops what exists, whatever the moment.
 */
export class ChartService {
  /** Services started and not stopped, in this process (diagnostics: nothing is left after a redeploy). */
  static readonly running = new Set<ChartService>();
  private starting?: Promise<ChartRuntime>;
  private runtime?: ChartRuntime;
  private scheduler?: TimerScheduler;
  private relay?: OutboxRelay;
  private delivery?: DeliveryPort;
  private pruneTimer?: NodeJS.Timeout;
  private stopped = false;

  constructor(private readonly options: ServiceOptions) {}

  /** The runtime, started; a failed start is tried again by the next call. */
  start(): Promise<ChartRuntime> {
    if (this.stopped) return Promise.reject(new ChartError('persistence_failed', errorText('nodeClosing')));
    if (!this.starting) {
      this.starting = this.open();
      this.starting.catch(() => (this.starting = undefined));
    }
    return this.starting;
  }

  /** Applies an event; an applied one's messages are handed to the relay before this resolves. */
  dispatch(chartId: string, event: EventObject): Promise<Outcome> {
    // Once started, straight on: a wait for the settled start was an await and a promise per event.
    if (this.runtime && !this.stopped) return this.runtime.dispatch(chartId, event);
    return this.start().then((runtime) => runtime.dispatch(chartId, event));
  }

  /**
   * Stops everything it started, whatever the moment (also while starting: what the start would
   * still create is not created), waiting for events in progress at most `waitMs`.
   */
  async stop(waitMs = 10000): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    if (this.pruneTimer) clearInterval(this.pruneTimer);
    const deadline = new Promise((resolve) => setTimeout(resolve, waitMs).unref());
    // A start still under way is not waited for: no event was applied yet, and what it would still
    // create it does not create (checkOpen). Events in progress are.
    await Promise.race([
      (async () => {
        await this.scheduler?.stop();
        await this.runtime?.idle();
      })(),
      deadline,
    ]);
    await this.relay?.stop(Math.max(0, waitMs / 2));
    this.delivery?.close();
    this.runtime?.dispose();
    await this.options.source.close();
    ChartService.running.delete(this);
  }

  /** A page of the machine's charts (see listCharts). */
  async charts(prefix: string, after: string, limit: number): Promise<{ charts: ChartSummary[]; next: string | null }> {
    const runtime = await this.start();
    return this.options.store.listCharts(runtime.machine.id, prefix, after, limit);
  }

  /** One chart with its timers, last transitions and machine version; undefined when there is none. */
  async chart(chartId: string): Promise<ChartDetail | undefined> {
    const runtime = await this.start();
    return this.options.store.chartDetail(runtime.machine.id, chartId);
  }

  /** Deletes a chart in its turn (its timers, ids, outbox rows and log with it); false when there was none. */
  async deleteChart(chartId: string): Promise<DeletedChart | undefined> {
    const runtime = await this.start();
    return runtime.exclusive(chartId, () => this.options.store.deleteChart(runtime.machine.id, chartId));
  }

  /**
   * What deploying `candidate` (with its state map) would do to the running charts, counted in the
   * store per version and state (see {@link impactOf}); `versioning` is the node's unless the
   * candidate would be deployed with another.
   */
  async impact(candidate: CompiledMachine, migrate: MigrateMap, versioning = this.options.versioning ?? 'move'): Promise<Impact> {
    const runtime = await this.start();
    const { store, source } = this.options;
    const machineId = runtime.machine.id;
    const digest = versionDigest(candidate.definition, isEmptyMigrate(migrate) ? undefined : migrate);
    const [version, groups, timers, machines] = await Promise.all([
      store.candidateVersion(candidate.id, digest),
      store.chartsByState(machineId),
      store.timersByState(machineId),
      source.storedVersions(),
    ]);
    // Another machine id is another machine: this node's charts stay with theirs, which it would no longer run.
    const renamed = candidate.id === machineId ? undefined : errorText('machineRenamed', { from: machineId, to: candidate.id });
    return impactOf({ candidate, migrate, ...version, versioning, groups, timers, machineOf: (v) => machines.get(v), renamed });
  }

  /**
   * Moves charts that are not on the current version now, without waiting for their next event, a
   * page at a time (each chart in its turn, the page's moves committed in groups): at most `limit`
   * charts. `remaining` tells whether more may be behind.
   */
  async migrateCharts(limit: number): Promise<{ moved: number; mapped: number; stayed: number; remaining: boolean }> {
    const runtime = await this.start();
    const counts = { moved: 0, mapped: 0, stayed: 0 };
    let after = '';
    let seen = 0;
    for (;;) {
      const page = await this.options.store.chartsBehind(runtime.machine.id, runtime.version, after, Math.min(200, limit - seen));
      const outcomes = await Promise.all(page.map((chartId) => runtime.migrateNow(chartId)));
      for (const outcome of outcomes) if (outcome === 'moved' || outcome === 'mapped' || outcome === 'stayed') counts[outcome]++;
      seen += page.length;
      if (page.length === 0 || seen >= limit) return { ...counts, remaining: page.length > 0 };
      after = page[page.length - 1];
    }
  }

  /** The retained topics of a chart (its state, and the values of every compound or parallel state). */
  retainedTopics(chartId: string): string[] {
    const machine = this.runtime?.machine;
    const prefix = `${this.options.topicPrefix}/${chartId}`;
    return [`${prefix}/state`, ...(machine?.valueStates ?? []).map((state) => `${prefix}/value/${state.stateId}`)];
  }

  /** Resolves when every committed message was delivered (or given up); for tests and tools. */
  drained(): Promise<void> {
    return this.relay?.drained() ?? Promise.resolve();
  }

  private async open(): Promise<ChartRuntime> {
    const { options } = this;
    const { store } = options;
    const versions = await options.source.open();
    this.checkOpen();
    const machineId = versions.current.machine.id;
    const charts = await store.countCharts(machineId);
    this.checkOpen();
    const runtime = new ChartRuntime({
      store,
      machines: versions,
      topicPrefix: options.topicPrefix,
      create: options.create,
      strict: options.strict,
      cache: options.cache,
      waiting: options.waiting,
      maxQueuePerChart: options.maxQueuePerChart,
      maxContextBytes: options.maxContextBytes,
      outboxOwner: options.owner,
      versioning: options.versioning,
      onTimersScheduled: (delayMs) => this.scheduler?.notify(delayMs),
      // Every committed transition (events', timers', migrations') goes out through the relay, in seq order.
      onCommitted: (chartId, seq, messages, earlierOutbox) => this.relay?.committed(chartId, seq, messages, earlierOutbox),
    });
    // Committed messages go out through the outbox: held while the mqtt out nodes downstream are
    // disconnected, in order per chart, at least once (also after a crash).
    const delivery = (this.delivery = options.openDelivery());
    const relay = (this.relay = new OutboxRelay({
      store,
      machineId,
      owner: options.owner,
      deliver: (messages) => delivery.deliver(messages),
      canDeliver: () => delivery.connected(),
      onError: (err) => options.onWarning?.('outbox', err),
      onGiveUp: (entry, err) => options.onGiveUp?.(entry, err),
    }));
    await relay.start();
    this.checkOpen();
    this.scheduler = new TimerScheduler({
      store,
      machineId,
      fire: (timer) =>
        runtime.fireTimer(timer).then((outcome) => {
          options.onTimerOutcome?.(outcome);
        }),
      onPending: (pending) => options.onPendingTimers?.(pending),
      onError: (err) => options.onWarning?.('timers', err),
    });
    this.scheduler.start();
    this.pruneTimer = setInterval(() => void store.pruneEventIds(machineId, options.dedup).catch(() => {}), options.pruneEveryMs ?? 60000);
    this.pruneTimer.unref();
    this.runtime = runtime;
    ChartService.running.add(this);
    options.onStarted?.(charts);
    return runtime;
  }

  /** After every `await` of the start: a node closed meanwhile creates nothing more. */
  private checkOpen(): void {
    if (this.stopped) throw new ChartError('persistence_failed', errorText('closedWhileStarting'));
  }
}
