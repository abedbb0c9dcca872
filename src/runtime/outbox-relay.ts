import type { OutMessage } from '../engine/messages';
import type { OutboxRow } from '../store/sql/outbox';

/** What the relay needs of a store; {@link ChartStore} is one. */
export interface OutboxStore {
  readChartOutbox(machineId: string, chartIds: string[], owner: string): Promise<OutboxRow[]>;
  adoptOutbox(machineId: string, chartIds: string[], owner: string): Promise<Set<string>>;
  scanOutboxCharts(machineId: string, owner: string, includeMine: boolean, after: string, limit: number): Promise<string[]>;
  clearOutbox(machineId: string, delivered: Array<{ chartId: string; seq: number }>): Promise<void>;
  renewRelay(owner: string, leaseMs: number): Promise<void>;
  retireRelay(owner: string): Promise<void>;
}

/** A delivery that got no answer in time; retried a few times, then reported and given up. */
export class DeliveryTimeout extends Error {
  constructor(message = 'not acknowledged in time') {
    super(message);
    this.name = 'DeliveryTimeout';
  }
}

export interface RelayOptions {
  store: OutboxStore;
  machineId: string;
  /** This relay's name in the store: outbox rows it commits carry it. Stable across restarts of one process. */
  owner: string;
  /** Sends a transition's messages; resolves once they are delivered (for MQTT: acknowledged). */
  deliver: (messages: OutMessage[]) => Promise<void>;
  /** Whether messages can be delivered now (the `mqtt out` nodes downstream are connected). */
  canDeliver: () => boolean;
  /** How often to look again while messages are held back. */
  retryMs?: number;
  /** How long the store keeps this relay's rows its own without a renewal. */
  leaseMs?: number;
  /** Charts read from the store, and transitions sent, at once. */
  batch?: number;
  /** Times a transition may go unacknowledged before it is reported and given up. */
  maxTimeouts?: number;
  /** How long delivered rows gather before they are deleted in one statement (default 50 ms). */
  clearAfterMs?: number;
  onError?: (err: unknown) => void;
  /** A transition given up after {@link maxTimeouts} unacknowledged sends. */
  onGiveUp?: (entry: { chartId: string; seq: number }, err: unknown) => void;
}

/**
 * A transition whose messages wait to be sent. Its messages are let go once handed over: the
 * delivery holds what it needs until they are acknowledged, and a hand-over that fails sends the
 * chart's transitions again only from what the store still has (see {@link OutboxRelay.failed}).
 */
interface QueuedTransition {
  chartId: string;
  seq: number;
  messages?: OutMessage[];
}

/** The messages of one chart on their way out. */
interface Lane {
  chartId: string;
  /** Transitions to send next, in seq order, each following the one before. */
  queue: QueuedTransition[];
  /** Highest seq of the chart this relay delivered; undefined when it does not know. */
  lastSeq?: number;
  /** Highest seq of the send in flight. */
  sendingSeq?: number;
  /** Older transitions may wait in the store (a gap, a failed send, start-up): read before sending. */
  needsRead: boolean;
  busy: boolean;
  /** No attempt before this time (ms): backing off from a failure or from another relay's rows. */
  notBefore: number;
  waits: number;
  timeouts: number;
}

const RECENT_CHARTS = 10000;
export const DEFAULT_CLEAR_AFTER_MS = 50;

/**
 * Delivers committed transitions' messages at least once and in order per chart: a chart's
 * transition goes out only after every older one of that chart was delivered, by this relay or
 * another. Transitions wait in the store's outbox from their commit until delivered; this relay
 * sends the ones it committed straight away when it knows what came before them (it sent the
 * previous one), and otherwise reads the chart's outbox rows first. Rows of another live relay
 * (another process) are waited for; rows of a relay whose lease ran out are adopted and sent. A
 * failed send puts the chart back to reading from the store, so nothing is skipped; a send never
 * acknowledged is retried, then reported and given up rather than blocking its chart for good.
 */
export class OutboxRelay {
  private readonly options: Required<Omit<RelayOptions, 'onError' | 'onGiveUp'>> & Pick<RelayOptions, 'onError' | 'onGiveUp'>;
  private readonly lanes = new Map<string, Lane>();
  /** The last seq this relay delivered of charts it has no lane for (bounded, oldest out). */
  private readonly recent = new Map<string, number>();
  private readonly ready = new Set<Lane>();
  private pumpQueued = false;
  private retryTimer?: NodeJS.Timeout;
  private renewTimer?: NodeJS.Timeout;
  private scanTimer?: NodeJS.Timeout;
  private reading = false;
  private scanning?: Promise<void>;
  private scanAfter = '';
  private toClear: Array<{ chartId: string; seq: number }> = [];
  private clearing?: Promise<void>;
  private clearTimer?: NodeJS.Timeout;
  private renewedAt = 0;
  private leaseLost = false;
  private stopped = true;
  private readonly work = new Set<Promise<unknown>>();
  private drainWaiters: Array<() => void> = [];

  constructor(options: RelayOptions) {
    this.options = { retryMs: 100, leaseMs: 15000, batch: 200, maxTimeouts: 3, clearAfterMs: DEFAULT_CLEAR_AFTER_MS, ...options };
  }

  /**
   * Starts: claims its lease (resolves once that was tried), then sends what an earlier run under
   * the same owner or a dead relay left in the outbox.
   */
  async start(): Promise<void> {
    if (!this.stopped) return;
    this.stopped = false;
    await this.renew();
    void this.scan(true);
  }

  /**
   * A transition was committed with these messages (they are in the outbox, owned by this relay).
   * `earlierOutbox` false: the commit saw no outbox row of the chart's earlier transitions, so
   * nothing is to go before these messages (rows are written and deleted only after the commits
   * before them); true, or not known: the chart's rows are read first unless this relay knows
   * what came before.
   */
  committed(chartId: string, seq: number, messages: OutMessage[], earlierOutbox = true): void {
    if (this.stopped) return;
    const lane = this.laneOf(chartId);
    const previous = lane.queue.length > 0 ? lane.queue[lane.queue.length - 1].seq : (lane.sendingSeq ?? lane.lastSeq);
    // A new chart (seq 1) has nothing before it; otherwise the previous transition must be known
    // here, or the commit must have seen nothing before it. (A transition of this relay still
    // queued or on its way has its row: the commit saw it.)
    if (earlierOutbox && (previous === undefined ? seq !== 1 : seq !== previous + 1)) lane.needsRead = true;
    lane.queue.push({ chartId, seq, messages });
    this.wake(lane);
  }

  /** Resolves when nothing is waiting to be sent or cleared (for tests and shutdown). */
  drained(): Promise<void> {
    if (this.isDrained()) return Promise.resolve();
    return new Promise((resolve) => this.drainWaiters.push(resolve));
  }

  /**
   * Stops sending; waits for sends and reads in flight (at most `waitMs`), clears what was
   * delivered, and ends the lease.
   */
  async stop(waitMs = 5000): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    for (const timer of [this.retryTimer, this.renewTimer, this.scanTimer, this.clearTimer]) if (timer) clearTimeout(timer);
    this.clearTimer = undefined;
    const deadline = new Promise((resolve) => setTimeout(resolve, waitMs).unref());
    await Promise.race([
      (async () => {
        while (this.work.size > 0) await Promise.allSettled([...this.work]);
      })(),
      deadline,
    ]);
    await this.flushClears();
    // What is left is adoptable by another relay at once (or by this node's next start).
    await this.options.store.retireRelay(this.options.owner).catch((err) => this.options.onError?.(err));
  }

  private laneOf(chartId: string): Lane {
    let lane = this.lanes.get(chartId);
    if (!lane) {
      lane = { chartId, queue: [], lastSeq: this.recent.get(chartId), needsRead: false, busy: false, notBefore: 0, waits: 0, timeouts: 0 };
      this.recent.delete(chartId);
      this.lanes.set(chartId, lane);
    }
    return lane;
  }

  private wake(lane: Lane): void {
    this.ready.add(lane);
    if (this.pumpQueued || this.stopped) return;
    this.pumpQueued = true;
    // Commits resolved together (a group) are looked at together.
    setImmediate(() => {
      this.pumpQueued = false;
      this.pump();
    });
  }

  private track<T>(promise: Promise<T>): Promise<T> {
    this.work.add(promise);
    const done = () => this.work.delete(promise);
    promise.then(done, done);
    return promise;
  }

  private pump(): void {
    if (this.stopped) return;
    if (!this.options.canDeliver() || this.leaseLost) return this.retryLater();
    const now = Date.now();
    const toRead: Lane[] = [];
    let later = false;
    for (const lane of [...this.ready]) {
      if (lane.busy) {
        this.ready.delete(lane);
        continue;
      }
      if (lane.notBefore > now) {
        later = true;
        continue;
      }
      if (lane.needsRead) {
        if (this.reading || toRead.length >= this.options.batch) continue;
        this.ready.delete(lane);
        toRead.push(lane);
        continue;
      }
      this.ready.delete(lane);
      if (lane.queue.length > 0) this.send(lane);
      else this.forget(lane);
    }
    if (toRead.length > 0) void this.track(this.read(toRead));
    if (later) this.retryLater();
    this.notifyIfDrained();
  }

  /** Looks again after `retryMs`, at every lane with work (delivery impossible now, or backing off). */
  private retryLater(): void {
    if (this.retryTimer || this.stopped) return;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      for (const lane of this.lanes.values()) if (!lane.busy && (lane.needsRead || lane.queue.length > 0)) this.ready.add(lane);
      this.pump();
    }, this.options.retryMs);
  }

  private send(lane: Lane): void {
    lane.busy = true;
    const group = lane.queue.splice(0, this.options.batch);
    lane.sendingSeq = group[group.length - 1].seq;
    // Transitions without messages were handed over before and are gone from the store: delivered.
    const messages = group.flatMap((entry) => entry.messages ?? []);
    const sent = (messages.length > 0 ? this.options.deliver(messages) : Promise.resolve()).then(
      () => {
        lane.lastSeq = group[group.length - 1].seq;
        lane.timeouts = 0;
        this.cleared(group);
      },
      (err) => this.failed(lane, group, err),
    );
    // Under load a hand-over waits tens of milliseconds for the broker's acknowledgement: long
    // enough for V8 to promote whatever it holds to its old generation. Its messages are not
    // needed again (a failed one is read again from the store), so they are let go now.
    for (const entry of group) entry.messages = undefined;
    void this.track(sent).finally(() => {
      lane.busy = false;
      lane.sendingSeq = undefined;
      this.wake(lane);
    });
  }

  /**
   * A hand-over failed (or was never acknowledged). Its transitions go back to the head of the
   * chart's queue, without their messages (let go when handed over), and the chart reads its rows
   * again before it sends anything: those still in the outbox come back with their messages, and
   * those gone from it were delivered meanwhile (by another relay that adopted them) and are not
   * sent again.
   */
  private failed(lane: Lane, group: QueuedTransition[], err: unknown): void {
    let rest = group;
    if (err instanceof DeliveryTimeout && ++lane.timeouts >= this.options.maxTimeouts) {
      // Never acknowledged, again and again (a flow that never completes it): report the oldest
      // transition of the hand-over and give it up, so that the chart's later ones can go on.
      const [head] = group;
      this.options.onGiveUp?.({ chartId: head.chartId, seq: head.seq }, err);
      lane.lastSeq = head.seq;
      lane.timeouts = 0;
      this.cleared([head]);
      rest = group.slice(1);
    } else {
      this.options.onError?.(err);
    }
    // Not delivered: still in the outbox; read the chart's rows again before sending more.
    lane.queue = rest.concat(lane.queue);
    lane.needsRead = true;
    lane.notBefore = Date.now() + this.options.retryMs;
  }

  private forget(lane: Lane): void {
    this.lanes.delete(lane.chartId);
    if (lane.lastSeq === undefined) return;
    this.recent.set(lane.chartId, lane.lastSeq);
    if (this.recent.size > RECENT_CHARTS) this.recent.delete(this.recent.keys().next().value as string);
  }

  /**
   * Reads the outbox rows of some charts: adopts orphaned ones, waits for rows of live relays, and
   * queues the rest after what this relay already delivered.
   */
  private async read(lanes: Lane[]): Promise<void> {
    const { store, machineId, owner, retryMs } = this.options;
    this.reading = true;
    for (const lane of lanes) lane.busy = true;
    try {
      const ids = lanes.map((lane) => lane.chartId);
      let rows = await store.readChartOutbox(machineId, ids, owner);
      const pending = (row: OutboxRow) => row.seq > (this.lanes.get(row.chartId)?.lastSeq ?? 0);
      const orphans = [...new Set(rows.filter((row) => row.orphaned && pending(row)).map((row) => row.chartId))];
      if (orphans.length > 0) {
        const adopted = await store.adoptOutbox(machineId, orphans, owner);
        rows = rows.map((row) => (adopted.has(`${row.chartId}:${row.seq}`) ? { ...row, mine: true, owner } : row));
      }
      const byChart = new Map<string, OutboxRow[]>();
      for (const row of rows) if (pending(row)) byChart.set(row.chartId, [...(byChart.get(row.chartId) ?? []), row]);
      const now = Date.now();
      for (const lane of lanes) {
        const stored = byChart.get(lane.chartId) ?? [];
        if (stored.some((row) => !row.mine)) {
          // Older transitions another relay is still delivering: their turn first.
          lane.notBefore = now + Math.min(retryMs * 2 ** lane.waits++, 2000);
          continue;
        }
        const newest = stored.length > 0 ? stored[stored.length - 1].seq : 0;
        lane.queue = [...stored.map(({ chartId, seq, messages }) => ({ chartId, seq, messages: messages as OutMessage[] })), ...lane.queue.filter((entry) => entry.seq > newest)];
        lane.needsRead = false;
        lane.waits = 0;
      }
    } catch (err) {
      this.options.onError?.(err);
      for (const lane of lanes) lane.notBefore = Date.now() + retryMs;
    } finally {
      this.reading = false;
      for (const lane of lanes) {
        lane.busy = false;
        this.wake(lane);
      }
    }
  }

  /**
   * Finds charts with rows to send that no commit of this run announced: orphans of dead relays,
   * and at start-up what an earlier run under the same owner left.
   */
  private scan(includeMine: boolean): Promise<void> {
    if (this.stopped || this.scanning) return this.scanning ?? Promise.resolve();
    const { store, machineId, owner, batch, leaseMs } = this.options;
    this.scanning = this.track(
      (async () => {
        try {
          for (;;) {
            if (this.stopped) return true;
            const charts = await store.scanOutboxCharts(machineId, owner, includeMine, this.scanAfter, batch);
            // A chart with a lane is being looked after already (its lane reads what it must).
            for (const chartId of charts.filter((id) => !this.lanes.has(id))) {
              const lane = this.laneOf(chartId);
              lane.needsRead = true;
              this.wake(lane);
            }
            if (charts.length < batch) {
              this.scanAfter = '';
              return true;
            }
            this.scanAfter = charts[charts.length - 1];
            // Page on once these are on their way: memory holds a few pages, not the whole outbox.
            while (!this.stopped && this.lanes.size > batch * 2) await new Promise((resolve) => setTimeout(resolve, this.options.retryMs));
          }
        } catch (err) {
          this.options.onError?.(err);
          return false;
        }
      })(),
    ).then((scanned) => {
      this.scanning = undefined;
      // Orphans appear when another relay dies: look for them again within half a lease; a scan
      // that failed (the store is away) is tried again sooner, start-up's own rows included.
      if (!this.stopped) this.scanTimer = setTimeout(() => void this.scan(includeMine && !scanned), scanned ? leaseMs / 2 : Math.min(leaseMs / 2, 1000));
      this.notifyIfDrained();
    });
    return this.scanning;
  }

  /** Renews the lease every third of it; a lease that may have run out stops sending until renewed. */
  private async renew(): Promise<void> {
    if (this.stopped) return;
    const { store, owner, leaseMs } = this.options;
    try {
      await this.track(store.renewRelay(owner, leaseMs));
      this.renewedAt = Date.now();
      if (this.leaseLost) {
        // Another relay may have adopted rows meanwhile: read every chart again before sending.
        this.leaseLost = false;
        for (const lane of this.lanes.values()) {
          lane.needsRead = true;
          this.wake(lane);
        }
      }
    } catch (err) {
      this.options.onError?.(err);
      if (Date.now() - this.renewedAt > leaseMs / 2) this.leaseLost = true;
    }
    if (!this.stopped) this.renewTimer = setTimeout(() => void this.renew(), this.leaseLost ? this.options.retryMs * 10 : leaseMs / 3);
  }

  private cleared(group: QueuedTransition[]): void {
    for (const entry of group) this.toClear.push({ chartId: entry.chartId, seq: entry.seq });
    this.clearSoon();
  }

  /**
   * Delivered rows are deleted after they gathered for `clearAfterMs`, all in one statement: a row
   * left a little longer costs nothing (a message is sent again only after a crash, and receivers
   * drop duplicates by id), while a statement per handful of rows cost a transaction each: twice
   * as many as the commits themselves on the embedded database in bench a.
   */
  private clearSoon(): void {
    if (this.clearTimer || this.clearing || this.stopped || this.toClear.length === 0) return;
    this.clearTimer = setTimeout(() => {
      this.clearTimer = undefined;
      void this.flushClears();
    }, this.options.clearAfterMs);
  }

  /** Deletes the delivered rows gathered so far in one statement. */
  private async flushClears(): Promise<void> {
    while (this.clearing) await this.clearing;
    if (this.toClear.length === 0) return;
    const batch = this.toClear.splice(0);
    this.clearing = this.track(this.options.store.clearOutbox(this.options.machineId, batch)).then(
      () => undefined,
      (err) => {
        // Left in the outbox: delivered again by a later read (receivers drop duplicates by id).
        this.options.onError?.(err);
      },
    );
    await this.clearing;
    this.clearing = undefined;
    this.clearSoon();
    this.notifyIfDrained();
  }

  private isDrained(): boolean {
    return this.lanes.size === 0 && this.toClear.length === 0 && !this.clearing && !this.scanning;
  }

  private notifyIfDrained(): void {
    if (this.drainWaiters.length === 0 || !this.isDrained()) return;
    for (const resolve of this.drainWaiters.splice(0)) resolve();
  }
}
