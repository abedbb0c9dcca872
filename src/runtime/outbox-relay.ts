import type { OutMessage } from '../engine/messages';
import type { OutboxEntry } from '../store/sql/outbox';

const DELIVERY_WAIT_MS = 5000;

/** What the relay needs of a store; {@link ChartStore} is one. */
export interface OutboxStore {
  readOutbox(machineId: string, limit: number): Promise<OutboxEntry[]>;
  clearOutbox(machineId: string, delivered: Array<{ chartId: string; seq: number }>): Promise<void>;
}

export interface RelayOptions {
  store: OutboxStore;
  machineId: string;
  /** Sends a transition's messages; resolves once they are delivered (for MQTT: acknowledged). */
  deliver: (messages: OutMessage[]) => Promise<void>;
  /** Whether messages can be delivered now (the `mqtt out` nodes downstream are connected). */
  canDeliver: () => boolean;
  /** How often to look again while messages are held back (an in-memory check; the store is read only once delivery is possible). */
  retryMs?: number;
  batch?: number;
  onError?: (err: unknown) => void;
}

/**
 * Delivers committed transitions' messages at least once, in order per chart. A transition's
 * messages are in the store's outbox from its commit on; the relay sends them and forgets them once
 * delivered. While they cannot be delivered (at start-up, while a broker is away) the relay holds
 * back, and then replays the outbox in order; a transition committed meanwhile waits its turn there.
 */
export class OutboxRelay {
  private readonly options: Required<Omit<RelayOptions, 'onError'>> & Pick<RelayOptions, 'onError'>;
  /** Sending straight after commit; false while the outbox has to be replayed first. */
  private direct = false;
  private draining?: Promise<void>;
  private retryTimer?: NodeJS.Timeout;
  private delivered: Array<{ chartId: string; seq: number }> = [];
  private clearing?: Promise<void>;
  private clearTimer?: NodeJS.Timeout;
  private stopped = false;
  /** A transition was committed while the replay was reading: read once more before going direct. */
  private missed = false;

  constructor(options: RelayOptions) {
    this.options = { retryMs: 100, batch: 200, ...options };
  }

  /** Replays what an earlier run left in the outbox, once messages can be delivered. */
  start(): void {
    this.stopped = false;
    this.scheduleDrain(0);
  }

  /** A transition was committed with these messages (they are in the outbox). */
  committed(chartId: string, seq: number, messages: OutMessage[]): void {
    if (this.stopped) return;
    if (this.direct && this.options.canDeliver()) {
      void this.send({ chartId, seq, messages });
      return;
    }
    // Held back: the outbox keeps it, and the replay sends it in its turn.
    this.direct = false;
    this.missed = true;
    this.scheduleDrain(this.options.retryMs);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    await this.draining;
    await this.flushCleared();
  }

  private send(entry: OutboxEntry): Promise<void> {
    return this.options.deliver(entry.messages as OutMessage[]).then(
      () => this.cleared(entry),
      // Not delivered: it stays in the outbox and is sent again by the next replay.
      (err) => this.options.onError?.(err),
    );
  }

  private cleared(entry: { chartId: string; seq: number }): void {
    this.delivered.push({ chartId: entry.chartId, seq: entry.seq });
    if (this.delivered.length >= this.options.batch) void this.flushCleared();
    else this.clearTimer ??= setTimeout(() => void this.flushCleared(), 100);
  }

  private async flushCleared(): Promise<void> {
    if (this.clearTimer) clearTimeout(this.clearTimer);
    this.clearTimer = undefined;
    await this.clearing;
    const batch = this.delivered.splice(0);
    if (batch.length === 0) return;
    this.clearing = this.options.store.clearOutbox(this.options.machineId, batch).catch((err) => {
      // Kept in the outbox: sent again at the next replay (receivers drop duplicates by id).
      this.options.onError?.(err);
    });
    await this.clearing;
  }

  private scheduleDrain(delayMs: number): void {
    if (this.stopped || this.retryTimer || this.draining) return;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      if (!this.options.canDeliver()) return this.scheduleDrain(this.options.retryMs);
      this.draining = this.drain().finally(() => {
        this.draining = undefined;
        // Not done (a broker went away, the store failed): try again later.
        if (!this.direct && !this.stopped) this.scheduleDrain(this.options.retryMs);
      });
    }, delayMs);
  }

  /** Sends the outbox in order until it is empty, then goes back to sending straight after commit. */
  private async drain(): Promise<void> {
    const { store, machineId, batch } = this.options;
    const sent = new Set<string>();
    try {
      for (;;) {
        if (this.stopped) return;
        if (!this.options.canDeliver()) return;
        await this.flushCleared();
        this.missed = false;
        const entries = (await store.readOutbox(machineId, batch)).filter((e) => !sent.has(`${e.chartId}:${e.seq}`));
        if (entries.length === 0 && !this.missed) break;
        const deliveries = entries.map((entry) => {
          sent.add(`${entry.chartId}:${entry.seq}`);
          return this.send(entry);
        });
        // This batch delivered (or given up on for this replay) and cleared before the next one.
        await Promise.race([Promise.allSettled(deliveries), new Promise((resolve) => setTimeout(resolve, DELIVERY_WAIT_MS).unref())]);
        await this.flushCleared();
      }
      this.direct = true;
    } catch (err) {
      this.options.onError?.(err);
    }
  }

}
