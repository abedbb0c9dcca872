import { createHash } from 'node:crypto';

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

const preparedNames = new Map<string, string>();

/** A statement name PostgreSQL takes (63 bytes at most): the name itself, or a digest of it. */
export function preparedName(name: string): string {
  let prepared = preparedNames.get(name);
  if (!prepared) {
    prepared = Buffer.byteLength(name) <= 63 ? name : `x_${createHash('sha1').update(name).digest('hex')}`;
    preparedNames.set(name, prepared);
  }
  return prepared;
}

/** Quotes a schema name that has already been validated as an identifier. */
export function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/;

export function checkSchemaName(schema: string): string {
  if (!IDENTIFIER.test(schema)) {
    throw new Error(`The schema name "${schema}" is not a valid identifier: use 1 to 63 letters, digits and _, not starting with a digit.`);
  }
  return schema;
}
