import type { Queryable } from '../db';

/**
 * Relays alive: each renews its lease while it runs; the outbox rows of a relay whose lease ran
 * out are orphans another relay adopts (see outbox.ts).
 */
export async function renewRelay(db: Queryable, schema: string, owner: string, leaseMs: number): Promise<void> {
  await db.query(
    `insert into ${schema}.relays (owner, alive_until) values ($1, now() + $2::double precision * interval '1 millisecond')
     on conflict (owner) do update set alive_until = excluded.alive_until`,
    [owner, leaseMs],
  );
}

/** Ends a relay's lease now, so that what it leaves can be adopted at once. */
export async function retireRelay(db: Queryable, schema: string, owner: string): Promise<void> {
  await db.query(`delete from ${schema}.relays where owner = $1`, [owner]);
}
