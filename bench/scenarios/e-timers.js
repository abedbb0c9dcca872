'use strict';
// e. Timers: how late due timers fire while 100,000 are pending, and how long 10,000 overdue
// timers take to fire at start-up. Firing times are read from the store (updated_at of the
// transition the timer applied).
const { seedChart, copyCharts } = require('../lib/bulk');
const { chartFlow, namespaced, timer } = require('../lib/flows');
const { percentile, round } = require('../lib/stats');

const delay = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const LEAD_MS = 10000;

async function timerProcess(ctx, storeConfig, label) {
  const broker = await ctx.broker(true);
  const prefix = `bench/${ctx.runId}/${label}`;
  return ctx.nodeRed(namespaced(chartFlow({ brokerUrl: broker.url, prefix, store: storeConfig, definition: timer }), label), { label });
}

/** 100,000 pending, due at `rate` a second from LEAD_MS on; lateness of those due in the window. */
async function lateness(ctx) {
  const { timers, timerRate, timerSeconds } = ctx.options;
  const storeConfig = ctx.postgresStore('timers');
  const s = `"${storeConfig.schema}"`;
  const machineId = await seedChart(storeConfig, timer, [{ type: 'start' }]);
  const sql = await ctx.sql();
  ctx.log(`e: ${timers.toLocaleString('en')} charts waiting for a timer`);
  await copyCharts(sql, storeConfig.schema, { machineId, prefix: 'e-', to: timers, log: (m) => ctx.log(`e: ${m}`) });
  const nr = await timerProcess(ctx, storeConfig, 'timers');
  // The timers are written while Node-RED runs, as if other processes had scheduled them.
  const base = new Date(Date.now() + LEAD_MS);
  await sql.query(
    `insert into ${s}.timers (machine_id, chart_id, timer_id, event, due_at, scheduled_seq)
     select t.machine_id, 'e-' || g, t.timer_id, t.event, $2::timestamptz + ((g - 1) / $3::float8) * interval '1 second', t.scheduled_seq
       from ${s}.timers t, generate_series(1, $1::int) g
      where t.machine_id = $4 and t.chart_id = 'seed'`,
    [timers, base.toISOString(), timerRate, machineId],
  );
  if (Date.now() > base.getTime()) ctx.log(`e: writing the timers took longer than ${LEAD_MS} ms: the first ones were overdue`);
  const { rows: pending } = await sql.query(`select count(*) as n from ${s}.timers`);
  const windowEnd = base.getTime() + timerSeconds * 1000;
  await delay(windowEnd - Date.now() + 2000);
  const { rows } = await sql.query(
    `select extract(epoch from (c.updated_at - ($1::timestamptz + ((substr(c.chart_id, 3)::int - 1) / $2::float8) * interval '1 second'))) * 1000 as late_ms, c.seq
       from ${s}.charts c
      where c.chart_id like 'e-%' and substr(c.chart_id, 3)::int <= $3`,
    [base.toISOString(), timerRate, Math.floor(timerSeconds * timerRate)],
  );
  await ctx.stopNodeRed(nr);
  await sql.end();
  const fired = rows.filter((row) => Number(row.seq) === 2).map((row) => Number(row.late_ms));
  return {
    pendingAtStart: Number(pending[0].n),
    dueRatePerSecond: timerRate,
    windowSeconds: timerSeconds,
    due: rows.length,
    fired: fired.length,
    notFiredAfterWindow: rows.length - fired.length,
    latenessMs: { p50: round(percentile(fired, 50)), p99: round(percentile(fired, 99)), max: round(Math.max(...fired)) },
  };
}

/** 10,000 overdue timers when Node-RED starts: time from "Started flows" to the last one fired. */
async function overdue(ctx) {
  const { overdue: count } = ctx.options;
  const storeConfig = ctx.postgresStore('overdue');
  const s = `"${storeConfig.schema}"`;
  const machineId = await seedChart(storeConfig, timer, [{ type: 'start' }]);
  const sql = await ctx.sql();
  await copyCharts(sql, storeConfig.schema, { machineId, prefix: 'o-', to: count, timers: { dueAt: `now() - interval '1 minute' + g * interval '1 millisecond'` } });
  const nr = await timerProcess(ctx, storeConfig, 'overdue');
  for (;;) {
    const { rows } = await sql.query(`select count(*) as n, extract(epoch from max(updated_at)) * 1000 as last_ms from ${s}.charts where chart_id like 'o-%' and seq = 2`);
    if (Number(rows[0].n) === count) {
      await ctx.stopNodeRed(nr);
      await sql.end();
      const ms = Number(rows[0].last_ms) - nr.startedAt;
      return { overdue: count, ms: round(ms), perSecond: round(count / (ms / 1000)) };
    }
    if (Date.now() - nr.startedAt > 600000) throw new Error(`e: only ${rows[0].n} of ${count} overdue timers fired in 10 minutes`);
    await delay(100);
  }
}

module.exports = async function timers(ctx) {
  return { pending: await lateness(ctx), startup: await overdue(ctx) };
};
