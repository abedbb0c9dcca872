import type { Queryable } from '../db';

export interface StoredMachine {
  machineId: string;
  version: number;
  definition: unknown;
  /** The version's state map (how charts of older versions move to it), when it has one. */
  migrate?: unknown;
}

/** One version of a machine, or its newest when `version` is not given. */
export async function loadMachine(db: Queryable, schema: string, machineId: string, version?: number): Promise<StoredMachine | undefined> {
  const { rows } = await db.query<{ version: number; definition: unknown; migrate: unknown }>(
    version === undefined
      ? `select version, definition, migrate from ${schema}.machines where machine_id = $1 order by version desc limit 1`
      : `select version, definition, migrate from ${schema}.machines where machine_id = $1 and version = $2`,
    version === undefined ? [machineId] : [machineId, version],
  );
  const row = rows[0];
  if (!row) return undefined;
  return row.migrate === null || row.migrate === undefined
    ? { machineId, version: Number(row.version), definition: row.definition }
    : { machineId, version: Number(row.version), definition: row.definition, migrate: row.migrate };
}

/** Every machine with its newest version. */
export async function listMachines(db: Queryable, schema: string): Promise<Array<{ machineId: string; version: number }>> {
  const { rows } = await db.query<{ machine_id: string; version: number }>(`select machine_id, max(version) as version from ${schema}.machines group by machine_id order by machine_id`);
  return rows.map((row) => ({ machineId: row.machine_id, version: Number(row.version) }));
}

/** Every version of a machine, oldest first. */
export async function loadMachineVersions(db: Queryable, schema: string, machineId: string): Promise<StoredMachine[]> {
  const { rows } = await db.query<{ version: number; definition: unknown; migrate: unknown }>(
    `select version, definition, migrate from ${schema}.machines where machine_id = $1 order by version`,
    [machineId],
  );
  return rows.map((row) => ({ machineId, version: Number(row.version), definition: row.definition, ...(row.migrate == null ? {} : { migrate: row.migrate }) }));
}

/** The number a definition with this digest has or would get: its existing version, or the next. */
export async function candidateVersion(db: Queryable, schema: string, machineId: string, digest: string): Promise<{ version: number; changed: boolean }> {
  const { rows } = await db.query<{ existing: number | null; newest: number | null }>(
    `select (select max(version) from ${schema}.machines where machine_id = $1 and digest = $2) as existing,
            (select max(version) from ${schema}.machines where machine_id = $1) as newest`,
    [machineId, digest],
  );
  const { existing, newest } = rows[0] ?? { existing: null, newest: null };
  if (existing !== null && existing !== undefined) return { version: Number(existing), changed: Number(existing) !== Number(newest) };
  return { version: Number(newest ?? 0) + 1, changed: true };
}
