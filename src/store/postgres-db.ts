import { Client, Pool, type PoolClient, type PoolConfig } from 'pg';
import { preparedName, type Db, type Queryable } from './db';

export interface PostgresOptions {
  connectionString?: string;
  user?: string;
  password?: string;
  max?: number;
  /** Called for errors of idle clients (a dropped connection): they must not crash the process. */
  onIdleError?: (err: Error) => void;
}

function wrap(client: Pool | PoolClient): Queryable {
  return {
    async query(text, params, options) {
      // A named statement is parsed and planned once per connection (names are at most 63 bytes).
      const result = options?.name ? await client.query({ name: preparedName(options.name), text, values: params as unknown[] }) : await client.query(text, params as unknown[]);
      return { rows: result.rows, rowCount: result.rowCount ?? 0 };
    },
    async exec(text) {
      await client.query(text);
    },
  };
}

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
  const direct = wrap(pool);
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
        const result = await work(wrap(client));
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
