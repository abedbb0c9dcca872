import type { AnyMachineSnapshot } from 'xstate';
import { chartStateOf, valueChanges, valuesOf, type ChartState } from '../engine/chart-state';
import { ChartError, messageOf } from '../engine/errors';
import { errorText } from '../engine/texts';
import { initialStep, persistSnapshot, restoreSnapshot, stepIfAccepted, type CompiledMachine, type EventObject, type ExternalAction, type Step, type TimerChange } from '../engine/machine';
import { mappedSnapshot, movedTimer, planMove, withDefaults, type Move } from '../engine/migrate';
import { errorMessage, outboxRecordJson, preparePayloads, transitionMessages, type OutMessage } from '../engine/messages';
import type { ChartRecord } from '../store/chart-record';
import type { CommitOutcome, CommitResult, TimerWrite, TransitionCommit } from '../store/sql/commit-transitions';
import type { StoredChart } from '../store/sql/load-chart';
import type { DueTimer, PendingTimer } from '../store/sql/timers';
import { ChartCache, type CacheNamespace } from './chart-cache';
import { KeyedQueue } from './keyed-queue';
import type { MachineVersions } from './machine-versions';
import { WaitingEvents } from './waiting-events';
import { randomId } from './random-ids';

/** What the runtime needs of a store; {@link ChartStore} is one. */
export interface ChartPersistence {
  loadStoredChart(machineId: string, chartId: string, eventId?: string): Promise<StoredChart | undefined>;
  commitTransition(commit: TransitionCommit): Promise<CommitOutcome>;
  dropTimer(machineId: string, chartId: string, timerId: string, scheduledSeq: number): Promise<void>;
  chartTimers(machineId: string, chartId: string): Promise<PendingTimer[]>;
}

export interface RuntimeOptions {
  store: ChartPersistence;
  /** The machine's versions: new charts start on the current one, charts move to it when they can. */
  machines: MachineVersions;
  topicPrefix: string;
  /** An event for an unknown chart creates it (true) or is rejected with `unknown_chart`. */
  create: boolean;
  /** An event the current state does not accept is rejected (true) or ignored (false). */
  strict: boolean;
  /** Charts kept in memory between events (shared by the runtimes of a process); a hint, the store decides. */
  cache?: ChartCache;
  /** Events waiting across all charts (shared by the runtimes of a process). */
  waiting?: WaitingEvents;
  /** Largest context, in bytes of JSON, a transition may commit. */
  maxContextBytes?: number;
  /** Events one chart may have waiting (a store outage makes them wait); more are refused. */
  maxQueuePerChart?: number;
  now?: () => number;
  /** Told after a commit that scheduled timers, with the shortest delay, so a scheduler can wake. */
  onTimersScheduled?: (delayMs: number) => void;
  /** Commit each transition's messages to the store's outbox, for this relay to deliver. */
  outboxOwner?: string;
  /** `move` (default): running charts move to the newest version when they can; `pin`: they finish on theirs. */
  versioning?: 'move' | 'pin';
  /**
   * Told of every committed transition (an event's, a timer's, a migration's) with its messages, in
   * seq order per chart, and whether the chart had outbox rows of earlier transitions then.
   */
  onCommitted?: (chartId: string, seq: number, messages: OutMessage[], earlierOutbox: boolean) => void;
}

/** The event of a transition that moves a chart to another version of its machine. */
export const MIGRATE_EVENT = 'xstate.migrate';

export type Outcome =
  | { kind: 'applied'; chartId: string; state: ChartState; created: boolean; messages: OutMessage[] }
  | { kind: 'duplicate'; chartId: string; messages: [] }
  | { kind: 'ignored'; chartId: string; messages: [] }
  | { kind: 'rejected'; chartId?: string; error: ChartError; messages: [OutMessage] };

/** A chart as this process last saw it. */
interface LiveChart {
  machine: CompiledMachine;
  version: number;
  snapshot: AnyMachineSnapshot;
  seq: number;
  /** The id of the event of its last transition, when it had one. */
  lastEventId?: string;
  /** What it takes in memory, estimated from its snapshot's JSON (see {@link memoryOf}): what the cache budget counts. */
  bytes: number;
  /** The version it was told once it cannot move to (`definition_incompatible`). */
  toldIncompatible?: number;
}

/** A chart as one attempt sees it: remembered (maybe old) or just read from the store. */
interface View {
  chart?: LiveChart;
  fresh: boolean;
  /** Fresh views of an event with an id: whether the store has that id applied. */
  eventApplied: boolean;
}

const COMPARE_AND_SET_ATTEMPTS = 5;

/**
 * The memory a remembered chart takes, estimated from the length of its snapshot's JSON: XState's
 * snapshot object (its active state nodes, context, history) costs a fixed part and about three
 * times its JSON (measured with bench d: about 0.7 KB of heap for an 85-character snapshot).
 */
export function memoryOf(snapshotJsonLength: number): number {
  return 512 + 3 * snapshotJsonLength;
}
export const DEFAULT_MAX_CONTEXT_BYTES = 1024 * 1024;
export const DEFAULT_MAX_QUEUE_PER_CHART = 1000;

/**
 * Applies events to the charts of one machine: one at a time per chart, in arrival order, different
 * charts concurrently. Each event is loaded, transitioned with XState's pure `transition()`, and
 * committed with a compare-and-set on `seq` before any message is returned; nothing here emits.
 *
 * Several processes (or nodes) may work the same charts. What this runtime remembers of a chart is
 * a hint that saves a read: an event is applied on it only through the compare-and-set, and nothing
 * is refused, ignored or dropped on its word: before refusing an event, ignoring it or dropping a
 * timer, the chart is read again from the store.
 */
export class ChartRuntime {
  private readonly options: Required<Omit<RuntimeOptions, 'store' | 'machines' | 'onTimersScheduled' | 'outboxOwner' | 'cache' | 'waiting' | 'onCommitted'>> &
    Pick<RuntimeOptions, 'store' | 'machines' | 'onTimersScheduled' | 'outboxOwner' | 'onCommitted'>;
  private readonly queue = new KeyedQueue();
  private readonly cache: CacheNamespace<LiveChart>;
  private readonly waiting: WaitingEvents;

  constructor(options: RuntimeOptions) {
    const { cache, waiting, ...rest } = options;
    this.options = {
      ...rest,
      maxContextBytes: rest.maxContextBytes ?? DEFAULT_MAX_CONTEXT_BYTES,
      maxQueuePerChart: rest.maxQueuePerChart ?? DEFAULT_MAX_QUEUE_PER_CHART,
      now: rest.now ?? Date.now,
      versioning: rest.versioning ?? 'move',
    };
    this.cache = (cache ?? new ChartCache()).namespace<LiveChart>();
    this.waiting = waiting ?? new WaitingEvents();
  }

  get machine(): CompiledMachine {
    return this.options.machines.current.machine;
  }

  get version(): number {
    return this.options.machines.current.version;
  }

  /** Queues an event for a chart; resolves once it is committed (or rejected). Never rejects. */
  dispatch(chartId: string, event: EventObject): Promise<Outcome> {
    if (this.queue.length(chartId) >= this.options.maxQueuePerChart) {
      const error = new ChartError('persistence_failed', errorText('queueFullChart', { max: this.options.maxQueuePerChart, chartId }));
      return Promise.resolve(this.reject(error, chartId, event));
    }
    if (!this.waiting.tryEnter()) {
      const error = new ChartError('persistence_failed', errorText('queueFullProcess', { max: this.waiting.max }));
      return Promise.resolve(this.reject(error, chartId, event));
    }
    return this.queue
      .run(chartId, () => this.apply(chartId, event).catch((err) => this.rejectWith(err, chartId, event)))
      .finally(() => this.waiting.leave());
  }

  /** Queues a due timer's event behind the chart's other events. */
  fireTimer(timer: DueTimer): Promise<Outcome> {
    return this.queue.run(timer.chartId, () => this.apply(timer.chartId, timer.event as EventObject, timer).catch((err) => this.rejectWith(err, timer.chartId, timer.event)));
  }

  private rejectWith(err: unknown, chartId: string, event: unknown): Outcome {
    return this.reject(err instanceof ChartError ? err : new ChartError('implementation_error', messageOf(err)), chartId, event);
  }

  /** The outcome for an input refused before it reached a chart's queue (bad topic, payload...). */
  reject(error: ChartError, chartId: string | undefined, event?: unknown): Outcome & { kind: 'rejected' } {
    const message = errorMessage(this.options.topicPrefix, error, {
      chartId,
      event,
      machineId: this.machine.id,
      machineVersion: this.version,
      seq: chartId ? this.cache.get(chartId)?.seq : undefined,
      timestamp: this.options.now(),
    });
    return { kind: 'rejected', chartId, error, messages: [message] };
  }

  /** Events queued or in progress for one chart. */
  pending(chartId: string): number {
    return this.queue.length(chartId);
  }

  idle(): Promise<void> {
    return this.queue.idle();
  }

  /**
   * Runs `work` on a chart in its turn (after the events queued before it), and forgets what this
   * runtime remembers of the chart: for changes made outside events, such as deleting it.
   */
  exclusive<T>(chartId: string, work: () => Promise<T>): Promise<T> {
    return this.queue.run(chartId, async () => {
      try {
        return await work();
      } finally {
        this.cache.delete(chartId);
      }
    });
  }

  /** Forgets what this runtime remembers (its node is closing). */
  dispose(): void {
    this.cache.clear();
  }

  private async apply(chartId: string, event: EventObject, fired?: DueTimer): Promise<Outcome> {
    const { create, strict } = this.options;
    const eventId = fired ? undefined : event.id;
    let view = this.remembered(chartId) ?? (await this.read(chartId, eventId));
    for (let attempt = 1; ; attempt++) {
      if (attempt > COMPARE_AND_SET_ATTEMPTS) {
        throw new ChartError('persistence_failed', errorText('keptChanging', { attempts: attempt - 1 }));
      }
      let { chart } = view;
      // An id among the applied ones is a fact, whatever else changed since.
      if (eventId !== undefined && (chart?.lastEventId === eventId || view.eventApplied)) return { kind: 'duplicate', chartId, messages: [] };
      if (!chart && fired) return { kind: 'ignored', chartId, messages: [] };
      if (!chart && !create) throw new ChartError('unknown_chart', errorText('unknownChart', { chartId, machineId: this.machine.id }));

      const notices: OutMessage[] = [];
      let base: { machine: CompiledMachine; version: number; snapshot: AnyMachineSnapshot; seq: number };
      let entryActions: ExternalAction[] = [];
      let entryTimers: TimerChange[] = [];
      if (chart) {
        const plan = this.planVersion(chart);
        if (plan.kind === 'map') {
          // A mapped move is a transition of its own (event xstate.migrate), committed first.
          const migrated = await this.migrate(chartId, chart, plan);
          if (!migrated) {
            view = await this.read(chartId, eventId);
            continue;
          }
          chart = migrated;
          base = migrated;
        } else if (plan.kind === 'move') {
          base = plan.chart;
        } else {
          if (plan.kind === 'stay') this.tellIncompatible(chartId, chart, plan.reason, event, notices);
          base = chart;
        }
      } else {
        const { machine, version } = this.options.machines.current;
        const initial = initialStep(machine);
        base = { machine, version, snapshot: initial.snapshot, seq: 0 };
        entryActions = initial.actions;
        entryTimers = initial.timers;
      }
      const next = stepIfAccepted(base.machine, base.snapshot, event);
      if (!next) {
        // Refused on what this process remembers? Ask the store: another process may have moved the chart.
        if (!view.fresh) {
          view = await this.read(chartId, eventId);
          continue;
        }
        if (fired) {
          await this.dropTimer(chartId, fired);
          return { kind: 'ignored', chartId, messages: [] };
        }
        if (!strict) return { kind: 'ignored', chartId, messages: [] };
        throw new ChartError(
          'event_not_accepted',
          base.snapshot.status === 'done'
            ? errorText('notAcceptedFinal', { type: event.type })
            : errorText('notAcceptedState', { type: event.type, value: JSON.stringify(base.snapshot.value) }),
        );
      }
      const committed = await this.commit({
        chartId,
        from: chart,
        base,
        next,
        event: event.id === undefined ? { type: event.type } : { type: event.type, id: event.id },
        actions: [...entryActions, ...next.actions],
        ...timerWrites([...entryTimers, ...next.timers], base.seq + 1),
        fired,
        eventId,
        notices,
      });
      if (committed.result === 'committed') return { kind: 'applied', chartId, state: committed.state, created: !chart, messages: committed.messages };
      if (committed.result === 'duplicate') return { kind: 'duplicate', chartId, messages: [] };
      // The fired timer was consumed (fired elsewhere, cancelled or replaced) meanwhile.
      if (committed.result === 'stale') return { kind: 'ignored', chartId, messages: [] };
      // Another writer committed this chart first: start again from its state.
      view = await this.read(chartId, eventId);
    }
  }

  /**
   * Commits one transition of a chart with a compare-and-set on its seq: the new state, its timers,
   * the event id, its messages in the outbox and its line in the chart's log. Remembers the chart
   * and tells of the commit when it landed.
   */
  private async commit(t: {
    chartId: string;
    from?: LiveChart;
    base: { machine: CompiledMachine; version: number; seq: number };
    next: Step;
    event: { type: string; id?: string };
    actions: ExternalAction[];
    schedule: TimerWrite[];
    cancel: string[];
    fired?: DueTimer;
    eventId?: string;
    notices: OutMessage[];
  }): Promise<{ result: CommitResult; state: ChartState; messages: OutMessage[]; chart?: LiveChart }> {
    const { chartId, base, next, from } = t;
    const { machine, version } = base;
    const seq = base.seq + 1;
    const state = chartStateOf(machine, next.snapshot, { chartId, version, seq, timestamp: this.options.now(), event: t.event });
    // Serialized once here; the store writes these texts. The snapshot holds the context, so only a
    // snapshot over the limit needs the context measured on its own.
    const json = { state: JSON.stringify(state), snapshot: JSON.stringify(next.persisted) };
    if (json.snapshot.length > this.options.maxContextBytes) {
      const contextBytes = Buffer.byteLength(JSON.stringify(state.context));
      if (contextBytes > this.options.maxContextBytes) {
        throw new ChartError('invalid_event', errorText('contextTooLarge', { bytes: contextBytes, max: this.options.maxContextBytes }));
      }
    }
    const record: ChartRecord = { machineId: machine.id, chartId, machineVersion: version, seq, status: state.status, state, snapshot: next.persisted, commitId: randomId() };
    const previousValues = from ? valuesOf(from.machine.valueStates, from.snapshot.value) : undefined;
    const values = valueChanges(previousValues, valuesOf(machine.valueStates, state.value));
    let outcome: CommitOutcome;
    try {
      outcome = await this.options.store.commitTransition({
        record,
        json,
        expectedSeq: base.seq,
        schedule: t.schedule,
        cancel: t.cancel,
        fired: t.fired,
        eventId: t.eventId,
        outboxRecord: this.options.outboxOwner === undefined ? undefined : outboxRecordJson(this.options.topicPrefix, values, t.actions, t.notices),
        outboxOwner: this.options.outboxOwner,
        logged: { event: t.event, from: from ? from.snapshot.value : null, to: state.value },
      });
    } catch (err) {
      this.cache.delete(chartId);
      throw new ChartError('persistence_failed', errorText('storeFailed', { message: messageOf(err) }), { cause: err });
    }
    const { result } = outcome;
    if (result !== 'committed') {
      this.cache.delete(chartId);
      return { result, state, messages: [] };
    }
    // Made once the transition landed (the outbox row has what makes them): a refused transition
    // never needs them, and under load they would wait with it for its group's commit.
    const messages = [...transitionMessages(this.options.topicPrefix, state, values, t.actions), ...t.notices];
    preparePayloads(messages, { payload: state, json: json.state });
    const chart: LiveChart = {
      machine,
      version,
      snapshot: next.snapshot,
      seq,
      lastEventId: t.event.id,
      bytes: memoryOf(json.snapshot.length),
      toldIncompatible: t.notices.length > 0 ? this.version : from?.toldIncompatible,
    };
    this.cache.set(chartId, chart);
    if (t.schedule.length > 0) this.options.onTimersScheduled?.(Math.min(...t.schedule.map((timer) => timer.delayMs)));
    this.options.onCommitted?.(chartId, seq, messages, outcome.earlierOutbox);
    return { result, state, messages, chart };
  }

  /**
   * Where a chart goes with the current version: nowhere (it runs it, or this node pins charts to
   * their version), there as it is (its states exist there), there through the state map, or
   * nowhere because it cannot.
   */
  private planVersion(chart: LiveChart): { kind: 'current' | 'pinned' } | { kind: 'move'; chart: LiveChart } | (Move & { kind: 'map' }) | { kind: 'stay'; reason: string } {
    const current = this.options.machines.current;
    if (chart.version >= current.version) return { kind: 'current' };
    if (this.options.versioning === 'pin') return { kind: 'pinned' };
    const move = planMove(chart.snapshot.value, current.machine, current.migrate);
    if (move.kind === 'map') return move;
    if (move.kind === 'stay') return move;
    try {
      const persisted = persistSnapshot(chart.machine, chart.snapshot);
      const snapshot = restoreSnapshot(current.machine, { ...persisted, context: withDefaults(persisted.context, current.migrate) });
      return { kind: 'move', chart: { ...chart, machine: current.machine, version: current.version, snapshot } };
    } catch (err) {
      return { kind: 'stay', reason: messageOf(err) };
    }
  }

  /** Tells once per chart and version that the chart stays on its version, and why. */
  private tellIncompatible(chartId: string, chart: LiveChart, reason: string, event: unknown, notices: OutMessage[]): void {
    const current = this.options.machines.current;
    if (chart.toldIncompatible === current.version) return;
    const error = new ChartError(
      'definition_incompatible',
      errorText('staysOnVersion', { chartId, version: chart.version, machineId: current.machine.id, value: JSON.stringify(chart.snapshot.value), newVersion: current.version, reason }),
    );
    notices.push(errorMessage(this.options.topicPrefix, error, { chartId, event, machineId: current.machine.id, machineVersion: chart.version, seq: chart.seq, timestamp: this.options.now() }));
  }

  /**
   * Moves a chart to the current version through the state map (or as it is, for `migrateNow`), as
   * a transition of its own with the event `xstate.migrate`: its context gains the map's defaults,
   * its pending `after` timers follow their state to the new one (keeping their due time) or are
   * dropped when it has no such timer. Undefined when another writer committed the chart first.
   */
  private async migrate(chartId: string, chart: LiveChart, move: Move & { kind: 'map' | 'move' }): Promise<LiveChart | undefined> {
    const current = this.options.machines.current;
    const snapshot =
      move.kind === 'map'
        ? mappedSnapshot(chart.snapshot, chart.machine, current.machine, move, current.migrate)
        : restoreSnapshot(current.machine, (({ context, ...rest }) => ({ ...rest, context: withDefaults(context, current.migrate) }))(persistSnapshot(chart.machine, chart.snapshot)));
    const schedule: TimerWrite[] = [];
    const cancel: string[] = [];
    let pending: PendingTimer[];
    try {
      pending = await this.options.store.chartTimers(chart.machine.id, chartId);
    } catch (err) {
      throw new ChartError('persistence_failed', errorText('timersUnreadable', { message: messageOf(err) }), { cause: err });
    }
    for (const timer of pending) {
      const type = (timer.event as { type?: string }).type ?? timer.timerId;
      const moved = movedTimer(type, chart.machine, current.machine, move.kind === 'map' ? move.paths : undefined);
      if (moved === type) continue;
      cancel.push(timer.timerId);
      if (moved !== undefined) schedule.push({ id: moved, event: { ...(timer.event as object), type: moved }, delayMs: Math.max(0, timer.inMs) });
    }
    const next: Step = { snapshot, persisted: persistSnapshot(current.machine, snapshot), actions: [], timers: [] };
    const committed = await this.commit({
      chartId,
      from: chart,
      base: { machine: current.machine, version: current.version, seq: chart.seq },
      next,
      event: { type: MIGRATE_EVENT },
      actions: [],
      schedule,
      cancel,
      notices: [],
    });
    return committed.chart;
  }

  /**
   * Moves a chart to the current version now, without an event (the admin API's "migrate now"):
   * through the state map or as it is, as an `xstate.migrate` transition; or tells why it stays.
   */
  migrateNow(chartId: string): Promise<'moved' | 'mapped' | 'stayed' | 'current' | 'pinned' | 'none'> {
    return this.queue.run(chartId, async () => {
      for (let attempt = 1; attempt <= COMPARE_AND_SET_ATTEMPTS; attempt++) {
        const { chart } = await this.read(chartId, undefined);
        if (!chart) return 'none';
        const plan = this.planVersion(chart);
        if (plan.kind === 'current' || plan.kind === 'pinned' || plan.kind === 'stay') return plan.kind === 'stay' ? 'stayed' : plan.kind;
        if (await this.migrate(chartId, chart, plan.kind === 'map' ? plan : { kind: 'move' })) return plan.kind === 'map' ? 'mapped' : 'moved';
      }
      throw new ChartError('persistence_failed', errorText('keptChangingMove', { chartId }));
    });
  }

  private async dropTimer(chartId: string, timer: DueTimer): Promise<void> {
    try {
      await this.options.store.dropTimer(this.machine.id, chartId, timer.timerId, timer.scheduledSeq);
    } catch {
      // Left in place, the row is claimed again after its lease and dropped then.
    }
  }

  private remembered(chartId: string): View | undefined {
    const chart = this.cache.get(chartId);
    return chart && { chart, fresh: false, eventApplied: false };
  }

  /** The chart as the store has it now (and whether `eventId` was applied to it). */
  private async read(chartId: string, eventId: string | undefined): Promise<View> {
    const { machines, store } = this.options;
    let stored: StoredChart | undefined;
    try {
      stored = await store.loadStoredChart(this.machine.id, chartId, eventId);
    } catch (err) {
      throw new ChartError('persistence_failed', errorText('chartUnreadable', { message: messageOf(err) }), { cause: err });
    }
    if (!stored) {
      this.cache.delete(chartId);
      return { fresh: true, eventApplied: false };
    }
    let machine: CompiledMachine;
    let snapshot: AnyMachineSnapshot;
    try {
      machine = await machines.get(stored.machineVersion);
      snapshot = restoreSnapshot(machine, stored.snapshot);
    } catch (err) {
      throw new ChartError(
        'definition_incompatible',
        errorText('cannotRestore', { chartId, version: stored.machineVersion, machineId: this.machine.id, message: messageOf(err) }),
      );
    }
    const previous = this.cache.get(chartId);
    const chart: LiveChart = {
      machine,
      version: stored.machineVersion,
      snapshot,
      seq: stored.seq,
      lastEventId: stored.lastEventId,
      bytes: memoryOf(stored.bytes),
      toldIncompatible: previous?.toldIncompatible,
    };
    this.cache.set(chartId, chart);
    return { chart, fresh: true, eventApplied: stored.eventApplied };
  }
}

/** The net effect of a transition's timer changes: the last change of each timer id wins. */
function timerWrites(changes: TimerChange[], seq: number): { schedule: TimerWrite[]; cancel: string[] } {
  const last = new Map<string, TimerChange>();
  changes.forEach((change, index) => last.set(change.id ?? `xstate.raise.${seq}.${index}`, change));
  const schedule: TimerWrite[] = [];
  const cancel: string[] = [];
  for (const [id, change] of last) {
    if (change.kind === 'cancel') cancel.push(id);
    else schedule.push({ id, event: change.event, delayMs: change.delayMs });
  }
  return { schedule, cancel };
}
