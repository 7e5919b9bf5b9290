// Several nodes on PostgreSQL (issue 15): the durable ingest of POST /messages (bot none, the
// closed loop of bench/run's phase 1) through 1, 2 and 3 `parley serve` nodes on one throwaway
// PostgreSQL server on this machine, and through one node on SQLite for comparison. Each run
// has a fresh database; the nodes share a master key and one connection; one build/loadgen per
// node (the connections split between them) sends the same 10,000 customers to every node, so
// a customer's messages reach several nodes, as behind a load balancer.
//
// Per run: messages accepted a second (all nodes), latency p50/p99, the CPU of each node and of
// PostgreSQL (the postmaster and its backends, from /proc), and CPU per message. On a shared
// machine the rates move with the others' load; the ratios between runs and the CPU per
// message are what to compare.
//
// Usage: node bench/nodes.mjs [--nodes 1,2,3] [--sqlite 1] [--seconds 10] [--warmup 2]
//        [--connections 64] [--json-file F]
// Needs build/parley, build/loadgen, PostgreSQL's server binaries (scripts/install-deps) and
// tests/' npm packages. PARLEY_TEST_PG (a server's URL) is used instead of a throwaway server.
import { execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { REPO, Server } from '../tests/integration/harness.mjs';
import { startPostgres } from '../tests/integration/pg_support.mjs';
import { boundRun, machineCpu, now, ok, procCpu, runLoadgen, startServer, stopServer, writeJson, writerWindow } from './support.mjs';

const LOADGEN = path.resolve(process.env.LOADGEN_BIN || path.join(REPO, 'build/loadgen'));
const argv = process.argv.slice(2);
const opt = { nodes: '1,2,3', sqlite: 1, seconds: 10, warmup: 2, connections: 64, 'json-file': '' };
while (argv.length) {
  const k = argv.shift().replace(/^--/, '');
  if (!(k in opt) || !argv.length) {
    process.stderr.write(`bench/nodes.mjs: unknown or incomplete option --${k}\n`);
    process.exit(2);
  }
  const v = argv.shift();
  opt[k] = typeof opt[k] === 'number' ? Number(v) : v;
}
const counts = String(opt.nodes).split(',').map(Number).filter((n) => n >= 1 && n <= 8);
boundRun('bench/nodes.mjs', 20);

function loadgen(port, conn, connections) {
  const args = ['--mode', 'closed', '--port', String(port), '--connection-id', conn.connection_id, '--secret', conn.jwt_secret,
    '--connections', String(connections), '--threads', '1', '--duration', String(opt.seconds), '--warmup', String(opt.warmup),
    '--customers', '10000', '--json'];
  return runLoadgen(LOADGEN, args);
}

// The PostgreSQL server's processes: the postmaster (first line of postmaster.pid) and its
// children (backends, WAL writer, checkpointer, ...), CPU seconds summed.
function pgCpu(dataDir) {
  if (!dataDir) return NaN;
  const master = Number(fs.readFileSync(path.join(dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]);
  let sum = procCpu(master);
  for (const p of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(p)) continue;
    try {
      const st = fs.readFileSync(`/proc/${p}/stat`, 'utf8');
      if (Number(st.slice(st.lastIndexOf(')') + 2).split(' ')[1]) === master) sum += procCpu(Number(p));
    } catch {
      // gone
    }
  }
  return sum;
}

// One run: `n` nodes on `database` (or SQLite when null); returns the figures.
async function run(label, n, database, dataDir) {
  const key = crypto.randomBytes(32).toString('hex');
  const nodes = [];
  let failed = false;
  try {
    for (let i = 0; i < n; i++) {
      let node;
      if (database) {
        node = new Server({ args: ['--node-id', `bench-${i + 1}`], env: { PARLEY_MASTER_KEY: key } });
        node.database = database;
        if (i > 0) node.adminToken = nodes[0].adminToken;
        await node.start();
      } else node = await startServer();
      nodes.push(node);
    }
    const conn = await ok(nodes[0].port, 'POST', '/api/v1/connections', {
      token: nodes[0].adminToken,
      body: { name: `bench-${crypto.randomUUID()}`, client_webhook: 'http://127.0.0.1:9/unused', bot: 'none' },
    }, 201);
    // Every node knows the connection (announced within a second).
    await new Promise((r) => setTimeout(r, n > 1 ? 1500 : 0));
    const per = Math.max(1, Math.round(opt.connections / n));
    const runs = nodes.map((node) => loadgen(node.port, conn, per));
    // The measured window: after the warm-up, for `seconds`.
    await new Promise((r) => setTimeout(r, opt.warmup * 1000));
    const t0 = now();
    const c0 = nodes.map((s) => procCpu(s.child.pid));
    const p0 = pgCpu(dataDir);
    const m0 = machineCpu();
    const writers = await Promise.all(nodes.map((s) => writerWindow(s.port)));
    await new Promise((r) => setTimeout(r, opt.seconds * 1000));
    const w = await Promise.all(writers.map((f) => f()));
    const wall = (now() - t0) / 1000;
    const c1 = nodes.map((s) => procCpu(s.child.pid));
    const p1 = pgCpu(dataDir);
    const m1 = machineCpu();
    const results = await Promise.all(runs);
    const rate = results.reduce((a, r) => a + r.accepted_per_s, 0);
    const errors = results.reduce((a, r) => a + r.transport_errors + Object.values(r.non_200 ?? {}).reduce((x, y) => x + y, 0), 0);
    const nodeCores = c1.map((v, i) => (v - c0[i]) / wall);
    const pgCores = (p1 - p0) / wall;
    const msgs = rate * wall;
    const nodeUs = (nodeCores.reduce((a, b) => a + b, 0) * wall * 1e6) / Math.max(1, msgs);
    const pgUs = (pgCores * wall * 1e6) / Math.max(1, msgs);
    const p50 = Math.max(...results.map((r) => r.latency.p50_ms));
    const p99 = Math.max(...results.map((r) => r.latency.p99_ms));
    const busy = (m1.busy - m0.busy) / wall;
    const stolen = (m1.stolen - m0.stolen) / wall;
    console.log(`  ${label.padEnd(22)} ${rate.toFixed(0).padStart(6)} msgs/s; p50 ${p50.toFixed(2)} ms, p99 ${p99.toFixed(2)} ms (slowest node); ${errors} not 2xx`);
    console.log(`  ${''.padEnd(22)} nodes ${nodeCores.map((c) => c.toFixed(2)).join(' + ')} cores, PostgreSQL ${Number.isFinite(pgCores) ? pgCores.toFixed(2) : '-'} cores; machine ${busy.toFixed(2)} busy, ${stolen.toFixed(2)} stolen`);
    console.log(`  ${''.padEnd(22)} per message: ${nodeUs.toFixed(0)} us in the nodes${Number.isFinite(pgUs) ? `, ${pgUs.toFixed(0)} us in PostgreSQL` : ''}`);
    for (const [i, x] of w.entries()) {
      console.log(`  ${''.padEnd(22)} writer of node ${i + 1}: ${x.commits} group commits of ${x.jobs_per_commit.toFixed(1)} jobs, busy ${(100 * x.busy).toFixed(0)} % of the time, ${(100 * x.in_commit).toFixed(0)} % in COMMIT (${x.commit_ms.toFixed(2)} ms each)`);
    }
    const out = { bench: 'nodes', label, nodes: n, store: database ? 'postgres' : 'sqlite', msgs_per_s: rate, p50_ms: p50, p99_ms: p99, errors,
      node_cores: nodeCores, pg_cores: pgCores, writers: w, node_us_per_msg: nodeUs, pg_us_per_msg: pgUs, machine_busy: busy, stolen, load: fs.readFileSync('/proc/loadavg', 'utf8').split(' ')[0] };
    writeJson(opt['json-file'], out);
    return out;
  } catch (e) {
    failed = true;
    throw e;
  } finally {
    // a node slow to drain under this load is reported, not fatal to the figures
    for (const s of nodes) await stopServer(s, true);
  }
}

const load = () => fs.readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
console.log(`  load ${load()} before; ${opt.connections} connections in all, ${opt.seconds} s measured after ${opt.warmup} s`);
let pg = null;
let base = process.env.PARLEY_TEST_PG;
let dataDir = process.env.PARLEY_TEST_PG_DATA;
if (!base) {
  pg = await startPostgres();
  base = pg.url;
  dataDir = pg.dataDir;
}
const results = [];
try {
  const admin = base.replace(/\/[^/?]*(\?.*)?$/, '/postgres$1');
  for (const n of counts) {
    // a fresh database for each run
    const db = `bench_${n}_${crypto.randomBytes(3).toString('hex')}`;
    execFileSync('psql', ['-qX', admin, '-c', `CREATE DATABASE ${db}`]);
    const url = base.replace(/\/[^/?]*(\?|$)/, `/${db}$1`);
    results.push(await run(`${n} node${n > 1 ? 's' : ''}, PostgreSQL`, n, url, dataDir));
  }
  if (opt.sqlite) results.push(await run('1 node, SQLite', 1, null, null));
} finally {
  pg?.stop();
}
const one = results.find((r) => r.nodes === 1 && r.store === 'postgres');
if (one) {
  console.log(`  ratios to 1 node on PostgreSQL: ${results.map((r) => `${r.label} ${(r.msgs_per_s / one.msgs_per_s).toFixed(2)}`).join('; ')}`);
}
console.log(`  load ${load()} after`);
