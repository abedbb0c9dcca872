import type { ChartToLoad } from './sql/load-chart';

interface Waiting<T> {
  chart: ChartToLoad;
  resolve: (loaded: T) => void;
  reject: (err: unknown) => void;
}

export interface LoadGroupOptions<T> {
  /** Reads the group in one statement; one result per chart, in order. */
  load: (charts: ChartToLoad[]) => Promise<T[]>;
  /** Reads in flight at once (each holds a connection). */
  concurrency: number;
  /** Largest group. */
  maxSize: number;
}

/**
 * Charts to read gather while reads are in flight and go in the next statement together, as
 * commits do (see CommitGroup): with a free slot, a read starts at once with whatever waits (alone
 * when the system is idle). Under load most events of a store with more charts than the cache
 * holds need a read: one statement for many of them instead of one each.
 */
export class LoadGroup<T> {
  private queue: Array<Waiting<T>> = [];
  private inFlight = 0;

  constructor(private readonly options: LoadGroupOptions<T>) {}

  load(chart: ChartToLoad): Promise<T> {
    return new Promise((resolve, reject) => {
      this.queue.push({ chart, resolve, reject });
      this.next();
    });
  }

  private next(): void {
    while (this.inFlight < this.options.concurrency && this.queue.length > 0) {
      const group = this.queue.splice(0, this.options.maxSize);
      this.inFlight++;
      this.options
        .load(group.map((w) => w.chart))
        .then(
          (loaded) => group.forEach((w, i) => w.resolve(loaded[i])),
          (err) => group.forEach((w) => w.reject(err)),
        )
        .finally(() => {
          this.inFlight--;
          this.next();
        });
    }
  }
}
