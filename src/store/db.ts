import { createHash } from 'node:crypto';
import { errorText } from '../engine/texts';

/**
 * The little of a SQL client the store needs. PostgreSQL (`pg`) and embedded PGlite both implement
 * it, so every query in this package is written once and runs on both.
 */
export interface QueryOptions {
  /** Prepare the statement once per connection under this name (parsed once, and planned once when PostgreSQL finds a generic plan as good). */
  name?: string;
}

export interface Queryable {
  query<R = Record<string, unknown>>(text: string, params?: unknown[], options?: QueryOptions): Promise<{ rows: R[]; rowCount: number }>;
  /** Several statements without parameters (migrations). */
  exec(text: string): Promise<void>;
}

export interface Db extends Queryable {
  transaction<T>(work: (tx: Queryable) => Promise<T>): Promise<T>;
  /**
   * Calls `listener` with the payload of every NOTIFY on `channel`, and with undefined after a lost
   * listening connection came back (notifications may have been missed meanwhile).
   */
  listen(channel: string, listener: (payload: string | undefined) => void): Promise<() => Promise<void>>;
  close(): Promise<void>;
}

const preparedNames = new Map<string, { text: string; prepared: string }>();

/**
 * The name a statement is prepared under: `name` and a digest of its text, so that two processes
 * sharing a pooler's server connection (PgBouncer) never run each other's different text under one
 * name (another version of this package); a digest alone past PostgreSQL's 63 bytes.
 */
export function preparedName(name: string, text: string): string {
  const known = preparedNames.get(name);
  if (known?.text === text) return known.prepared;
  const digest = createHash('sha1').update(text).digest('hex');
  const full = `${name}:${digest.slice(0, 12)}`;
  const prepared = Buffer.byteLength(full) <= 63 ? full : `x_${createHash('sha1').update(full).digest('hex')}`;
  preparedNames.set(name, { text, prepared });
  return prepared;
}

/** Quotes a schema name that has already been validated as an identifier. */
export function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/;

export function checkSchemaName(schema: string): string {
  if (!IDENTIFIER.test(schema)) {
    throw new Error(errorText('badSchemaName', { schema }));
  }
  return schema;
}
