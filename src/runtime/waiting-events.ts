/** Default cap on events waiting (queued or in progress) across all charts of a process. */
export const DEFAULT_MAX_WAITING = 10000;

/**
 * Counts the events a process holds in memory while they wait for their chart's turn (a store
 * outage makes them pile up), across every chart and node, and refuses more past a cap. Shared by
 * the runtimes of a process.
 */
export class WaitingEvents {
  private count = 0;

  constructor(readonly max: number = DEFAULT_MAX_WAITING) {}

  /** Takes a place; false when the cap is reached. */
  tryEnter(): boolean {
    if (this.count >= this.max) return false;
    this.count++;
    return true;
  }

  leave(): void {
    this.count--;
  }

  get waiting(): number {
    return this.count;
  }
}
