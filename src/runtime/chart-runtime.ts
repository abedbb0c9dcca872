import { randomUUID } from 'node:crypto';
import type { AnyMachineSnapshot } from 'xstate';
import { chartStateOf, valueChanges, valuesOf, type ChartState } from '../engine/chart-state';
import { ChartError, messageOf } from '../engine/errors';
import { initialStep, persistSnapshot, restoreSnapshot, stepIfAccepted, type CompiledMachine, type EventObject, type ExternalAction, type TimerChange } from '../engine/machine';
import { errorMessage, transitionMessages, type OutMessage } from '../engine/messages';
import type { ChartRecord } from '../store/chart-record';
import type { CommitResult, TimerWrite, TransitionCommit } from '../store/sql/commit-transitions';
import type { StoredChart } from '../store/sql/load-chart';
import type { DueTimer } from '../store/sql/timers';
import { ChartCache, type CacheNamespace } from './chart-cache';
import { KeyedQueue } from './keyed-queue';
import type { MachineVersions } from './machine-versions';
import { WaitingEvents } from './waiting-events';

/** What the runtime needs of a store; {@link ChartStore} is one. */
export interface ChartPersistence {
  loadStoredChart(machineId: string, chartId: string, eventId?: string): Promise<StoredChart | undefined>;
  commitTransition(commit: TransitionCommit): Promise<CommitResult>;
  dropTimer(machineId: string, chartId: string, timerId: string, scheduledSeq: number): Promise<void>;
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
}

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
  /** Size of its snapshot's JSON: what the cache budget counts. */
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
  private readonly options: Required<Omit<RuntimeOptions, 'store' | 'machines' | 'onTimersScheduled' | 'outboxOwner' | 'cache' | 'waiting'>> &
    Pick<RuntimeOptions, 'store' | 'machines' | 'onTimersScheduled' | 'outboxOwner'>;
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
      const error = new ChartError('persistence_failed', `The event was not applied: ${this.options.maxQueuePerChart} events of chart "${chartId}" are already waiting for the store.`);
      return Promise.resolve(this.reject(error, chartId, event));
    }
    if (!this.waiting.tryEnter()) {
      const error = new ChartError('persistence_failed', `The event was not applied: ${this.waiting.max} events are already waiting in this process (xstate.queue.total in settings.js).`);
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
    const { store, create, strict, now, topicPrefix } = this.options;
    const eventId = fired ? undefined : event.id;
    let view = this.remembered(chartId) ?? (await this.read(chartId, eventId));
    for (let attempt = 1; ; attempt++) {
      const { chart } = view;
      // An id among the applied ones is a fact, whatever else changed since.
      if (eventId !== undefined && (chart?.lastEventId === eventId || view.eventApplied)) return { kind: 'duplicate', chartId, messages: [] };
      if (!chart && fired) return { kind: 'ignored', chartId, messages: [] };
      if (!chart && !create) throw new ChartError('unknown_chart', `There is no chart "${chartId}" of machine "${this.machine.id}", and this node does not create charts.`);

      const notices: OutMessage[] = [];
      let base: { machine: CompiledMachine; version: number; snapshot: AnyMachineSnapshot; seq: number };
      let entryActions: ExternalAction[] = [];
      let entryTimers: TimerChange[] = [];
      if (chart) {
        base = this.onNewestVersion(chartId, chart, event, notices);
      } else {
        const { machine, version } = this.options.machines.current;
        const initial = initialStep(machine);
        base = { machine, version, snapshot: initial.snapshot, seq: 0 };
        entryActions = initial.actions;
        entryTimers = initial.timers;
      }
      const { machine, version } = base;
      const next = stepIfAccepted(machine, base.snapshot, event);
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
        const where = base.snapshot.status === 'done' ? 'the chart has reached its final state' : `state ${JSON.stringify(base.snapshot.value)} has no transition for it`;
        throw new ChartError('event_not_accepted', `The event "${event.type}" is not accepted: ${where}.`);
      }
      const seq = base.seq + 1;
      const state = chartStateOf(machine, next.snapshot, {
        chartId,
        version,
        seq,
        timestamp: now(),
        event: event.id === undefined ? { type: event.type } : { type: event.type, id: event.id },
      });
      // Serialized once here; the store writes these texts. The snapshot holds the context, so
      // only a snapshot over the limit needs the context measured on its own.
      const json = { state: JSON.stringify(state), snapshot: JSON.stringify(next.persisted) };
      if (json.snapshot.length > this.options.maxContextBytes) {
        const contextBytes = Buffer.byteLength(JSON.stringify(state.context));
        if (contextBytes > this.options.maxContextBytes) {
          throw new ChartError('invalid_event', `The event would grow the context to ${contextBytes} bytes; the limit is ${this.options.maxContextBytes}.`);
        }
      }
      const record: ChartRecord = { machineId: machine.id, chartId, machineVersion: version, seq, status: state.status, state, snapshot: next.persisted, commitId: randomUUID() };
      const timers = timerWrites([...entryTimers, ...next.timers], seq);
      const previousValues = chart ? valuesOf(chart.machine.valueStates, chart.snapshot.value) : undefined;
      const messages = [...transitionMessages(topicPrefix, state, valueChanges(previousValues, valuesOf(machine.valueStates, state.value)), [...entryActions, ...next.actions]), ...notices];
      let result: CommitResult;
      try {
        result = await store.commitTransition({
          record,
          json,
          expectedSeq: base.seq,
          ...timers,
          fired,
          eventId,
          outbox: this.options.outboxOwner === undefined ? undefined : messages,
          outboxOwner: this.options.outboxOwner,
          logged: { event: state.metadata.event, from: chart ? chart.snapshot.value : null, to: state.value },
        });
      } catch (err) {
        this.cache.delete(chartId);
        throw new ChartError('persistence_failed', `The event was not applied: the store failed (${messageOf(err)}).`, { cause: err });
      }
      if (result === 'committed') {
        this.cache.set(chartId, {
          machine,
          version,
          snapshot: next.snapshot,
          seq,
          lastEventId: event.id,
          bytes: json.snapshot.length,
          toldIncompatible: notices.length > 0 ? this.version : chart?.toldIncompatible,
        });
        if (timers.schedule.length > 0) this.options.onTimersScheduled?.(Math.min(...timers.schedule.map((t) => t.delayMs)));
        return { kind: 'applied', chartId, state, created: !chart, messages };
      }
      this.cache.delete(chartId);
      if (result === 'duplicate') return { kind: 'duplicate', chartId, messages: [] };
      // The fired timer was consumed (fired elsewhere, cancelled or replaced) meanwhile.
      if (result === 'stale') return { kind: 'ignored', chartId, messages: [] };
      // Another writer committed this chart first: start again from its state.
      if (attempt >= COMPARE_AND_SET_ATTEMPTS) {
        throw new ChartError('persistence_failed', `The event was not applied: the chart kept changing under it (${attempt} attempts).`);
      }
      view = await this.read(chartId, eventId);
    }
  }

  /**
   * A chart on an older version moves to the current one when its state exists there; otherwise it
   * stays, and a `definition_incompatible` error says why, once.
   */
  private onNewestVersion(chartId: string, chart: LiveChart, event: EventObject, notices: OutMessage[]): LiveChart {
    const current = this.options.machines.current;
    if (chart.version >= current.version) return chart;
    try {
      const snapshot = restoreSnapshot(current.machine, persistSnapshot(chart.machine, chart.snapshot));
      return { ...chart, machine: current.machine, version: current.version, snapshot };
    } catch (err) {
      if (chart.toldIncompatible !== current.version) {
        const error = new ChartError(
          'definition_incompatible',
          `Chart "${chartId}" stays on version ${chart.version} of machine "${current.machine.id}": its state ${JSON.stringify(chart.snapshot.value)} does not exist in version ${current.version} (${messageOf(err)}).`,
        );
        notices.push(errorMessage(this.options.topicPrefix, error, { chartId, event, machineId: current.machine.id, machineVersion: chart.version, seq: chart.seq, timestamp: this.options.now() }));
      }
      return chart;
    }
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
      throw new ChartError('persistence_failed', `The event was not applied: the chart could not be read (${messageOf(err)}).`, { cause: err });
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
        `Chart "${chartId}" runs version ${stored.machineVersion} of machine "${this.machine.id}", which cannot be restored here: ${messageOf(err)}`,
      );
    }
    const previous = this.cache.get(chartId);
    const chart: LiveChart = {
      machine,
      version: stored.machineVersion,
      snapshot,
      seq: stored.seq,
      lastEventId: stored.lastEventId,
      bytes: stored.bytes,
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
