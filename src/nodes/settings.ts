import { ChartCache, DEFAULT_CACHE_BYTES } from '../runtime/chart-cache';
import { DEFAULT_MAX_CONTEXT_BYTES, DEFAULT_MAX_QUEUE_PER_CHART } from '../runtime/chart-runtime';
import { MAX_EVENT_BYTES } from '../engine/event';
import { DEFAULT_MAX_WAITING, WaitingEvents } from '../runtime/waiting-events';
import { DEFAULT_DEDUP_WINDOW, type DedupWindow } from '../store/sql/prune-event-ids';
import type { RetryPolicy } from '../store/retry';
import type { NodeAPI } from './node-red';

/**
 * The package's part of Node-RED's `settings.js`:
 *
 *   xstate: {
 *     cache: { maxBytes: 4194304 },           // charts kept in memory, estimated bytes of memory, per process
 *     queue: { perChart: 1000, total: 10000 }, // events waiting for their chart's turn
 *     dedup: { events: 1000, hours: 24 },      // idempotency window
 *     retry: { attempts, initialDelayMs, maxDelayMs, totalMs },
 *     tcpNoDelay: true,                        // on the charts' broker sockets, with one write per commit's messages
 *     limits: { eventBytes: 262144, contextBytes: 1048576 }, // largest event payload, largest context (JSON)
 *     machines: { checkEveryMs: 30000 },      // chart nodes reading the store: look for a newer version (besides LISTEN)
 *   }
 */
export interface XStateSettings {
  cache?: { maxBytes?: number };
  queue?: { perChart?: number; total?: number };
  dedup?: Partial<DedupWindow>;
  retry?: Partial<RetryPolicy>;
  tcpNoDelay?: boolean;
  limits?: { eventBytes?: number; contextBytes?: number };
  machines?: { checkEveryMs?: number };
}

export function xstateSettings(RED: NodeAPI): XStateSettings {
  return (RED.settings.xstate as XStateSettings | undefined) ?? {};
}

export function dedupWindow(RED: NodeAPI): DedupWindow {
  return { ...DEFAULT_DEDUP_WINDOW, ...xstateSettings(RED).dedup };
}

export function maxQueuePerChart(RED: NodeAPI): number {
  return xstateSettings(RED).queue?.perChart ?? DEFAULT_MAX_QUEUE_PER_CHART;
}

let shared: { cache: ChartCache; waiting: WaitingEvents } | undefined;

/** The memory bounds every chart node of the process shares, made from the settings at first use. */
export function processLimits(RED: NodeAPI): { cache: ChartCache; waiting: WaitingEvents } {
  if (!shared) {
    const settings = xstateSettings(RED);
    shared = {
      cache: new ChartCache(settings.cache?.maxBytes ?? DEFAULT_CACHE_BYTES),
      waiting: new WaitingEvents(settings.queue?.total ?? DEFAULT_MAX_WAITING),
    };
  }
  return shared;
}

/** The largest event payload and context, in bytes of JSON (SPEC §8: 256 KiB and 1 MiB unless set). */
export function sizeLimits(RED: NodeAPI): { eventBytes: number; contextBytes: number } {
  const limits = xstateSettings(RED).limits ?? {};
  return { eventBytes: limits.eventBytes ?? MAX_EVENT_BYTES, contextBytes: limits.contextBytes ?? DEFAULT_MAX_CONTEXT_BYTES };
}
