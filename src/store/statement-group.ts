interface Waiting<I, O> {
  item: I;
  key?: string;
  resolve: (result: O) => void;
  reject: (err: unknown) => void;
}

export interface StatementGroupOptions<I, O> {
  /** Does the whole group in one statement; one result per item, in order. */
  run: (items: I[]) => Promise<O[]>;
  /** Groups in flight at once (each holds a connection). */
  concurrency: number;
  /** Largest group. */
  maxSize: number;
  /** Items of one key never share a group: the second waits for the next (one chart per commit). */
  keyOf?: (item: I) => string;
  /**
   * Gather for one turn of the event loop before a group starts. For a database that runs in this
   * thread (PGlite): its work blocks the loop, so events that arrived meanwhile are handled only
   * after it, and a group started at once would hold one item. A turn lets them in first.
   */
  gatherOneTurn?: boolean;
  /**
   * While a group is in flight, another starts beside it only once this many items wait; fewer
   * wait until no group is in flight (default 1: start at once). When nothing is in flight, a
   * group always starts at once.
   */
  busyMinimum?: number;
}

/**
 * Items that become ready while groups are in flight share the next statement: the store's group
 * commit (transitions of different charts in one transaction) and its grouped reads of charts.
 * Nothing waits for company when the system is idle: with nothing in flight, a group starts at once
 * with whatever is waiting (alone, usually). While groups are in flight, another starts beside them
 * once `busyMinimum` items wait, else once none is in flight. With `keyOf`, one key is never twice
 * in a group, so a group's compare-and-set statements each see a chart once.
 */
export class StatementGroup<I, O> {
  private queue: Array<Waiting<I, O>> = [];
  private inFlight = 0;
  private gathering = false;

  constructor(private readonly options: StatementGroupOptions<I, O>) {}

  add(item: I): Promise<O> {
    return new Promise((resolve, reject) => {
      this.queue.push({ item, key: this.options.keyOf?.(item), resolve, reject });
      this.schedule();
    });
  }

  /** Items waiting for a statement. */
  get waiting(): number {
    return this.queue.length;
  }

  private schedule(): void {
    if (!this.options.gatherOneTurn) return this.next();
    if (this.gathering) return;
    this.gathering = true;
    setImmediate(() => {
      this.gathering = false;
      this.next();
    });
  }

  private next(): void {
    while (this.inFlight < this.options.concurrency && this.queue.length > 0) {
      if (this.inFlight > 0 && this.queue.length < (this.options.busyMinimum ?? 1)) return;
      const group = this.take();
      this.inFlight++;
      this.options
        .run(group.map((w) => w.item))
        .then(
          (results) => group.forEach((w, i) => w.resolve(results[i])),
          (err) => group.forEach((w) => w.reject(err)),
        )
        .finally(() => {
          this.inFlight--;
          if (this.queue.length > 0) this.schedule();
        });
    }
  }

  private take(): Array<Waiting<I, O>> {
    if (!this.options.keyOf) return this.queue.splice(0, this.options.maxSize);
    const group: Array<Waiting<I, O>> = [];
    const skipped: Array<Waiting<I, O>> = [];
    const keys = new Set<string>();
    let i = 0;
    for (; i < this.queue.length && group.length < this.options.maxSize; i++) {
      const w = this.queue[i];
      if (keys.has(w.key as string)) {
        skipped.push(w);
      } else {
        keys.add(w.key as string);
        group.push(w);
      }
    }
    this.queue = skipped.concat(this.queue.slice(i));
    return group;
  }
}
