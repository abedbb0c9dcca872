import { Client, Pool, type PoolClient, type PoolConfig } from 'pg';
import { preparedName, type Db, type QueryOptions, type Queryable } from './db';

export interface PostgresOptions {
  connectionString?: string;
  user?: string;
  password?: string;
  max?: number;
  /** Called for errors of idle clients (a dropped connection): they must not crash the process. */
  onIdleError?: (err: Error) => void;
  /** Called once when named statements are given up for this pool (see {@link STATEMENT_NOT_HELD}). */
  onUnprepared?: (err: Error) => void;
}

/**
 * A named statement the server does not hold as this connection's client (pg) believes: 26000, it
 * is gone (DEALLOCATE or DISCARD ALL behind the client's back, or a pooler such as PgBouncer in
 * transaction mode before 1.21 that put the client on another server connection), or 42P05, it is
 * there already (another client of a pooler's server connection prepared it). Either comes at Parse
 * or Bind, before anything was executed: the statement can run again, unnamed.
 */
const STATEMENT_NOT_HELD = new Set(['26000', '42P05']);

/**
 * After this many such refusals the pool gives names up: a pooler refuses them again and again, a
 * DEALLOCATE ALL once in a while (the connection that met it is replaced and prepares afresh).
 */
const REFUSALS_BEFORE_UNPREPARED = 3;

type Result = { rows: never[]; rowCount: number };

const resultOf = (result: { rows: unknown[]; rowCount: number | null }): Result => ({ rows: result.rows as never[], rowCount: result.rowCount ?? 0 });

export function openPostgres(options: PostgresOptions): Db {
  const config: PoolConfig = {
    connectionString: options.connectionString || undefined,
    max: options.max ?? 10,
    connectionTimeoutMillis: 5000,
    idleTimeoutMillis: 30000,
    application_name: 'node-red-xstate',
  };
  if (options.user) config.user = options.user;
  if (options.password) config.password = options.password;
  const pool = new Pool(config);
  pool.on('error', (err) => options.onIdleError?.(err));

  let refusals = 0;
  const preparing = () => refusals < REFUSALS_BEFORE_UNPREPARED;
  const named = (text: string, params: unknown[] | undefined, name: string) => ({ name: preparedName(name, text), text, values: params });

  /**
   * A named statement is parsed and planned once per connection. It runs on a client of its own
   * choosing (as pool.query would) so that a client whose statements are not what it believes can
   * be replaced: released as broken, the pool opens a fresh connection that prepares afresh.
   */
  async function queryNamed(text: string, params: unknown[] | undefined, name: string): Promise<Result> {
    const client = await pool.connect();
    let failure: Error | undefined;
    const onError = (err: Error) => {
      failure = err;
    };
    client.on('error', onError);
    try {
      return resultOf(await client.query(named(text, params, name)));
    } catch (err) {
      failure = err as Error;
      if (!STATEMENT_NOT_HELD.has((err as { code?: string }).code ?? '')) throw err;
    } finally {
      client.off('error', onError);
      client.release(failure ?? false);
    }
    if (++refusals === REFUSALS_BEFORE_UNPREPARED) options.onUnprepared?.(failure);
    return resultOf(await pool.query(text, params));
  }

  const direct: Queryable = {
    async query(text, params, queryOptions?: QueryOptions) {
      if (queryOptions?.name && preparing()) return queryNamed(text, params, queryOptions.name);
      return resultOf(await pool.query(text, params));
    },
    async exec(text) {
      await pool.query(text);
    },
  };
  /**
   * In a transaction a refused name would fail the whole transaction, with nothing to run again:
   * names are not used there (the group commit, the one named statement, runs outside one).
   */
  const inTransaction = (client: PoolClient): Queryable => ({
    async query(text, params) {
      return resultOf(await client.query(text, params));
    },
    async exec(text) {
      await client.query(text);
    },
  });

  return {
    ...direct,
    async transaction(work) {
      const client = await pool.connect();
      // A checked-out client reports a connection lost between queries as an 'error' event; with
      // no listener that would crash the process. The failing query rejects and is retried.
      const onError = () => {
        broken = true;
      };
      client.on('error', onError);
      let broken = false;
      try {
        await client.query('BEGIN');
        const result = await work(inTransaction(client));
        await client.query('COMMIT');
        return result;
      } catch (err) {
        try {
          await client.query('ROLLBACK');
        } catch {
          broken = true;
        }
        throw err;
      } finally {
        client.off('error', onError);
        client.release(broken);
      }
    },
    async listen(channel, listener) {
      // LISTEN needs a connection of its own, kept open and re-opened when it drops.
      let client: Client | undefined;
      let stopped = false;
      let retryMs = 500;
      const retry = () => {
        setTimeout(() => void connect(true), retryMs).unref();
        retryMs = Math.min(retryMs * 2, 10000);
      };
      const connect = async (reconnected: boolean): Promise<void> => {
        if (stopped) return;
        const next = new Client(config);
        next.on('error', () => {});
        next.on('end', () => {
          if (!stopped && client === next) retry();
        });
        next.on('notification', (message) => {
          if (message.channel === channel) listener(message.payload);
        });
        try {
          await next.connect();
          await next.query(`LISTEN ${JSON.stringify(channel)}`);
        } catch (err) {
          await next.end().catch(() => {});
          if (!reconnected) throw err;
          retry();
          return;
        }
        client = next;
        retryMs = 500;
        if (reconnected) listener(undefined);
      };
      await connect(false);
      return async () => {
        stopped = true;
        await client?.end().catch(() => {});
      };
    },
    async close() {
      await pool.end();
    },
  };
}
