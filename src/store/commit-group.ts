import type { TransitionCommit, CommitResult } from './sql/commit-transitions';

interface Waiting {
  commit: TransitionCommit;
  key: string;
  resolve: (result: CommitResult) => void;
  reject: (err: unknown) => void;
}

export interface CommitGroupOptions {
  /** Commits the group in one transaction; one result per commit, in order. */
  commit: (commits: TransitionCommit[]) => Promise<CommitResult[]>;
  /** Groups in flight at once (each holds a connection). */
  concurrency: number;
  /** Largest group. */
  maxSize: number;
  /**
   * Gather for one turn of the event loop before a group starts. For a database that runs in this
   * thread (PGlite): its work blocks the loop, so events that arrived meanwhile are handled only
   * after it, and a group started at once would hold one transition. A turn lets them in first.
   */
  gatherOneTurn?: boolean;
  /**
   * While a group is in flight, another starts beside it only once this many commits wait; fewer
   * wait until no group is in flight (default 1: start at once). When nothing is in flight, a
   * commit always starts at once.
   */
  busyMinimum?: number;
}

/**
 * Group commit: transitions that become ready while commits are in flight share the next
 * transaction. Nothing waits for company when the system is idle: with nothing in flight, a commit
 * starts at once with whatever is waiting (alone, usually). While groups are in flight, another
 * starts beside them once `busyMinimum` commits wait, else once none is in flight. One chart is
 * never twice in a group, so the group's compare-and-set statements each see a chart once; a
 * second commit of a chart waits for the next.
 */
export class CommitGroup {
  private queue: Waiting[] = [];
  private inFlight = 0;
  private gathering = false;

  constructor(private readonly options: CommitGroupOptions) {}

  commit(commit: TransitionCommit): Promise<CommitResult> {
    return new Promise((resolve, reject) => {
      this.queue.push({ commit, key: `${commit.record.machineId}\u0000${commit.record.chartId}`, resolve, reject });
      this.schedule();
    });
  }

  /** Commits waiting for a transaction. */
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
        .commit(group.map((w) => w.commit))
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

  private take(): Waiting[] {
    const group: Waiting[] = [];
    const skipped: Waiting[] = [];
    const keys = new Set<string>();
    let i = 0;
    for (; i < this.queue.length && group.length < this.options.maxSize; i++) {
      const w = this.queue[i];
      if (keys.has(w.key)) {
        skipped.push(w);
      } else {
        keys.add(w.key);
        group.push(w);
      }
    }
    this.queue = skipped.concat(this.queue.slice(i));
    return group;
  }
}
