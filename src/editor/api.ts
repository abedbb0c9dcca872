/**
 * The package's admin HTTP API as the editor calls it (SPEC §10). Requests go through jQuery, which
 * Node-RED's editor sets up with the admin session's token, to paths relative to the editor's page
 * (so `httpAdminRoot` is honoured). A failure becomes an `ApiError` carrying the endpoint's
 * `{ error: { code, message } }` (the store's older `{ error, code }` shape is read too).
 */
import { editorWindow, t, type AjaxXhr } from './red';

export class ApiError extends Error {
  constructor(
    message: string,
    readonly code: string,
    readonly status: number,
  ) {
    super(message);
  }
}

function errorOf(xhr: AjaxXhr, status: string): ApiError {
  let body = xhr.responseJSON as { error?: unknown; code?: unknown; message?: unknown } | undefined;
  if (body === undefined && xhr.responseText) {
    try {
      body = JSON.parse(xhr.responseText);
    } catch {
      // not JSON: the status text says it
    }
  }
  const error = body?.error;
  if (error && typeof error === 'object') {
    const { code, message } = error as { code?: unknown; message?: unknown };
    return new ApiError(String(message ?? code ?? xhr.status), String(code ?? 'error'), xhr.status);
  }
  if (typeof error === 'string') return new ApiError(error, typeof body?.code === 'string' ? body.code : 'error', xhr.status);
  if (xhr.status === 0) return new ApiError(t('errors.unreachable'), status === 'timeout' ? 'timeout' : 'unreachable', 0);
  if (xhr.status === 401 || xhr.status === 403) return new ApiError(t('errors.permission'), 'permission', xhr.status);
  return new ApiError(t('errors.http', { status: xhr.status, text: xhr.statusText || status }), 'http', xhr.status);
}

export function request<T>(method: string, url: string, body?: unknown): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    editorWindow()
      .$.ajax({
        url,
        method,
        dataType: 'json',
        timeout: 30000,
        ...(body === undefined ? {} : { contentType: 'application/json; charset=utf-8', data: JSON.stringify(body) }),
      })
      .done((data) => resolve(data as T))
      .fail((xhr, status) => reject(errorOf(xhr, status)));
  });
}

const part = encodeURIComponent;

export interface Problem {
  path: string;
  message: string;
}

export interface ChartRow {
  chartId: string;
  value: unknown;
  status: string;
  seq: number;
  version: number;
  updatedAt: string | number;
}

export interface ChartPage {
  charts: ChartRow[];
  next: string | null;
}

export interface Timer {
  id: string;
  event: unknown;
  dueAt: string | number;
}

export interface TransitionRecord {
  seq: number;
  event: unknown;
  from: unknown;
  to: unknown;
  at: string | number;
}

export interface ChartDetail {
  state: { chartId: string; value: unknown; context?: unknown; status?: string; machine?: { id: string; version: number }; metadata?: { seq?: number; timestamp?: number } };
  timers: Timer[];
  transitions: TransitionRecord[];
  machine?: { id: string; version: number; definition: unknown };
}

export interface SendOutcome {
  outcome: 'applied' | 'duplicate' | 'ignored' | 'rejected';
  state?: { value?: unknown };
  error?: { code: string; message: string };
}

/** What deploying a candidate would do to one group of running charts (one version, one state). */
export interface ImpactGroup {
  version: number;
  value: unknown;
  charts: number;
  outcome: 'current' | 'move' | 'map' | 'stay' | 'pinned';
  /** With `map`: the state they move to. */
  to?: unknown;
  /** With `stay`: why. */
  reason?: string;
  timers: number;
  timersDropped: number;
}

export interface Impact {
  machineId: string;
  candidate: { version: number; changed: boolean };
  groups: ImpactGroup[];
  /** Charts per outcome, all charts, and all timers that would be dropped. */
  totals: Record<ImpactGroup['outcome'] | 'charts' | 'timersDropped', number>;
}

/** A definition with its state map (parsed) and the versioning it would be deployed with. */
export interface ImpactCandidate {
  definition: string;
  migrate?: unknown;
  versioning?: 'move' | 'pin';
}

export const api = {
  validate: (definition: string, implementations: string) =>
    request<{ ok: boolean; problems: Problem[] }>('POST', 'xstate-chart/validate', implementations.trim() ? { definition, implementations } : { definition }),
  storedMachine: (storeId: string, machineId: string) =>
    request<{ machineId: string; version: number; definition: unknown }>('GET', `xstate-store/${part(storeId)}/machines/${part(machineId)}`),
  charts: (nodeId: string, query: { prefix: string; after?: string | null; limit: number }) => {
    const params = new URLSearchParams({ prefix: query.prefix, limit: String(query.limit) });
    if (query.after) params.set('after', query.after);
    return request<ChartPage>('GET', `xstate-chart/${part(nodeId)}/charts?${params}`);
  },
  chart: (nodeId: string, chartId: string) => request<ChartDetail>('GET', `xstate-chart/${part(nodeId)}/charts/${part(chartId)}`),
  send: (nodeId: string, chartId: string, event: unknown) => request<SendOutcome>('POST', `xstate-chart/${part(nodeId)}/charts/${part(chartId)}/events`, event),
  remove: (nodeId: string, chartId: string) => request<{ deleted: boolean }>('DELETE', `xstate-chart/${part(nodeId)}/charts/${part(chartId)}`),
  /** `impact` is absent when the candidate does not compile (its problems say why). */
  impact: (nodeId: string, candidate: ImpactCandidate) => request<{ problems: Problem[]; impact?: Impact }>('POST', `xstate-chart/${part(nodeId)}/impact`, candidate),
};
