import { Pool, type PoolClient, type PoolConfig } from 'pg';
import type { Db, Queryable } from './db';

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
    async query(text, params) {
      const result = await client.query(text, params as unknown[]);
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
        client.release(broken);
      }
    },
    async close() {
      await pool.end();
    },
  };
}
