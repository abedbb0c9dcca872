#!/usr/bin/env node
'use strict';
// `npm run bench`: measures this package against a plain flow and against PostgreSQL itself, prints
// one table and writes the JSON result. See bench/README.md for what each scenario does.
//
//   npm run bench                      every scenario (a-f) with the default sizes
//   npm run bench -- --only a,b,c      some scenarios
//   npm run bench -- --smoke           one short round of a and b (CI: the bench must not rot)
//   options: --rounds 5 --seconds 5 --window 400 --charts 1000 --samples 300
//            --paths function,postgres,embedded (a: e.g. one path alone under --profile)
//            --scale-charts 1000000 --touch 100000 --cache-bytes 0 (d; 0: the package's default cache)
//            --timers 100000 --timer-rate 200 --timer-seconds 20 --overdue 10000 (e)
//            --out bench/results/<date>.json
//            --profile   CPU profiles of the Node-RED processes (bench/results/profiles/<run>/),
//                        summarized in the JSON result
// Needs DATABASE_URL for PostgreSQL (scenarios b, d, e, f and the PostgreSQL rows of a and c);
// starts its own Mosquitto (the mosquitto binary on PATH) on free ports.
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { spawnSync } = require('node:child_process');
const { BenchContext } = require('./lib/context');
const { mosquittoBinary } = require('./lib/mosquitto');
const { table } = require('./lib/table');
const { summarizeAll } = require('./lib/profile');

const scenarios = {
  a: { name: 'pipeline ratio', run: require('./scenarios/a-pipeline'), postgres: false },
  b: { name: 'store ratio', run: require('./scenarios/b-store'), postgres: true },
  c: { name: 'latency', run: require('./scenarios/c-latency'), postgres: false },
  d: { name: 'scale', run: require('./scenarios/d-scale'), postgres: true },
  e: { name: 'timers', run: require('./scenarios/e-timers'), postgres: true },
  f: { name: 'scale-out', run: require('./scenarios/f-scaleout'), postgres: true },
};

const defaults = {
  only: 'a,b,c,d,e,f',
  rounds: 5,
  seconds: 5,
  window: 400,
  charts: 1000,
  paths: 'function,postgres,embedded',
  samples: 300,
  scaleCharts: 1000000,
  touch: 100000,
  // d: settings.js xstate.cache.maxBytes for its Node-RED (0: the package's default).
  cacheBytes: 0,
  timers: 100000,
  timerRate: 200,
  timerSeconds: 20,
  overdue: 10000,
  out: undefined,
  smoke: false,
  profile: false,
  // Options for the Node-RED processes' node, comma-separated (e.g. "--max-old-space-size=256").
  nodeArgs: '',
};
// Smoke: fewer charts so that set-up (Node-RED, PGlite, creating the charts) stays well under 30 s.
const smoke = { only: 'a,b', rounds: 1, seconds: 2, charts: 200, window: 100 };

function parseArgs(argv) {
  const given = {};
  for (let i = 0; i < argv.length; i++) {
    // --node-args=--max-semi-space-size=64: the value is everything after the first '='.
    const eq = argv[i].indexOf('=');
    const flag = eq < 0 ? argv[i] : argv[i].slice(0, eq);
    const inline = eq < 0 ? undefined : argv[i].slice(eq + 1);
    const key = flag.replace(/^--/, '').replace(/-([a-z])/g, (_, c) => c.toUpperCase());
    if (!(key in defaults)) throw new Error(`unknown option ${flag}`);
    if (key === 'smoke' || key === 'profile') given[key] = true;
    else {
      const value = inline ?? argv[++i];
      given[key] = typeof defaults[key] === 'number' ? Number(value) : value;
    }
  }
  return { ...defaults, ...(given.smoke ? smoke : {}), ...given };
}

/** The commit measured (with "+changes" when the working tree differs from it). */
function gitCommit() {
  const git = (...args) => spawnSync('git', args, { cwd: __dirname, encoding: 'utf8' });
  const head = git('rev-parse', '--short', 'HEAD').stdout.trim();
  if (!head) return 'unknown';
  return git('status', '--porcelain', '--untracked-files=no').stdout.trim() ? `${head}+changes` : head;
}

async function machine(ctx) {
  const info = {
    cpus: `${os.cpus().length} × ${os.cpus()[0]?.model ?? 'unknown'}`,
    memoryGb: Math.round(os.totalmem() / 2 ** 30),
    os: `${os.type()} ${os.release()}`,
    node: process.version,
    nodeRed: require('node-red/package.json').version,
    commit: gitCommit(),
    mosquitto: mosquittoBinary()?.version ?? 'none (aedes)',
    loadAverageAtStart: os.loadavg().map((n) => Number(n.toFixed(2))),
  };
  if (ctx.databaseUrl) {
    const sql = await ctx.sql();
    const { rows } = await sql.query(`select current_setting('server_version') as version, current_setting('synchronous_commit') as sync, current_setting('shared_buffers') as buffers`);
    info.postgres = `${rows[0].version} (synchronous_commit ${rows[0].sync}, shared_buffers ${rows[0].buffers})`;
    await sql.end();
  }
  return info;
}

async function main() {
  const options = parseArgs(process.argv.slice(2));
  const selected = options.only.split(',').map((s) => s.trim()).filter(Boolean);
  for (const key of selected) if (!scenarios[key]) throw new Error(`unknown scenario ${key} (a-f)`);
  const ctx = new BenchContext(options);
  ctx.selected = selected;
  ctx.results = {};
  const errors = {};
  const started = Date.now();
  let info = {};
  try {
    info = await machine(ctx);
    for (const key of selected) {
      const scenario = scenarios[key];
      if (scenario.postgres && !ctx.databaseUrl) {
        errors[key] = 'skipped: DATABASE_URL is not set';
        continue;
      }
      ctx.log(`${key}. ${scenario.name}`);
      try {
        ctx.results[key] = await scenario.run(ctx);
      } catch (err) {
        errors[key] = err.stack ?? String(err);
        ctx.log(`${key} failed: ${err.stack ?? err}`);
      }
    }
  } finally {
    await ctx.close();
  }
  info.loadAverageAtEnd = os.loadavg().map((n) => Number(n.toFixed(2)));
  const profiles = options.profile ? summarizeAll(ctx.profileDir) : undefined;
  const result = { date: new Date().toISOString(), runId: ctx.runId, seconds: Math.round((Date.now() - started) / 1000), machine: info, options, results: ctx.results, errors, profiles };
  const rows = table(ctx.results);
  console.log(rows);
  for (const [key, error] of Object.entries(errors)) console.log(`${key}: ${error.split('\n')[0]}`);
  for (const profile of profiles ?? []) {
    console.log(`\nprofile ${path.relative(process.cwd(), profile.file)}: ${profile.seconds} s, idle ${profile.idlePercent}%, GC ${profile.gcPercent}%; most self time:`);
    for (const { fn, selfPercent } of profile.top) console.log(`  ${String(selfPercent).padStart(5)}%  ${fn}`);
  }
  const out = options.out ?? (options.smoke ? path.join(os.tmpdir(), `xstate-bench-smoke-${ctx.runId}.json`) : path.join(__dirname, 'results', `${result.date.slice(0, 10)}.json`));
  fs.mkdirSync(path.dirname(out), { recursive: true });
  fs.writeFileSync(out, `${JSON.stringify({ ...result, table: rows }, null, 2)}\n`);
  console.log(`\n${selected.join(',')} in ${result.seconds} s; load average ${info.loadAverageAtStart.join(' ')} → ${info.loadAverageAtEnd.join(' ')}; written to ${path.relative(process.cwd(), out)}`);
  if (Object.values(errors).some((e) => !e.startsWith('skipped'))) process.exitCode = 1;
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
