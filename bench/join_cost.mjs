// What a join costs next to a plain message, on one server (issue 14's "empty / ingest" ratio,
// taken apart). One `parley serve` on SQLite with a floor webhook receiver; after a warm-up,
// --rounds rounds of two closed-loop windows of 32 clients: `ingest` (1,000 customers who
// already wait write again) and `join` (every request a new customer of a bot-less connection,
// into a queue of its own). The windows alternate on the same server, so the machine's drift
// over a minute cancels out of the ratio. For each window:
//   - the rate, the client's p50, the ratio of join to the ingest window before it;
//   - the group commits: jobs a commit, jobs an operation, the store's job wait, batch and
//     fsync (means, from /metrics);
//   - server CPU an operation by thread (writer, I/O, syncer, checkpointer, reader), from
//     /proc/PID/task/*/stat;
//   - with `perf` installed (and allowed), the writer's pwrite64 calls an operation (two a WAL
//     frame).
// Usage: node bench/join_cost.mjs [--rounds 2] [--seconds 3] [--server-nice N]
// Needs build/parley, build/loadgen and build/floor_server (make bench builds them).
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { REPO } from '../tests/integration/harness.mjs';
import {
  ok, reniceThreads, request, runLoadgen, startFloorReceiver, startServer, stopServer,
} from './support.mjs';

const LOADGEN = path.resolve(process.env.LOADGEN_BIN || path.join(REPO, 'build/loadgen'));
const opt = { rounds: 2, seconds: 3, 'server-nice': '' };
const argv = process.argv.slice(2);
while (argv.length) {
  const k = argv.shift().replace(/^--/, '');
  if (!(k in opt) || !argv.length) {
    process.stderr.write('usage: node bench/join_cost.mjs [--rounds 2] [--seconds 3] [--server-nice N]\n');
    process.exit(2);
  }
  opt[k] = k === 'server-nice' ? argv.shift() : Number(argv.shift());
}

function loadgen(server, conn, seconds, extra) {
  return runLoadgen(LOADGEN, ['--mode', 'closed', '--port', String(server.port), '--connection-id',
    conn.connection_id, '--secret', conn.jwt_secret, '--connections', '32', '--threads', '1',
    '--duration', String(seconds), '--warmup', '0', '--json', ...extra]);
}

async function metrics(port) {
  const r = await request(port, 'GET', '/metrics');
  const v = (name, labels = '') => {
    const m = new RegExp(`^${name}${labels ? `\\{${labels}\\}` : '(?:\\{[^}]*\\})?'} ([0-9.e+-]+)$`, 'm').exec(r.text);
    return m ? Number(m[1]) : NaN;
  };
  return {
    commits: v('parley_store_commits_total'), jobs: v('parley_store_committed_jobs_total'),
    sync_s: v('parley_store_sync_seconds_sum'), sync_n: v('parley_store_sync_seconds_count'),
    batch_s: v('parley_store_batch_seconds_sum'), batch_n: v('parley_store_batch_seconds_count'),
    wait_s: v('parley_store_wait_seconds_sum', 'kind="write"'),
    wait_n: v('parley_store_wait_seconds_count', 'kind="write"'),
  };
}

// CPU seconds by thread name (numbered threads summed: parley-io-0 and -1 are "parley-io").
function threadCpu(pid) {
  const out = {};
  const tids = {};
  for (const t of fs.readdirSync(`/proc/${pid}/task`)) {
    try {
      const name = fs.readFileSync(`/proc/${pid}/task/${t}/comm`, 'utf8').trim().replace(/-\d+$/, '');
      const f = fs.readFileSync(`/proc/${pid}/task/${t}/stat`, 'utf8').split(') ')[1].split(' ');
      out[name] = (out[name] || 0) + (Number(f[11]) + Number(f[12])) / 100;
      tids[name] = t;
    } catch {
      // a thread that ended meanwhile
    }
  }
  return { cpu: out, tids };
}

const hasPerf = spawnSync('perf', ['--version']).status === 0;

// Counts the writer thread's pwrite64 calls while `fn` runs (null without perf).
async function countPwrites(tid, fn) {
  if (!hasPerf || !tid) return [await fn(), null];
  const st = spawn('perf', ['stat', '-x,', '-e', 'syscalls:sys_enter_pwrite64', '-t', tid], { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  st.stderr.on('data', (d) => (err += d));
  const r = await fn();
  st.kill('SIGINT');
  await new Promise((res) => st.on('exit', res));
  const n = Number(err.trim().split('\n').map((l) => l.split(',')).find((f) => f[2]?.includes('pwrite64'))?.[0]);
  return [r, Number.isFinite(n) ? n : null];
}

async function window(server, conn, label, extra, before) {
  const pid = server.child.pid;
  const m0 = await metrics(server.port);
  const t0 = threadCpu(pid);
  const [r, pwrites] = await countPwrites(t0.tids['parley-writer'], () => loadgen(server, conn, opt.seconds, extra));
  const m1 = await metrics(server.port);
  const t1 = threadCpu(pid);
  const n = r.accepted_per_s * opt.seconds;
  const d = (k) => m1[k] - m0[k];
  const mean = (s, c) => (1e3 * d(s)) / Math.max(1, d(c));
  const per = Object.keys(t1.cpu).filter((k) => k.startsWith('parley-'))
    .map((k) => [k.replace('parley-', ''), ((t1.cpu[k] - (t0.cpu[k] || 0)) * 1e6) / n])
    .filter(([, us]) => us >= 0.05);
  const total = per.reduce((a, [, us]) => a + us, 0);
  const ratio = before ? `, ${(r.accepted_per_s / before).toFixed(2)} of the ingest before it` : '';
  console.log(`  ${label.padEnd(7)} ${r.accepted_per_s.toFixed(0)}/s${ratio}; client p50 ${r.latency.p50_ms.toFixed(2)} ms`);
  console.log(`          commits: ${(d('jobs') / Math.max(1, d('commits'))).toFixed(1)} jobs each, ${(d('jobs') / n).toFixed(2)} jobs an op; job wait ${mean('wait_s', 'wait_n').toFixed(2)} ms, batch ${mean('batch_s', 'batch_n').toFixed(2)} ms, fsync ${mean('sync_s', 'sync_n').toFixed(2)} ms`);
  console.log(`          server CPU an op: ${total.toFixed(0)} us (${per.map(([k, us]) => `${k} ${us.toFixed(1)}`).join(', ')})${pwrites === null ? '' : `; writer pwrite64 an op ${(pwrites / n).toFixed(2)}`}`);
  return r.accepted_per_s;
}

const hook = await startFloorReceiver();
const server = await startServer();
let failed = false;
try {
  if (opt['server-nice'] !== '') reniceThreads(server.child.pid, Number(opt['server-nice']));
  const plain = await server.createConnection({ webhook: hook.url, bot: 'none' });
  await ok(server.port, 'POST', '/api/v1/queues', { token: server.adminToken, body: { name: 'default' } }, 201);
  await ok(server.port, 'POST', '/api/v1/queues', { token: server.adminToken, body: { name: 'joins' } }, 201);
  const joins = await server.createConnection({ webhook: hook.url, bot: 'none', queue: 'joins' });
  console.log(`== join cost: ${opt.rounds} rounds of ${opt.seconds} s ingest and ${opt.seconds} s join, one server${hasPerf ? '' : ' (no perf: no pwrite counts)'}`);
  await loadgen(server, plain, 3, ['--customers', '1000']); // the 1,000 customers join; warm-up
  const ratios = [];
  for (let i = 0; i < opt.rounds; i++) {
    const ingest = await window(server, plain, 'ingest', ['--customers', '1000']);
    const join = await window(server, joins, 'join', ['--new-customers'], ingest);
    ratios.push(join / ingest);
  }
  console.log(`  join / ingest    ${ratios.map((x) => x.toFixed(2)).join(', ')}`);
} catch (e) {
  failed = true;
  throw e;
} finally {
  await stopServer(server, failed);
  await hook.close();
}
