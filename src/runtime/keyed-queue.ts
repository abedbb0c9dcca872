/**
 * Runs tasks one at a time per key, in the order they were added, and different keys concurrently.
 * This is what gives a chart's events their arrival order without serializing all charts.
 */
export class KeyedQueue {
  private readonly tails = new Map<string, Promise<void>>();
  private readonly lengths = new Map<string, number>();

  run<T>(key: string, task: () => Promise<T>): Promise<T> {
    const previous = this.tails.get(key) ?? Promise.resolve();
    const result = previous.then(task);
    const tail = result.then(
      () => {},
      () => {},
    );
    this.tails.set(key, tail);
    this.lengths.set(key, (this.lengths.get(key) ?? 0) + 1);
    void tail.then(() => {
      const left = (this.lengths.get(key) ?? 1) - 1;
      if (left === 0) {
        this.lengths.delete(key);
        this.tails.delete(key);
      } else {
        this.lengths.set(key, left);
      }
    });
    return result;
  }

  /** Tasks waiting or running for a key. */
  length(key: string): number {
    return this.lengths.get(key) ?? 0;
  }

  /** Resolves when every task added so far has settled. */
  async idle(): Promise<void> {
    while (this.tails.size > 0) await Promise.all([...this.tails.values()]);
  }
}
