'use strict';
// Many charts (and timers) at once with SQL generate_series, shaped exactly like the rows the
// package writes: a real chart is made through the runtime, then copied with only its chart id
// (and what names it: state.chartId, metadata.id, commit_id) varied.
const { openRuntime } = require('./runtime');

/** Makes the seed chart through the runtime; `events` are applied to it in order. */
async function seedChart(storeConfig, definition, events) {
  const rt = await openRuntime(storeConfig, definition);
  try {
    for (const [i, event] of events.entries()) await rt.dispatch('seed', { ...event, id: `seed-${i}` });
    return rt.machine.id;
  } finally {
    await rt.close();
  }
}

/**
 * Copies the seed chart to `${prefix}${from}` .. `${prefix}${to}`, in statements of `chunk` rows;
 * with `timers`, its timer rows too, due at `dueAt(g)` (an SQL expression of g). Returns seconds.
 */
async function copyCharts(sql, schema, { machineId, prefix, from = 1, to, chunk = 100000, timers, log = () => {} }) {
  const s = `"${schema}"`;
  const started = Date.now();
  for (let lo = from; lo <= to; lo += chunk) {
    const hi = Math.min(to, lo + chunk - 1);
    await sql.query(
      `insert into ${s}.charts (machine_id, chart_id, machine_version, seq, status, state, snapshot, commit_id, created_at, updated_at)
       select c.machine_id, $3 || g, c.machine_version, c.seq, c.status,
              jsonb_set(jsonb_set(c.state, '{chartId}', to_jsonb($3 || g)), '{metadata,id}', to_jsonb($3 || g || ':' || c.seq)),
              c.snapshot, gen_random_uuid()::text, now(), now()
         from ${s}.charts c, generate_series($1::int, $2::int) g
        where c.machine_id = $4 and c.chart_id = 'seed'`,
      [lo, hi, prefix, machineId],
    );
    if (timers) {
      await sql.query(
        `insert into ${s}.timers (machine_id, chart_id, timer_id, event, due_at, scheduled_seq)
         select t.machine_id, $3 || g, t.timer_id, t.event, ${timers.dueAt}, t.scheduled_seq
           from ${s}.timers t, generate_series($1::int, $2::int) g
          where t.machine_id = $4 and t.chart_id = 'seed'`,
        [lo, hi, prefix, machineId, ...(timers.params ?? [])],
      );
    }
    log(`${hi.toLocaleString('en')} of ${to.toLocaleString('en')} rows`);
  }
  await sql.query(`analyze ${s}.charts`);
  if (timers) await sql.query(`analyze ${s}.timers`);
  return (Date.now() - started) / 1000;
}

module.exports = { seedChart, copyCharts };
