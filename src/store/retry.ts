import { errorText } from '../engine/texts';

/** PostgreSQL SQLSTATE classes and codes worth another attempt: the same statement may succeed. */
const TRANSIENT_SQLSTATES = new Set([
  '40001', // serialization_failure
  '40P01', // deadlock_detected
  '53300', // too_many_connections
  '57P01', // admin_shutdown
  '57P02', // crash_shutdown
  '57P03', // cannot_connect_now
  '55P03', // lock_not_available
]);
const TRANSIENT_NODE_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN', 'ENOTFOUND']);
const TRANSIENT_MESSAGES = [
  /connection terminated/i,
  /connection timeout/i,
  /timeout exceeded when trying to connect/i,
  /not queryable/i,
  /server closed the connection/i,
  /terminating connection/i,
];

export function isTransient(err: unknown): boolean {
  if (!err || typeof err !== 'object') return false;
  const code = (err as { code?: unknown }).code;
  if (typeof code === 'string') {
    if (TRANSIENT_SQLSTATES.has(code) || code.startsWith('08') || TRANSIENT_NODE_CODES.has(code)) return true;
  }
  const message = (err as { message?: unknown }).message;
  return typeof message === 'string' && TRANSIENT_MESSAGES.some((pattern) => pattern.test(message));
}

export interface RetryPolicy {
  /** Attempts in all, the first included. */
  attempts: number;
  initialDelayMs: number;
  maxDelayMs: number;
  /** No new attempt starts after this much time since the first. */
  totalMs: number;
}

/** Rides out a database restart (tens of seconds); the time bound is the one that usually ends it. */
export const DEFAULT_RETRY: RetryPolicy = { attempts: 30, initialDelayMs: 100, maxDelayMs: 5000, totalMs: 30000 };

export class RetriesExhausted extends Error {
  readonly attempts: number;
  constructor(attempts: number, cause: unknown) {
    super(errorText('retriesExhausted', { attempts, message: cause instanceof Error ? cause.message : String(cause) }), { cause });
    this.name = 'RetriesExhausted';
    this.attempts = attempts;
  }
}

/**
 * Runs `work` until it succeeds, retrying transient failures with exponential backoff and "equal
 * jitter" (AWS Architecture Blog, "Exponential Backoff And Jitter": half the ceiling plus a random
 * half, so waits grow for sure while processes still spread out), bounded in attempts and time.
 * Other failures are thrown at once.
 */
export async function withRetry<T>(
  work: () => Promise<T>,
  policy: RetryPolicy = DEFAULT_RETRY,
  onRetry?: (err: unknown, attempt: number, delayMs: number) => void,
  /** Asked before each new attempt: true ends the retries with the last failure (its owner closed). */
  cancelled?: () => boolean,
): Promise<T> {
  const started = Date.now();
  for (let attempt = 1; ; attempt++) {
    try {
      return await work();
    } catch (err) {
      if (!isTransient(err) || cancelled?.()) throw err;
      const ceiling = Math.min(policy.maxDelayMs, policy.initialDelayMs * 2 ** (attempt - 1));
      const delay = Math.round(ceiling / 2 + Math.random() * (ceiling / 2));
      if (attempt >= policy.attempts || Date.now() - started + delay > policy.totalMs) {
        throw new RetriesExhausted(attempt, err);
      }
      onRetry?.(err, attempt, delay);
      await new Promise((resolve) => setTimeout(resolve, delay));
      if (cancelled?.()) throw err;
    }
  }
}
