import type { Db } from '../db';

/**
 * The version number of a machine definition (with its state map, when it has one): the existing
 * one with the same digest, else the next number. Serialized per machine id with an advisory lock so concurrent deploys agree.
 */
export async function registerMachine(db: Db, schema: string, machineId: string, definition: unknown, digest: string, migrate?: unknown): Promise<number> {
  return db.transaction(async (tx) => {
    await tx.query('select pg_advisory_xact_lock(hashtext($1))', [`node-red-xstate:machine:${schema}:${machineId}`]);
    const existing = await tx.query<{ version: number }>(
      `select version from ${schema}.machines where machine_id = $1 and digest = $2 order by version desc limit 1`,
      [machineId, digest],
    );
    if (existing.rows[0]) return Number(existing.rows[0].version);
    const inserted = await tx.query<{ version: number }>(
      `insert into ${schema}.machines (machine_id, version, definition, digest, migrate)
       select $1, coalesce(max(version), 0) + 1, $2::jsonb, $3, $4::jsonb from ${schema}.machines where machine_id = $1
       returning version`,
      [machineId, JSON.stringify(definition), digest, migrate === undefined ? null : JSON.stringify(migrate)],
    );
    const version = Number(inserted.rows[0].version);
    // Delivered on commit to every process listening: running charts pick the version up.
    await tx.query('select pg_notify($1, $2)', [MACHINES_CHANNEL, JSON.stringify({ schema, machineId, version })]);
    return version;
  });
}

export const MACHINES_CHANNEL = 'node_red_xstate_machines';
