import { randomUUID } from 'node:crypto';
import type { DueTimer, TimerOutlook } from '../store/sql/timers';

/** What the scheduler needs of a store; {@link ChartStore} is one. */
export interface TimerStore {
  claimDueTimers(machineId: string, owner: string, leaseMs: number, limit: number): Promise<DueTimer[]>;
  timerOutlook(machineId: string): Promise<TimerOutlook>;
  releaseTimers(machineId: string, owner: string): Promise<void>;
}

export interface SchedulerOptions {
  store: TimerStore;
  machineId: string;
  /** Applies a due timer (through the chart's queue); resolves when it is committed or dropped. */
  fire: (timer: DueTimer) => Promise<unknown>;
  /** Longest sleep between looks at the store: bounds how late a timer of a dead process fires. */
  pollMs?: number;
  /** How long a claim keeps other processes off a timer while this one fires it. */
  leaseMs?: number;
  batch?: number;
  onPending?: (pending: number) => void;
  onError?: (err: unknown) => void;
}

/**
 * Fires the due timers of one machine. The store is the schedule: each wake claims what is due
 * (earliest first), hands it to the charts' queues, then sleeps until the next due time, at most
 * `pollMs`. Commits in this process that schedule a nearer timer wake it earlier.
 */
export class TimerScheduler {
  readonly owner = randomUUID();
  private readonly options: Required<Omit<SchedulerOptions, 'onPending' | 'onError'>> & Pick<SchedulerOptions, 'onPending' | 'onError'>;
  private timer?: NodeJS.Timeout;
  private countTimer?: NodeJS.Timeout;
  private wakeAt = Infinity;
  private running?: Promise<void>;
  private again = false;
  private full = false;
  private stopped = true;
  /** Timers handed to their charts and not yet done, by `chartId:timerId`. */
  private readonly firing = new Set<string>();

  constructor(options: SchedulerOptions) {
    this.options = { pollMs: 1000, leaseMs: 30000, batch: 500, ...options };
  }

  /** Starts firing: overdue timers first, in due order. */
  start(): void {
    this.stopped = false;
    this.arm(0);
  }

  /** A timer due in `delayMs` was just committed. */
  notify(delayMs: number): void {
    if (this.stopped) return;
    this.arm(delayMs);
    // The pending count for the node status, read at most four times a second.
    this.countTimer ??= setTimeout(() => {
      this.countTimer = undefined;
      this.options.store.timerOutlook(this.options.machineId).then(
        (outlook) => this.options.onPending?.(outlook.pending),
        () => {},
      );
    }, 250);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    if (this.countTimer) clearTimeout(this.countTimer);
    this.timer = undefined;
    await this.running;
    try {
      await this.options.store.releaseTimers(this.options.machineId, this.owner);
    } catch (err) {
      this.options.onError?.(err);
    }
  }

  private arm(delayMs: number): void {
    const at = Date.now() + Math.max(0, delayMs);
    if (this.timer && at >= this.wakeAt) return;
    if (this.timer) clearTimeout(this.timer);
    this.wakeAt = at;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.wakeAt = Infinity;
      void this.wake();
    }, Math.max(0, delayMs));
  }

  private async wake(): Promise<void> {
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = this.fireDue();
    await this.running;
    this.running = undefined;
    if (this.again && !this.stopped) {
      this.again = false;
      this.arm(0);
    }
  }

  /**
   * Claims due timers and hands each to its chart without waiting for the others: a chart stuck
   * behind a long queue or a store retry holds up only its own timers. At most `batch` are in
   * hand at once; when they are, the next claim waits for one to finish.
   */
  private async fireDue(): Promise<void> {
    const { store, machineId, batch, leaseMs, pollMs, fire } = this.options;
    let nextInMs: number | undefined = pollMs;
    try {
      for (;;) {
        if (this.stopped) return;
        const room = batch - this.firing.size;
        if (room <= 0) {
          // Woken again when one of them is done.
          this.full = true;
          return;
        }
        const due = await store.claimDueTimers(machineId, this.owner, leaseMs, room);
        // Handed over in due order, each chart's queue keeps that order among its own timers.
        for (const timer of due) this.hand(timer, fire);
        if (due.length < room) break;
      }
      const outlook = await store.timerOutlook(machineId);
      this.options.onPending?.(outlook.pending);
      nextInMs = outlook.nextInMs;
    } catch (err) {
      this.options.onError?.(err);
    }
    if (!this.stopped) this.arm(nextInMs === undefined ? pollMs : Math.min(Math.max(0, nextInMs), pollMs));
  }

  private hand(timer: DueTimer, fire: SchedulerOptions['fire']): void {
    const key = `${timer.chartId}\u0000${timer.timerId}`;
    // Claimed again after its lease while still waiting in its chart's queue: it is on its way.
    if (this.firing.has(key)) return;
    this.firing.add(key);
    fire(timer)
      .catch((err) => this.options.onError?.(err))
      .finally(() => {
        this.firing.delete(key);
        if (this.full && !this.stopped) {
          this.full = false;
          this.arm(0);
        }
      });
  }
}
