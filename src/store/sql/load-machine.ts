import type { Queryable } from '../db';

export interface StoredMachine {
  machineId: string;
  version: number;
  definition: unknown;
}

/** One version of a machine, or its newest when `version` is not given. */
export async function loadMachine(db: Queryable, schema: string, machineId: string, version?: number): Promise<StoredMachine | undefined> {
  const { rows } = await db.query<{ version: number; definition: unknown }>(
    version === undefined
      ? `select version, definition from ${schema}.machines where machine_id = $1 order by version desc limit 1`
      : `select version, definition from ${schema}.machines where machine_id = $1 and version = $2`,
    version === undefined ? [machineId] : [machineId, version],
  );
  const row = rows[0];
  return row && { machineId, version: Number(row.version), definition: row.definition };
}

/** Every machine with its newest version. */
export async function listMachines(db: Queryable, schema: string): Promise<Array<{ machineId: string; version: number }>> {
  const { rows } = await db.query<{ machine_id: string; version: number }>(`select machine_id, max(version) as version from ${schema}.machines group by machine_id order by machine_id`);
  return rows.map((row) => ({ machineId: row.machine_id, version: Number(row.version) }));
}
