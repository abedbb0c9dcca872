/**
 * Rows added to tables since the planner last counted them, and which of them to count again.
 *
 * A prepared statement runs one plan per connection, made from the planner's count of each table
 * when it was made (`pg_class.reltuples`, kept by ANALYZE and VACUUM) and kept until one of them
 * counts a table again. Made while a table held a few dozen rows (a fresh schema, autovacuum's
 * first ANALYZE after 50 rows, a vacuum of an outbox just emptied), it scans that table for each
 * transition; made before any count, it may look charts up by machine alone. Either is right for
 * the table then and wrong once it has thousands of rows. Counting a table again whenever it has
 * grown to four times what the planner counted (by at least the table's floor) keeps every plan in
 * use made for at least a quarter of the table: a scan of a few hundred rows at worst, and from
 * about 300 rows on, plans that look rows up by key (measured on PostgreSQL 15 with the group
 * commit's tables).
 */
export class TableGrowth {
  private readonly tables = new Map<string, { floor: number; counted: number; added: number }>();

  /** `floors`: each table followed, with the rows it must have grown by before it is counted again. */
  constructor(floors: Record<string, number>) {
    for (const [table, floor] of Object.entries(floors)) this.tables.set(table, { floor, counted: 0, added: 0 });
  }

  /** Whether `table` is one of those followed. */
  follows(table: string): boolean {
    return this.tables.has(table);
  }

  /**
   * `table` has `rows` more (fewer, when negative) as far as this store knows: what its commits
   * inserted and deleted, not what other processes or clean-ups did.
   */
  add(table: string, rows: number): void {
    const known = this.tables.get(table);
    if (!known) return;
    known.added += rows;
    // Smaller than the planner's count: a plan made meanwhile (a vacuum counting it, autovacuum) may
    // be for the smaller table, so its growth is measured from here.
    if (known.added < 0) {
      known.counted = Math.max(0, known.counted + known.added);
      known.added = 0;
    }
  }

  /** The tables grown to four times the planner's count, by at least their floor. */
  due(): string[] {
    const due: string[] = [];
    for (const [table, { floor, counted, added }] of this.tables) if (added >= Math.max(floor, 3 * counted)) due.push(table);
    return due;
  }

  /** Rows added to `table` since it was last counted. */
  addedTo(table: string): number {
    return this.tables.get(table)?.added ?? 0;
  }

  /**
   * The planner counted `rows` in `table` (an ANALYZE that began when `addedBefore` rows were
   * added: those written meanwhile are still to be counted).
   */
  counted(table: string, rows: number, addedBefore = this.addedTo(table)): void {
    const known = this.tables.get(table);
    if (!known) return;
    known.counted = Math.max(0, rows);
    known.added = Math.max(0, known.added - addedBefore);
  }
}
