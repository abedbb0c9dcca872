'use strict';
// The one table the bench prints (Markdown, so it can go into bench/README.md as it is).

const n = (value, digits = 0) => (value === undefined || Number.isNaN(value) ? '–' : Number(value).toLocaleString('en', { maximumFractionDigits: digits, minimumFractionDigits: digits }));
const ms = (summary) => (summary ? `p50 ${n(summary.p50, 1)} ms · p99 ${n(summary.p99, 1)} ms` : '–');

function rowsOf(results) {
  const rows = [];
  const { a, b, c, d, e, f } = results;
  if (a) {
    const cpu = (key) =>
      (a.nodeRedCpuMsPerEvent?.[key] === undefined ? '' : `; Node-RED CPU ${n(a.nodeRedCpuMsPerEvent[key], 2)} ms/event`) +
      (a.transitionsPerCommit?.[key] === undefined ? '' : `; ${n(a.transitionsPerCommit[key], 1)} transitions/commit`);
    if (a.eventsPerSecond.function !== undefined) rows.push(['a', 'mqtt in → function → mqtt out (no persistence)', `${n(a.eventsPerSecond.function)} events/s${cpu('function')}`, '1', '']);
    if (a.eventsPerSecond.postgres !== undefined) rows.push(['a', 'mqtt in → xstate-chart (PostgreSQL) → mqtt out', `${n(a.eventsPerSecond.postgres)} events/s${cpu('postgres')}`, n(a.ratio.postgres, 2), '≥ 0.8']);
    if (a.eventsPerSecond.embedded !== undefined) rows.push(['a', 'mqtt in → xstate-chart (embedded) → mqtt out', `${n(a.eventsPerSecond.embedded)} events/s${cpu('embedded')}`, n(a.ratio.embedded, 2), '≥ 0.5']);
  }
  if (b) {
    rows.push(['b', `single-row UPDATE commits, ${b.setup.connections} connections`, `${n(b.updatesPerSecond)} /s`, '1', '']);
    const cpu = b.runtimeCpuMsPerTransition === undefined ? '' : `; runtime CPU ${n(b.runtimeCpuMsPerTransition, 2)} ms/transition`;
    rows.push(['b', `runtime durable transitions, ${n(b.setup.charts)} charts`, `${n(b.transitionsPerSecond)} /s${cpu}`, n(b.ratio, 2), '≥ 1.0']);
  }
  if (c) {
    for (const row of c.rows) {
      const goal = row.load === 'idle' && row.path !== 'function' && /nodelay true|aedes/.test(row.broker) && /package default/.test(row.nodeRed) ? 'p50 ≤ 3, p99 ≤ 15' : row.load !== 'idle' ? 'p99 < 25' : '';
      rows.push(['c', `latency ${row.path}, ${row.load}; broker: ${row.broker}; Node-RED: ${row.nodeRed}`, ms(row), '', goal]);
    }
  }
  if (d) {
    rows.push(['d', `Node-RED RSS after touching ${n(d.setup.touched)} of ${n(d.setup.charts)} charts`, `${n(d.rssMb.afterTouch?.rss)} MB (peak ${n(d.rssMb.afterTouch?.peak)}; ${n(d.rssMb.afterStart?.rss)} at start)`, '', '< 300 MB']);
    if (d.rssMb.settling?.length) {
      // Read each second; shown every third of the time left idle, and when it first fell below 300 MB.
      const { settling } = d.rssMb;
      const step = settling.length / 3;
      const below = settling.findIndex((mb) => mb < 300);
      const fell = below < 0 ? `still ≥ 300 MB after ${settling.length} s` : `< 300 MB after ${below + 1} s`;
      rows.push(['d', `RSS left idle after touching, each ${step} s (V8 collects on its own)`, `${settling.filter((_, i) => (i + 1) % step === 0).map((mb) => n(mb)).join(' · ')} MB; ${fell}`, '', '']);
    }
    if (d.heapMb) rows.push(['d', 'heap: live at start; largest while touching; live after', `${n(d.heapMb.afterStartGc.heapUsedMb)} MB; ${n(d.heapMb.peakDuringTouch.heapTotalMb)} MB (${n(d.heapMb.peakDuringTouch.heapUsedMb)} used); ${n(d.heapMb.afterTouchGc.heapUsedMb)} MB (RSS then ${n(d.rssMb.afterGc?.rss)} MB)`, '', '']);
    rows.push(['d', 'cold load of a chart not cached (store read)', ms(d.coldLoadMs), '', 'p99 < 5 ms']);
    rows.push(['d', 'event to a chart not cached, end to end', ms(d.coldEventMs), '', '']);
    rows.push(['d', `touching ${n(d.setup.touched)} charts (one event each)`, `${n(d.touchEventsPerSecond)} events/s`, '', '']);
  }
  if (e) {
    rows.push(['e', `timer lateness, ${n(e.pending.pendingAtStart)} pending, ${n(e.pending.dueRatePerSecond)}/s due`, `p50 ${n(e.pending.latenessMs.p50)} ms · p99 ${n(e.pending.latenessMs.p99)} ms (${n(e.pending.notFiredAfterWindow)} of ${n(e.pending.due)} not fired)`, '', 'p99 < 1 s']);
    rows.push(['e', `${n(e.startup.overdue)} overdue timers at start-up`, `${n(e.startup.ms)} ms (${n(e.startup.perSecond)}/s)`, '', '']);
  }
  if (f) {
    rows.push(['f', 'one Node-RED process', `${n(f.eventsPerSecond.one)} events/s`, '1', '']);
    rows.push(['f', 'two Node-RED processes, shared subscription, one store', `${n(f.eventsPerSecond.two)} events/s`, n(f.speedup, 2), '']);
  }
  return rows;
}

function table(results) {
  const rows = rowsOf(results);
  const lines = ['| | what | measured | ratio | goal |', '|---|---|---|---|---|', ...rows.map((row) => `| ${row.join(' | ')} |`)];
  return lines.join('\n');
}

module.exports = { table };
