import type { Queryable } from '../db';
import type { ChartRecord } from '../chart-record';
import type { JsonObject } from '../../engine/json';

/** A chart as stored, whole (the admin API and tools read this). */
export async function loadChart(db: Queryable, schema: string, machineId: string, chartId: string): Promise<ChartRecord | undefined> {
  const { rows } = await db.query<{ machine_version: number; seq: string | number; status: string; state: ChartRecord['state']; snapshot: ChartRecord['snapshot']; commit_id: string | null }>(
    `select machine_version, seq, status, state, snapshot, commit_id from ${schema}.charts where machine_id = $1 and chart_id = $2`,
    [machineId, chartId],
  );
  const row = rows[0];
  if (!row) return undefined;
  return { machineId, chartId, machineVersion: Number(row.machine_version), seq: Number(row.seq), status: row.status, state: row.state, snapshot: row.snapshot, commitId: row.commit_id ?? undefined };
}

/** What a runtime needs of a chart to apply its next event. */
export interface StoredChart {
  machineVersion: number;
  seq: number;
  /** XState's persisted snapshot. */
  snapshot: JsonObject;
  /** The id of the event of the last transition, if it had one. */
  lastEventId?: string;
  /** Bytes of the snapshot's JSON: what holding it in memory costs, roughly. */
  bytes: number;
  /** Whether the event id asked about is among the chart's applied ones. */
  eventApplied: boolean;
}

/**
 * Reads a chart for the runtime; with `eventId`, also whether that id was applied to it (in the
 * same statement, so both describe one committed state). The snapshot comes as text so that its
 * size is known without serializing it again.
 */
export async function loadStoredChart(db: Queryable, schema: string, machineId: string, chartId: string, eventId?: string): Promise<StoredChart | undefined> {
  const { rows } = await db.query<StoredChartRow>(
    `select c.machine_version, c.seq, c.snapshot::text as snapshot, c.state #>> '{metadata,event,id}' as last_event_id,
            $3::text is not null and exists (select 1 from ${schema}.event_ids e where e.machine_id = c.machine_id and e.chart_id = c.chart_id and e.event_id = $3) as event_applied
       from ${schema}.charts c where c.machine_id = $1 and c.chart_id = $2`,
    [machineId, chartId, eventId ?? null],
    // Read for every cold event: parsed and planned once per connection (on PGlite, in Node-RED's
    // thread), its plan kept fit for the tables' size as the group commit's is.
    { name: `xstate-load-chart:${schema}` },
  );
  return rows[0] ? storedChartOf(rows[0]) : undefined;
}

interface StoredChartRow {
  machine_version: number;
  seq: string | number;
  snapshot: string;
  last_event_id: string | null;
  event_applied: boolean;
}

function storedChartOf(row: StoredChartRow): StoredChart {
  return {
    machineVersion: Number(row.machine_version),
    seq: Number(row.seq),
    snapshot: JSON.parse(row.snapshot) as JsonObject,
    lastEventId: row.last_event_id ?? undefined,
    bytes: row.snapshot.length,
    eventApplied: row.event_applied === true,
  };
}

export interface ChartToLoad {
  machineId: string;
  chartId: string;
  eventId?: string;
}

/**
 * Reads several charts for the runtime in one statement, each as {@link loadStoredChart} reads one
 * (undefined for a chart not stored). One of them alone goes through {@link loadStoredChart}.
 */
export async function loadStoredCharts(db: Queryable, schema: string, charts: ChartToLoad[]): Promise<Array<StoredChart | undefined>> {
  if (charts.length === 1) return [await loadStoredChart(db, schema, charts[0].machineId, charts[0].chartId, charts[0].eventId)];
  const { rows } = await db.query<StoredChartRow & { i: string | number }>(
    // OFFSET 0 keeps the id check a lookup per chart (see commit-transitions.ts).
    `select k.i, c.machine_version, c.seq, c.snapshot::text as snapshot, c.state #>> '{metadata,event,id}' as last_event_id,
            k.event_id is not null and exists (
              select 1 from ${schema}.event_ids e where e.machine_id = k.machine_id and e.chart_id = k.chart_id and e.event_id = k.event_id offset 0) as event_applied
       from unnest($1::text[], $2::text[], $3::text[]) with ordinality as k(machine_id, chart_id, event_id, i)
       join ${schema}.charts c on c.machine_id = k.machine_id and c.chart_id = k.chart_id`,
    [charts.map((c) => c.machineId), charts.map((c) => c.chartId), charts.map((c) => c.eventId ?? null)],
  );
  const loaded: Array<StoredChart | undefined> = charts.map(() => undefined);
  for (const row of rows) loaded[Number(row.i) - 1] = storedChartOf(row);
  return loaded;
}
