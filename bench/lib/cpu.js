'use strict';
// Where the CPU goes during a round: the Node-RED process, PostgreSQL (all its processes: the
// server is shared, so other clients' work counts too), the broker, and the bench itself. Linux
// /proc only; elsewhere the figures are left out. 100% = one core.
const fs = require('node:fs');
const os = require('node:os');
const { median } = require('./stats');

const TICK = 100; // USER_HZ on Linux

function cpuSecondsOf(pid) {
  try {
    // Fields after the command name (which may hold spaces): utime is the 14th field, stime the 15th.
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / TICK;
  } catch {
    return undefined;
  }
}

/** CPU seconds per PostgreSQL process (server and backends), by pid. */
function postgresCpuSeconds() {
  const byPid = new Map();
  try {
    for (const entry of fs.readdirSync('/proc')) {
      if (!/^\d+$/.test(entry)) continue;
      try {
        if (fs.readFileSync(`/proc/${entry}/comm`, 'utf8').trim() !== 'postgres') continue;
      } catch {
        continue;
      }
      const seconds = cpuSecondsOf(entry);
      if (seconds !== undefined) byPid.set(entry, seconds);
    }
  } catch {
    return undefined;
  }
  return byPid;
}

/** CPU PostgreSQL used between two readings; a backend that exited meanwhile is not counted. */
function postgresDelta(start, end) {
  if (!start || !end) return undefined;
  let total = 0;
  for (const [pid, seconds] of end) total += seconds - (start.get(pid) ?? 0);
  return total;
}

/** Starts measuring; `stop()` returns the CPU use of each part in % of one core over the interval. */
function cpuMeter({ nodeRedPid, brokerPid } = {}) {
  const read = () => ({
    at: process.hrtime.bigint(),
    nodeRed: nodeRedPid ? cpuSecondsOf(nodeRedPid) : undefined,
    postgres: postgresCpuSeconds(),
    broker: brokerPid ? cpuSecondsOf(brokerPid) : undefined,
    bench: process.cpuUsage(),
    idle: os.cpus().reduce((sum, cpu) => sum + cpu.times.idle, 0) / 1000,
  });
  const start = read();
  return {
    stop() {
      const end = read();
      const wall = Number(end.at - start.at) / 1e9;
      const pct = (a, b) => (a === undefined || b === undefined ? undefined : Math.round(((b - a) / wall) * 100));
      const postgres = postgresDelta(start.postgres, end.postgres);
      return {
        nodeRed: pct(start.nodeRed, end.nodeRed),
        postgres: postgres === undefined ? undefined : pct(0, postgres),
        broker: pct(start.broker, end.broker),
        bench: Math.round(((end.bench.user - start.bench.user + end.bench.system - start.bench.system) / 1e6 / wall) * 100),
        machineIdle: pct(start.idle, end.idle),
      };
    },
  };
}

/** Per part, the median over rounds of `cpuMeter().stop()` results. */
function medianCpu(list) {
  const keys = Object.keys(list[0] ?? {}).filter((key) => list.some((cpu) => cpu[key] !== undefined));
  return Object.fromEntries(keys.map((key) => [key, Math.round(median(list.map((cpu) => cpu[key]).filter((v) => v !== undefined)))]));
}

module.exports = { cpuMeter, medianCpu };
