import type { Queryable } from '../db';

/** Whether the server's autovacuum is on (`SHOW autovacuum`); a DBA or a CI image may turn it off. */
export async function autovacuumIsOn(db: Queryable): Promise<boolean> {
  const { rows } = await db.query<{ setting: string }>(`select current_setting('autovacuum') as setting`);
  return rows[0]?.setting !== 'off';
}
