import type { ChartState } from '../engine/chart-state';
import type { JsonObject } from '../engine/json';

/** One chart as stored: the SPEC's persisted state plus XState's own snapshot for an exact restore. */
export interface ChartRecord {
  machineId: string;
  chartId: string;
  machineVersion: number;
  seq: number;
  status: string;
  state: ChartState;
  snapshot: JsonObject;
  /** Unique per commit: lets a writer recognise its own commit after an ambiguous failure. */
  commitId?: string;
}
