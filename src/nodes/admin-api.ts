import { ChartError, messageOf, type ErrorCode } from '../engine/errors';
import { errorText } from '../engine/texts';
import { checkChartId, parseEvent } from '../engine/event';
import { ANY_IMPLEMENTATIONS, DefinitionError, parseDefinition, type DefinitionProblem } from '../engine/definition';
import { versionDigest } from '../engine/machine';
import { isEmptyMigrate, migrateProblems } from '../engine/migrate';
import type { Impact } from '../engine/impact';
import { splitMachineInput } from '../runtime/machine-source';
import { validateDefinition } from '../engine/validate';
import type { Outcome } from '../runtime/chart-runtime';
import type { ChartSummary } from '../store/sql/list-charts';
import type { ChartDetail } from '../store/sql/chart-detail';
import type { ChartStore } from '../store/chart-store';
import type { HttpResponse, NodeAPI, RequestHandler } from './node-red';

/** What a chart node offers the admin API. */
export interface ChartNodeApi {
  /** The largest event payload the node takes (settings.js xstate.limits.eventBytes). */
  eventBytes: number;
  charts(prefix: string, after: string, limit: number): Promise<{ charts: ChartSummary[]; next: string | null }>;
  chart(chartId: string): Promise<ChartDetail | undefined>;
  /** Applies an event through the chart's queue, as one from MQTT. */
  dispatch(chartId: string, event: ReturnType<typeof parseEvent>): Promise<Outcome>;
  deleteChart(chartId: string): Promise<boolean>;
  /**
   * What deploying a candidate `{ definition, migrate? }` would do to the running charts, with the
   * node's versioning or the one given (the edit dialog's, before it is deployed).
   */
  impact(input: unknown, versioning?: 'move' | 'pin'): Promise<{ problems: DefinitionProblem[]; impact?: Impact }>;
  /** Moves up to `limit` charts to the current version now. */
  migrateCharts(limit: number): Promise<{ moved: number; mapped: number; stayed: number; remaining: boolean }>;
}

/** An admin API failure: an HTTP status with a code and a message (never a stack). */
class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

const STATUS_OF: Partial<Record<ErrorCode, number>> = {
  invalid_event: 400,
  definition_invalid: 400,
  unknown_chart: 404,
  persistence_failed: 503,
};

function reply(res: HttpResponse, status: number, body: unknown): void {
  res.status(status).json(body);
}

/** Runs a handler; what it throws becomes `{ error: { code, message } }` with a 4xx/5xx status. */
function handle(work: (req: Parameters<RequestHandler>[0]) => Promise<unknown>): RequestHandler {
  return (req, res) => {
    work(req).then(
      (body) => reply(res, 200, body),
      (err) => {
        if (err instanceof HttpError) return reply(res, err.status, { error: { code: err.code, message: err.message } });
        if (err instanceof ChartError) return reply(res, STATUS_OF[err.code] ?? 400, { error: { code: err.code, message: err.message } });
        reply(res, 503, { error: { code: 'persistence_failed', message: messageOf(err) } });
      },
    );
  };
}

function nodeOf<T>(RED: NodeAPI, id: string, type: string, pick: (node: never) => T | undefined): T {
  // Any node can be named by id: only one of the right type is asked anything.
  const node = RED.nodes.getNode(id) as { type?: string } | null;
  const found = node?.type === type ? pick(node as never) : undefined;
  if (!found) throw new HttpError(404, 'not_found', errorText('noNode', { type, id: JSON.stringify(id) }));
  return found;
}

function pageSize(value: unknown): number {
  if (value === undefined || value === '') return 100;
  const limit = Number(value);
  if (!Number.isInteger(limit) || limit < 1 || limit > 500) throw new HttpError(400, 'invalid_request', errorText('badPageLimit'));
  return limit;
}

/**
 * The chart nodes' admin HTTP API (SPEC §10), behind Node-RED's admin authentication:
 *   POST   /xstate-chart/validate                           { definition, implementations? } → { ok, problems }   (xstate.read; xstate.write with implementations: their code runs)
 *   GET    /xstate-chart/:id/charts?prefix=&after=&limit=   → { charts, next }                                      (xstate.read)
 *   GET    /xstate-chart/:id/charts/:chartId                → { state, timers, transitions, machine }               (xstate.read)
 *   POST   /xstate-chart/:id/charts/:chartId/events         an event → { outcome, state?, error? }                  (xstate.write)
 *   DELETE /xstate-chart/:id/charts/:chartId                → { deleted: true }                                     (xstate.write)
 *   POST   /xstate-chart/:id/impact                         { definition, migrate?, versioning? } → { problems, impact? } (xstate.read)
 *   POST   /xstate-chart/:id/migrate                        { limit? } → { moved, mapped, stayed, remaining }        (xstate.write)
 */
export function registerChartEndpoints(RED: NodeAPI): void {
  const read = RED.auth.needsPermission('xstate.read');
  const write = RED.auth.needsPermission('xstate.write');
  const chartNode = (id: string) => nodeOf<ChartNodeApi>(RED, id, 'xstate-chart', (node: { xstate?: ChartNodeApi }) => node.xstate);
  const chartIdOf = (value: string) => checkChartId(value);

  // A definition alone is data (JSON Logic is evaluated, never run as code): reading is enough. The
  // implementations are JavaScript run in the Function node's sandbox, which is not a security
  // boundary: checking them is for those who may deploy code.
  const validatePermission: RequestHandler = (req, res, next) => ((req.body as { implementations?: unknown } | undefined)?.implementations === undefined ? read : write)(req, res, next);
  RED.httpAdmin.post(
    '/xstate-chart/validate',
    validatePermission,
    handle(async (req) => {
      const body = (req.body ?? {}) as { definition?: unknown; implementations?: unknown };
      if (body.definition === undefined) throw new HttpError(400, 'invalid_request', errorText('validateRequest'));
      if (body.implementations !== undefined && typeof body.implementations !== 'string') throw new HttpError(400, 'invalid_request', errorText('implementationsNotText'));
      return validateDefinition(body.definition, body.implementations as string | undefined);
    }),
  );
  RED.httpAdmin.get(
    '/xstate-chart/:id/charts',
    read,
    handle(async (req) => {
      const { prefix = '', after = '', limit } = req.query;
      if (typeof prefix !== 'string' || typeof after !== 'string') throw new HttpError(400, 'invalid_request', errorText('pageNotText'));
      return chartNode(req.params.id).charts(prefix, after, pageSize(limit));
    }),
  );
  RED.httpAdmin.get(
    '/xstate-chart/:id/charts/:chartId',
    read,
    handle(async (req) => {
      const node = chartNode(req.params.id);
      const detail = await node.chart(chartIdOf(req.params.chartId));
      if (!detail) throw new ChartError('unknown_chart', errorText('noChart', { chartId: req.params.chartId }));
      return detail;
    }),
  );
  RED.httpAdmin.post(
    '/xstate-chart/:id/charts/:chartId/events',
    write,
    handle(async (req) => {
      const node = chartNode(req.params.id);
      const outcome = await node.dispatch(chartIdOf(req.params.chartId), parseEvent(req.body, node.eventBytes));
      if (outcome.kind === 'rejected') return { outcome: outcome.kind, error: { code: outcome.error.code, message: outcome.error.message } };
      return outcome.kind === 'applied' ? { outcome: outcome.kind, state: outcome.state } : { outcome: outcome.kind };
    }),
  );
  RED.httpAdmin.post(
    '/xstate-chart/:id/impact',
    read,
    handle(async (req) => {
      const body = req.body as { definition?: unknown; migrate?: unknown; versioning?: unknown } | undefined;
      if (body?.definition === undefined) throw new HttpError(400, 'invalid_request', errorText('impactRequest'));
      const { versioning } = body;
      if (versioning !== undefined && versioning !== 'move' && versioning !== 'pin') throw new HttpError(400, 'invalid_request', errorText('badVersioning'));
      return chartNode(req.params.id).impact({ definition: body.definition, migrate: body.migrate }, versioning);
    }),
  );
  RED.httpAdmin.post(
    '/xstate-chart/:id/migrate',
    write,
    handle(async (req) => {
      const limit = (req.body as { limit?: unknown } | undefined)?.limit;
      if (limit !== undefined && (!Number.isInteger(limit) || (limit as number) < 1)) throw new HttpError(400, 'invalid_request', errorText('badMigrateLimit'));
      return chartNode(req.params.id).migrateCharts((limit as number | undefined) ?? 10000);
    }),
  );
  RED.httpAdmin.delete(
    '/xstate-chart/:id/charts/:chartId',
    write,
    handle(async (req) => {
      const node = chartNode(req.params.id);
      if (!(await node.deleteChart(chartIdOf(req.params.chartId)))) throw new ChartError('unknown_chart', errorText('noChart', { chartId: req.params.chartId }));
      return { deleted: true };
    }),
  );
}

/**
 * The store nodes' admin HTTP API for machines, behind Node-RED's admin authentication:
 *   GET  /xstate-store/:id/machines             newest version of every machine   (xstate.read)
 *   GET  /xstate-store/:id/machines/:machineId  newest definition of one machine  (xstate.read)
 *   POST /xstate-store/:id/machines/:machineId  body: the definition; a new version (xstate.write)
 */
export function registerStoreEndpoints(RED: NodeAPI): void {
  const storeOf = (id: string) => nodeOf<ChartStore>(RED, id, 'xstate-store', (node: { store?: ChartStore }) => node.store);
  RED.httpAdmin.get('/xstate-store/:id/machines', RED.auth.needsPermission('xstate.read'), handle(async (req) => storeOf(req.params.id).listMachines()));
  RED.httpAdmin.get(
    '/xstate-store/:id/machines/:machineId',
    RED.auth.needsPermission('xstate.read'),
    handle(async (req) => {
      const machine = await storeOf(req.params.id).loadMachine(req.params.machineId);
      if (!machine) throw new HttpError(404, 'not_found', errorText('noMachine', { machineId: req.params.machineId }));
      return machine;
    }),
  );
  RED.httpAdmin.post(
    '/xstate-store/:id/machines/:machineId',
    RED.auth.needsPermission('xstate.write'),
    handle(async (req) => {
      const store = storeOf(req.params.id);
      // The definition, or { definition, migrate } with the state map that moves running charts.
      const input = splitMachineInput(req.body);
      const definition = parseDefinition(input.definition, ANY_IMPLEMENTATIONS);
      if (definition.id !== req.params.machineId) throw new ChartError('definition_invalid', errorText('definitionIdMismatch', { id: String(definition.id), machineId: req.params.machineId }));
      const earlier = (await store.loadMachineVersions(req.params.machineId)).map((v) => v.definition);
      const problems = migrateProblems(input.migrate, definition, earlier.length > 0 ? earlier : undefined);
      if (problems.length > 0) throw new DefinitionError(problems);
      const migrate = isEmptyMigrate(input.migrate) ? undefined : input.migrate;
      return { machineId: req.params.machineId, version: await store.registerMachine(req.params.machineId, definition, versionDigest(definition, migrate), migrate) };
    }),
  );
}
