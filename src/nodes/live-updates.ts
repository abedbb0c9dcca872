import type { ChartSummary } from '../store/sql/list-charts';

/** What the editor's sidebar hears of a chart as it moves: the row the charts list shows. */
export type ChartUpdate = ChartSummary;

export const LIVE_UPDATE_INTERVAL_MS = 500;

/**
 * Tells the editor (Node-RED's comms, topic `xstate-chart/{nodeId}/{chartId}`) that charts moved, at
 * most twice a second per chart: the first change at once, then the latest of each half second.
 * A burst of thousands of events to one chart makes a couple of messages a second, not thousands.
 */
export class LiveUpdates {
  private readonly windows = new Map<string, { timer: NodeJS.Timeout; latest?: ChartUpdate }>();

  constructor(
    private readonly publish: (topic: string, update: ChartUpdate | { chartId: string; deleted: true }) => void,
    private readonly nodeId: string,
    private readonly intervalMs = LIVE_UPDATE_INTERVAL_MS,
  ) {}

  changed(update: ChartUpdate): void {
    const window = this.windows.get(update.chartId);
    if (window) {
      window.latest = update;
      return;
    }
    this.send(update);
    this.open(update.chartId);
  }

  /** A chart was deleted: said at once (`{ chartId, deleted: true }`), any update still waiting dropped. */
  deleted(chartId: string): void {
    const window = this.windows.get(chartId);
    if (window) clearTimeout(window.timer);
    this.windows.delete(chartId);
    this.publish(`xstate-chart/${this.nodeId}/${chartId}`, { chartId, deleted: true });
  }

  close(): void {
    for (const { timer } of this.windows.values()) clearTimeout(timer);
    this.windows.clear();
  }

  private open(chartId: string): void {
    const timer = setTimeout(() => {
      const latest = this.windows.get(chartId)?.latest;
      this.windows.delete(chartId);
      if (latest) {
        this.send(latest);
        this.open(chartId);
      }
    }, this.intervalMs);
    timer.unref();
    this.windows.set(chartId, { timer });
  }

  private send(update: ChartUpdate): void {
    this.publish(`xstate-chart/${this.nodeId}/${update.chartId}`, update);
  }
}
