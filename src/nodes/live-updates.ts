import type { ChartSummary } from '../store/sql/list-charts';

/** What the editor's sidebar hears of a chart as it moves: the row the charts list shows. */
export type ChartUpdate = ChartSummary;

export const LIVE_UPDATE_INTERVAL_MS = 500;

/** A chart told of lately: when, and the latest update not told yet. */
interface Window {
  sentAt: number;
  latest?: ChartUpdate;
}

/**
 * Tells the editor (Node-RED's comms, topic `xstate-chart/{nodeId}/{chartId}`) that charts moved, at
 * most once per interval per chart: the first change at once, then the latest of the changes since,
 * one interval after the last one told at the earliest. A burst of thousands of events to one chart
 * makes a couple of messages a second, not thousands.
 *
 * One ticker per node looks at the charts told of lately, not a timer per chart: under load every
 * chart that moves has a window open, and a Node.js timer per window (~300 bytes that outlive
 * young-generation collections) was a few per cent of what V8 promoted per event in bench d.
 */
export class LiveUpdates {
  private readonly windows = new Map<string, Window>();
  private ticker?: NodeJS.Timeout;
  private closed = false;

  constructor(
    private readonly publish: (topic: string, update: ChartUpdate | { chartId: string; deleted: true }) => void,
    private readonly nodeId: string,
    private readonly intervalMs = LIVE_UPDATE_INTERVAL_MS,
    private readonly now: () => number = Date.now,
  ) {}

  changed(update: ChartUpdate): void {
    // A commit that lands after its node closed tells no editor, and starts no ticker.
    if (this.closed) return;
    const window = this.windows.get(update.chartId);
    if (window) {
      window.latest = update;
      return;
    }
    this.send(update);
    this.windows.set(update.chartId, { sentAt: this.now() });
    // A look twice per interval: what waits is told between one and one and a half intervals after
    // the update before it.
    this.ticker ??= setInterval(() => this.tick(), Math.max(1, Math.floor(this.intervalMs / 2))).unref();
  }

  /** A chart was deleted: said at once (`{ chartId, deleted: true }`), any update still waiting dropped. */
  deleted(chartId: string): void {
    this.windows.delete(chartId);
    this.publish(`xstate-chart/${this.nodeId}/${chartId}`, { chartId, deleted: true });
  }

  close(): void {
    this.closed = true;
    this.windows.clear();
    this.stopTicker();
  }

  /** Tells the updates whose interval is over, and closes the windows of charts that stayed still. */
  tick(now = this.now()): void {
    for (const [chartId, window] of this.windows) {
      if (now - window.sentAt < this.intervalMs) continue;
      if (window.latest === undefined) {
        this.windows.delete(chartId);
        continue;
      }
      this.send(window.latest);
      window.latest = undefined;
      window.sentAt = now;
    }
    if (this.windows.size === 0) this.stopTicker();
  }

  private stopTicker(): void {
    if (this.ticker) clearInterval(this.ticker);
    this.ticker = undefined;
  }

  private send(update: ChartUpdate): void {
    this.publish(`xstate-chart/${this.nodeId}/${update.chartId}`, update);
  }
}
