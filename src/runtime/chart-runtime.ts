import { randomUUID } from 'node:crypto';
import type { AnyMachineSnapshot } from 'xstate';
import { chartStateOf, valueChanges, valuesOf, type ChartState } from '../engine/chart-state';
import { ChartError, messageOf } from '../engine/errors';
import { accepts, initialStep, restoreSnapshot, step, type CompiledMachine, type EventObject, type ExternalAction, type TimerChange } from '../engine/machine';
import { errorMessage, transitionMessages, type OutMessage } from '../engine/messages';
import type { ChartRecord } from '../store/chart-record';
import type { CommitResult, TimerWrite, TransitionCommit } from '../store/sql/commit-transition';
import type { DueTimer } from '../store/sql/timers';
import { KeyedQueue } from './keyed-queue';
import type { MachineVersions } from './machine-versions';

/** What the runtime needs of a store; {@link ChartStore} is one. */
export interface ChartPersistence {
  loadChart(machineId: string, chartId: string): Promise<ChartRecord | undefined>;
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
  /** Charts kept in memory between events; the store is the truth, this saves a read. */
  cacheSize?: number;
  /** Largest context, in bytes of JSON, a transition may commit. */
  maxContextBytes?: number;
  /** Events one chart may have waiting (a store outage makes them wait); more are refused. */
  maxQueuePerChart?: number;
  now?: () => number;
  /** Told after a commit that scheduled timers, with the shortest delay, so a scheduler can wake. */
  onTimersScheduled?: (delayMs: number) => void;
  /** Commit each transition's messages to the store's outbox, for an {@link OutboxRelay} to deliver. */
  outbox?: boolean;
}

export type Outcome =
  | { kind: 'applied'; chartId: string; state: ChartState; created: boolean; messages: OutMessage[] }
  | { kind: 'duplicate'; chartId: string; state: ChartState; messages: [] }
  | { kind: 'ignored'; chartId: string; messages: [] }
  | { kind: 'rejected'; chartId?: string; error: ChartError; messages: [OutMessage] };

interface LiveChart {
  machine: CompiledMachine;
  version: number;
  snapshot: AnyMachineSnapshot;
  /** XState's persisted form of `snapshot`: what a move to another version restores from. */
  persisted: ChartRecord['snapshot'];
  seq: number;
  state?: ChartState;
  values?: Map<string, string>;
}

const COMPARE_AND_SET_ATTEMPTS = 5;
export const DEFAULT_MAX_CONTEXT_BYTES = 1024 * 1024;
export const DEFAULT_MAX_QUEUE_PER_CHART = 1000;

/**
 * Applies events to the charts of one machine: one at a time per chart, in arrival order, different
 * charts concurrently. Each event is loaded, transitioned with XState's pure `transition()`, and
 * committed with a compare-and-set on `seq` before any message is returned; nothing here emits.
 */
export class ChartRuntime {
  private readonly options: Required<Omit<RuntimeOptions, 'store' | 'machines' | 'onTimersScheduled'>> & Pick<RuntimeOptions, 'store' | 'machines' | 'onTimersScheduled'>;
  private readonly queue = new KeyedQueue();
  private readonly cache = new Map<string, LiveChart>();
  /** Charts told once that they cannot move to a version: `chartId@from>to`. */
  private readonly incompatibleReported = new Set<string>();

  constructor(options: RuntimeOptions) {
    this.options = { cacheSize: 10000, maxContextBytes: DEFAULT_MAX_CONTEXT_BYTES, maxQueuePerChart: DEFAULT_MAX_QUEUE_PER_CHART, now: Date.now, outbox: false, ...options };
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
    return this.queue.run(chartId, () => this.apply(chartId, event).catch((err) => this.rejectWith(err, chartId, event)));
  }

  /**
   * Queues a due timer's event behind the chart's other events. A timer whose state was left, or
   * that another process fired first, is dropped quietly: XState ignores a stale delayed event too.
   */
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

  private async apply(chartId: string, event: EventObject, fired?: DueTimer): Promise<Outcome> {
    const { store, create, strict, now, topicPrefix } = this.options;
    for (let attempt = 1; ; attempt++) {
      const live = await this.live(chartId);
      let base: LiveChart;
      let entryActions: ExternalAction[] = [];
      let entryTimers: TimerChange[] = [];
      const notices: OutMessage[] = [];
      if (live) {
        if (event.id !== undefined && live.state?.metadata.event?.id === event.id) {
          return { kind: 'duplicate', chartId, state: live.state as ChartState, messages: [] };
        }
        base = this.onNewestVersion(chartId, live, event, notices);
      } else {
        if (fired) return { kind: 'ignored', chartId, messages: [] };
        const { machine, version } = this.options.machines.current;
        if (!create) throw new ChartError('unknown_chart', `There is no chart "${chartId}" of machine "${machine.id}", and this node does not create charts.`);
        const initial = initialStep(machine);
        base = { machine, version, snapshot: initial.snapshot, persisted: initial.persisted, seq: 0 };
        entryActions = initial.actions;
        entryTimers = initial.timers;
      }
      const { machine, version } = base;
      if (!accepts(machine, base.snapshot, event)) {
        if (fired) {
          await this.dropTimer(chartId, fired);
          return { kind: 'ignored', chartId, messages: [] };
        }
        if (!strict) return { kind: 'ignored', chartId, messages: [] };
        const where = base.snapshot.status === 'done' ? 'the chart has reached its final state' : `state ${JSON.stringify(base.snapshot.value)} has no transition for it`;
        throw new ChartError('event_not_accepted', `The event "${event.type}" is not accepted: ${where}.`);
      }
      const next = step(machine, base.snapshot, event);
      const seq = base.seq + 1;
      const state = chartStateOf(machine, next.snapshot, {
        chartId,
        version,
        seq,
        timestamp: now(),
        event: event.id === undefined ? { type: event.type } : { type: event.type, id: event.id },
      });
      const contextBytes = Buffer.byteLength(JSON.stringify(state.context));
      if (contextBytes > this.options.maxContextBytes) {
        throw new ChartError('invalid_event', `The event would grow the context to ${contextBytes} bytes; the limit is ${this.options.maxContextBytes}.`);
      }
      const commitId = randomUUID();
      const record: ChartRecord = { machineId: machine.id, chartId, machineVersion: version, seq, status: state.status, state, snapshot: next.persisted, commitId };
      const timers = timerWrites([...entryTimers, ...next.timers], seq);
      const values = valuesOf(machine.valueStates, state.value);
      const messages = [...transitionMessages(topicPrefix, state, valueChanges(base.values, values), [...entryActions, ...next.actions]), ...notices];
      let result: CommitResult;
      try {
        result = await store.commitTransition({
          record,
          expectedSeq: base.seq,
          ...timers,
          fired,
          eventId: fired ? undefined : event.id,
          outbox: this.options.outbox ? messages : undefined,
        });
      } catch (err) {
        // The commit may or may not have happened (a connection lost mid-commit): read it again next time.
        this.cache.delete(chartId);
        throw new ChartError('persistence_failed', `The event was not applied: the store failed (${messageOf(err)}).`, { cause: err });
      }
      if (result === 'stale') return { kind: 'ignored', chartId, messages: [] };
      if (result === 'duplicate') return { kind: 'duplicate', chartId, state: base.state ?? state, messages: [] };
      if (result === 'conflict') {
        this.cache.delete(chartId);
        // A retried commit whose first attempt landed before its connection dropped: it is ours.
        if (!(await this.committedAs(chartId, commitId))) {
          // Another process committed this chart first: start again from its state.
          if (attempt < COMPARE_AND_SET_ATTEMPTS) continue;
          throw new ChartError('persistence_failed', `The event was not applied: the chart kept changing under it (${attempt} attempts).`);
        }
      }
      this.remember(chartId, { machine, version, snapshot: next.snapshot, persisted: next.persisted, seq, state, values });
      if (timers.schedule.length > 0) this.options.onTimersScheduled?.(Math.min(...timers.schedule.map((t) => t.delayMs)));
      return { kind: 'applied', chartId, state, created: !live, messages };
    }
  }

  /**
   * A chart on an older version moves to the current one when its state exists there; otherwise it
   * stays, and a `definition_incompatible` error says why, once.
   */
  private onNewestVersion(chartId: string, live: LiveChart, event: EventObject, notices: OutMessage[]): LiveChart {
    const current = this.options.machines.current;
    if (live.version >= current.version) return live;
    try {
      const snapshot = restoreSnapshot(current.machine, live.persisted);
      return { ...live, machine: current.machine, version: current.version, snapshot };
    } catch (err) {
      const key = `${chartId}@${live.version}>${current.version}`;
      if (!this.incompatibleReported.has(key)) {
        this.incompatibleReported.add(key);
        const error = new ChartError(
          'definition_incompatible',
          `Chart "${chartId}" stays on version ${live.version} of machine "${current.machine.id}": its state ${JSON.stringify(live.snapshot.value)} does not exist in version ${current.version} (${messageOf(err)}).`,
        );
        notices.push(errorMessage(this.options.topicPrefix, error, { chartId, event, machineId: current.machine.id, machineVersion: live.version, seq: live.seq, timestamp: this.options.now() }));
      }
      return live;
    }
  }

  private async committedAs(chartId: string, commitId: string): Promise<boolean> {
    try {
      return (await this.options.store.loadChart(this.machine.id, chartId))?.commitId === commitId;
    } catch {
      return false;
    }
  }

  private async dropTimer(chartId: string, timer: DueTimer): Promise<void> {
    try {
      await this.options.store.dropTimer(this.machine.id, chartId, timer.timerId, timer.scheduledSeq);
    } catch {
      // Left in place, the row is claimed again after its lease and dropped then.
    }
  }

  private async live(chartId: string): Promise<LiveChart | undefined> {
    const cached = this.cache.get(chartId);
    if (cached) return cached;
    const { machines, store } = this.options;
    let record: ChartRecord | undefined;
    try {
      record = await store.loadChart(this.machine.id, chartId);
    } catch (err) {
      throw new ChartError('persistence_failed', `The event was not applied: the chart could not be read (${messageOf(err)}).`, { cause: err });
    }
    if (!record) return undefined;
    let machine: CompiledMachine;
    let snapshot: AnyMachineSnapshot;
    try {
      machine = await machines.get(record.machineVersion);
      snapshot = restoreSnapshot(machine, record.snapshot);
    } catch (err) {
      throw new ChartError(
        'definition_incompatible',
        `Chart "${chartId}" runs version ${record.machineVersion} of machine "${this.machine.id}", which cannot be restored here: ${messageOf(err)}`,
      );
    }
    const live: LiveChart = {
      machine,
      version: record.machineVersion,
      snapshot,
      persisted: record.snapshot,
      seq: record.seq,
      state: record.state,
      values: valuesOf(machine.valueStates, record.state.value),
    };
    this.remember(chartId, live);
    return live;
  }

  private remember(chartId: string, live: LiveChart): void {
    this.cache.delete(chartId);
    this.cache.set(chartId, live);
    if (this.cache.size > this.options.cacheSize) {
      const oldest = this.cache.keys().next().value as string;
      this.cache.delete(oldest);
    }
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
