// What the benchmarks written in Node.js share (bench/agents.mjs, bench/busy_day.mjs): HTTP with
// keep-alive, a JWT as an integration layer signs it, a webhook receiver on a worker thread,
// CPU figures from /proc, the server through the black-box test harness, agents with event
// streams, and the drain of a queue by agents who accept every offer.
import { spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { Worker } from 'node:worker_threads';
import { REPO, Server, uid } from '../tests/integration/harness.mjs';

const WebSocket = createRequire(path.join(REPO, 'tests/package.json'))('ws');

// The whole run is bounded: whatever hangs, the process ends (and the harness kills the server).
export function boundRun(name, minutes) {
  setTimeout(() => {
    process.stderr.write(`${name}: gave up after ${minutes} minutes\n`);
    process.exit(1);
  }, minutes * 60 * 1000).unref();
}

export const now = () => Number(process.hrtime.bigint()) / 1e6; // ms, CLOCK_MONOTONIC (same in workers)
export const PASSWORD = 'correct-horse-battery';

// ---- HTTP with keep-alive (fetch costs more CPU per request than node:http) ----------------
export const agent = new http.Agent({ keepAlive: true, maxSockets: 256 });
export function request(port, method, pathname, { token, body, headers = {}, timeout = 30000 } = {}) {
  return new Promise((resolve, reject) => {
    const data = body === undefined ? undefined : Buffer.from(typeof body === 'string' ? body : JSON.stringify(body));
    const h = { ...headers };
    if (token) h.authorization = `Bearer ${token}`;
    if (data) {
      h['content-type'] ??= 'application/json';
      h['content-length'] = data.length;
    }
    const req = http.request({ host: '127.0.0.1', port, method, path: pathname, headers: h, agent, timeout }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString();
        let json = null;
        try {
          json = text ? JSON.parse(text) : null;
        } catch {
          // not JSON
        }
        resolve({ status: res.statusCode, json, text });
      });
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`${method} ${pathname}: no answer in ${timeout} ms`)));
    req.on('error', reject);
    if (data) req.write(data);
    req.end();
  });
}

// Setup calls: a long bound, since with many queued customers each sign-in costs the writer much.
export async function ok(port, method, pathname, opts, status = 200) {
  const r = await request(port, method, pathname, { timeout: 120000, ...opts });
  if (r.status !== status) throw new Error(`${method} ${pathname}: ${r.status} ${r.text}`);
  return r.json;
}

// Runs fn over items with at most `limit` in flight.
export async function pool(items, limit, fn) {
  let next = 0;
  const out = new Array(items.length);
  const run = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i], i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, run));
  return out;
}

// An HS256 token as an integration layer signs it ({iss, iat}).
export function sign(conn) {
  const b64 = (o) => Buffer.from(JSON.stringify(o)).toString('base64url');
  const head = `${b64({ alg: 'HS256', typ: 'JWT' })}.${b64({ iss: conn.connection_id, iat: Math.floor(Date.now() / 1000) })}`;
  const sig = crypto.createHmac('sha256', conn.jwt_secret).update(head).digest('base64url');
  return `${head}.${sig}`;
}

// ---- the webhook receiver: a worker thread that answers 200 at once and records, per
// event_id, when it arrived (CLOCK_MONOTONIC), the type and the `from` --------------------------
const RECEIVER = `
const http = require('node:http');
const { parentPort } = require('node:worker_threads');
const arrivals = new Map();
let total = 0;
const server = http.createServer((req, res) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    const at = Number(process.hrtime.bigint()) / 1e6;
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': 2 });
    res.end('{}');
    try {
      const e = JSON.parse(Buffer.concat(chunks).toString());
      total++;
      if (e.event_id && !arrivals.has(e.event_id)) arrivals.set(e.event_id, [at, e.type, e.from, e.customer_id]);
      else if (e.event_id) arrivals.get(e.event_id).push('again');
    } catch {}
  });
});
server.keepAliveTimeout = 60000;
server.listen(0, '127.0.0.1', () => parentPort.postMessage({ port: server.address().port }));
parentPort.on('message', (m) => {
  if (m === 'collect') parentPort.postMessage({ arrivals: [...arrivals], total });
  if (m === 'close') { server.closeAllConnections(); server.close(() => process.exit(0)); }
});
`;

export async function startReceiver() {
  const worker = new Worker(RECEIVER, { eval: true });
  const port = await new Promise((resolve, reject) => {
    worker.once('message', (m) => resolve(m.port));
    worker.once('error', reject);
  });
  const ask = (what) =>
    new Promise((resolve) => {
      worker.once('message', resolve);
      worker.postMessage(what);
    });
  return {
    url: `http://127.0.0.1:${port}/hook`,
    collect: async () => {
      const m = await ask('collect');
      return { arrivals: new Map(m.arrivals), total: m.total };
    },
    close: async () => {
      worker.postMessage('close');
      await new Promise((resolve) => worker.once('exit', resolve));
    },
  };
}

// A webhook receiver that costs the machine next to nothing: bench/floor_server.cpp (raw epoll,
// one thread, 200 to every request, keeps nothing). For parts that only need the server's
// deliveries answered (busy_day's ingest and join): the Node receiver above parses and records every POST,
// and at 2,500 deliveries a second took 0.35-0.45 of this 2-core machine's cores from the server.
export async function startFloorReceiver(bin = process.env.FLOOR_BIN || path.join(REPO, 'build/floor_server')) {
  if (!fs.existsSync(bin)) throw new Error(`${bin} is missing: run make bench (or set FLOOR_BIN)`);
  const child = spawn(bin, ['--port', '0', '--threads', '1'], { stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error('floor_server did not start within 10 s')), 10000);
    child.stdout.on('data', (d) => {
      out += d;
      const m = /listening on http:\/\/127\.0\.0\.1:(\d+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(Number(m[1]));
      }
    });
    child.once('exit', (code) => reject(new Error(`floor_server exited (${code})`)));
  });
  return {
    url: `http://127.0.0.1:${port}/hook`,
    pid: child.pid,
    close: async () => {
      if (child.exitCode !== null) return;
      child.kill('SIGTERM');
      await new Promise((resolve) => child.once('exit', resolve));
    },
  };
}

// ---- CPU figures from /proc, as bench/run prints them ------------------------------------------
const HZ = 100; // USER_HZ on Linux
export function procCpu(pid) {
  try {
    const f = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const rest = f.slice(f.lastIndexOf(')') + 2).split(' ');
    return (Number(rest[11]) + Number(rest[12])) / HZ; // utime + stime
  } catch {
    return NaN;
  }
}
// CPU seconds of each of a process's threads, and seconds it was runnable but waited for a CPU
// (/proc/…/schedstat), summed by name with the digits dropped (parley-writer, parley-io-N ->
// parley-io-, parley-sync, …): where the server's CPU goes, and whether a thread was held off
// the CPU by other work on the machine.
export function threadCpu(pid) {
  const out = {};
  let tasks = [];
  try {
    tasks = fs.readdirSync(`/proc/${pid}/task`);
  } catch {
    return out;
  }
  for (const tid of tasks) {
    try {
      const f = fs.readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
      const name = f.slice(f.indexOf('(') + 1, f.lastIndexOf(')')).replace(/[0-9]+$/, '');
      const rest = f.slice(f.lastIndexOf(')') + 2).split(' ');
      const sched = fs.readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').trim().split(' ');
      const t = (out[name] ??= { cpu: 0, runq: 0 });
      t.cpu += (Number(rest[11]) + Number(rest[12])) / HZ;
      t.runq += Number(sched[1]) / 1e9;
    } catch {}
  }
  return out;
}
// Sets the nice value of every thread of a process (setpriority on a thread id sets that thread
// only); a server makes its threads as it starts, so once it answers they all exist.
export function reniceThreads(pid, nice) {
  for (const tid of fs.readdirSync(`/proc/${pid}/task`)) os.setPriority(Number(tid), nice);
}
// Over a window: cores each thread name used, busiest first, with the share of the window it
// waited for a CPU: "parley-writer 0.41 (waited for a CPU 12 %), …".
export function threadWindow(pid) {
  const t0 = now();
  const a = threadCpu(pid);
  return () => {
    const w = (now() - t0) / 1000;
    const b = threadCpu(pid);
    return Object.entries(b)
      .map(([name, t]) => [name, (t.cpu - (a[name]?.cpu ?? 0)) / w, (t.runq - (a[name]?.runq ?? 0)) / w])
      .filter(([, cores]) => cores >= 0.005)
      .sort((x, y) => y[1] - x[1])
      .map(([name, cores, runq]) => `${name} ${cores.toFixed(2)} (waited for a CPU ${(100 * runq).toFixed(0)} %)`)
      .join(', ');
  };
}
export function machineCpu() {
  const c = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
  return { busy: (c[0] + c[1] + c[2] + c[5] + c[6]) / HZ, idle: (c[3] + c[4]) / HZ, stolen: c[7] / HZ };
}
export function cpuWindow(serverPid) {
  const t0 = now();
  const s0 = procCpu(serverPid);
  const m0 = machineCpu();
  const self0 = process.cpuUsage();
  return () => {
    const w = (now() - t0) / 1000;
    const m1 = machineCpu();
    const self = process.cpuUsage(self0);
    return {
      wall_s: w,
      server_cores: (procCpu(serverPid) - s0) / w,
      bench_cores: (self.user + self.system) / 1e6 / w,
      busy: (m1.busy - m0.busy) / w,
      idle: (m1.idle - m0.idle) / w,
      stolen: (m1.stolen - m0.stolen) / w,
    };
  };
}
export function printCpu(c) {
  console.log(`  server CPU       ${c.server_cores.toFixed(2)} cores over the measured window (${c.wall_s.toFixed(1)} s wall)`);
  console.log(`  bench CPU        ${c.bench_cores.toFixed(2)} cores (this Node process, receiver and WebSockets included)`);
  console.log(`  machine          ${c.busy.toFixed(2)} cores busy, ${c.idle.toFixed(2)} idle, ${c.stolen.toFixed(2)} stolen by the hypervisor`);
}

// The store's writer over a window, from the server's /metrics: commits, jobs, and the share of
// the wall time spent in group commits (jobs and COMMIT) and in their COMMIT alone (on SQLite
// the WAL's fsync runs on the syncer thread instead: parley_store_sync_seconds).
export async function writerWindow(port) {
  const read = async () => {
    const r = await request(port, 'GET', '/metrics', { timeout: 30000 });
    const v = (name) => {
      const m = new RegExp(`^${name}(?:\\{[^}]*\\})? ([0-9.e+-]+)$`, 'm').exec(r.text);
      return m ? Number(m[1]) : NaN;
    };
    // Cumulative buckets of a histogram, e.g. the server's own accept answers
    // (parley_accept_answer_seconds) or the store jobs' waits (`kind="write",`).
    const histogram = (name, labels = '') =>
      [...r.text.matchAll(new RegExp(`^${name}_bucket\\{${labels}le="([^"]+)"\\} (\\d+)$`, 'gm'))].map((m) => [
        m[1] === '+Inf' ? Infinity : Number(m[1]), Number(m[2])]);
    return { t: now(), commits: v('parley_store_commits_total'), jobs: v('parley_store_committed_jobs_total'),
      batch_s: v('parley_store_batch_seconds_sum'), commit_s: v('parley_store_commit_seconds_sum'),
      buckets: histogram('parley_accept_answer_seconds'),
      batch: histogram('parley_store_batch_seconds'), commit: histogram('parley_store_commit_seconds'),
      sync: histogram('parley_store_sync_seconds'),
      checkpoint: histogram('parley_store_writer_checkpoint_seconds'), checkpoint_s: v('parley_store_writer_checkpoint_seconds_sum'),
      write_wait: histogram('parley_store_wait_seconds', 'kind="write",'),
      background_wait: histogram('parley_store_wait_seconds', 'kind="background",'),
      read_wait: histogram('parley_store_wait_seconds', 'kind="read",') };
  };
  const a = await read();
  return async () => {
    const b = await read();
    const wall = (b.t - a.t) / 1000;
    const commits = b.commits - a.commits;
    return { wall_s: wall, commits, jobs: b.jobs - a.jobs, jobs_per_commit: (b.jobs - a.jobs) / Math.max(1, commits),
      busy: (b.batch_s - a.batch_s) / wall, in_commit: (b.commit_s - a.commit_s) / wall,
      commit_ms: (1000 * (b.commit_s - a.commit_s)) / Math.max(1, commits),
      accept_answer: bucketWindow(a.buckets, b.buckets),
      write_wait: bucketWindow(a.write_wait, b.write_wait), read_wait: bucketWindow(a.read_wait, b.read_wait),
      background_wait: bucketWindow(a.background_wait, b.background_wait),
      batch: bucketWindow(a.batch, b.batch), commit: bucketWindow(a.commit, b.commit),
      sync: bucketWindow(a.sync, b.sync), checkpoint: bucketWindow(a.checkpoint, b.checkpoint),
      checkpoint_share: (b.checkpoint_s - a.checkpoint_s) / wall };
  };
}

// The accepts answered within a window, from two reads of a cumulative Prometheus histogram:
// how many, the share answered within 50 ms, and p50/p99 interpolated linearly inside their
// bucket (so exact only to the bucket's bounds: 0.25, 0.5, 1, 2, 5, 10, 20, 50, 100 ms ...).
function bucketWindow(a, b) {
  if (!b.length) return null; // a server without the metric
  const counts = b.map(([le, n], i) => [le, n - (a[i]?.[1] ?? 0)]);
  const total = counts.at(-1)[1];
  const quantile = (q) => {
    const rank = q * total;
    let lo = 0;
    let below = 0;
    for (const [le, n] of counts) {
      if (n >= rank) return le === Infinity ? Infinity : 1000 * (lo + ((le - lo) * (rank - below)) / Math.max(1, n - below));
      lo = le;
      below = n;
    }
    return NaN;
  };
  const within50 = counts.find(([le]) => le === 0.05)?.[1] ?? NaN;
  return { count: total, within_50ms: within50 / Math.max(1, total), p50_ms: quantile(0.5), p99_ms: quantile(0.99) };
}

export function printWriter(w) {
  console.log(`  writer           ${w.commits} group commits of ${w.jobs_per_commit.toFixed(1)} jobs on average (${w.jobs} jobs); busy ${(100 * w.busy).toFixed(0)} % of the time, ${(100 * w.in_commit).toFixed(0)} % in COMMIT (${w.commit_ms.toFixed(2)} ms each)`);
  if (w.batch?.count)
    console.log(`  group commits    batch (BEGIN to COMMIT done) p50 ${ms(w.batch.p50_ms)} p99 ${ms(w.batch.p99_ms)}; its COMMIT alone p50 ${ms(w.commit.p50_ms)} p99 ${ms(w.commit.p99_ms)}`);
  if (w.sync?.count)
    console.log(`  syncer           ${w.sync.count} fsyncs of the WAL (parley_store_sync_seconds, off the writer): p50 ${ms(w.sync.p50_ms)} p99 ${ms(w.sync.p99_ms)}`);
  if (w.checkpoint?.count)
    console.log(`  its checkpoints  ${w.checkpoint.count} run by the writer between batches (parley_store_writer_checkpoint_seconds): p50 ${ms(w.checkpoint.p50_ms)} p99 ${ms(w.checkpoint.p99_ms)}, ${(100 * w.checkpoint_share).toFixed(1)} % of the time`);
  const a = w.accept_answer;
  if (a?.count)
    console.log(`  server's answers ${a.count} accepts answered (parley_accept_answer_seconds: request read to answer ready): p50 ${ms(a.p50_ms)} p99 ${ms(a.p99_ms)} (within their bucket), ${(100 * a.within_50ms).toFixed(1)} % within 50 ms`);
  for (const [kind, h] of [['write', w.write_wait], ['background', w.background_wait], ['read', w.read_wait]])
    if (h?.count)
      console.log(`  store ${kind} waits ${h.count} jobs (parley_store_wait_seconds, submitted to started): p50 ${ms(h.p50_ms)} p99 ${ms(h.p99_ms)}`);
}

export function writeJson(file, obj) {
  if (file) fs.appendFileSync(file, JSON.stringify(obj) + '\n');
}

export const pct = (sorted, p) => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] : NaN);
export const ms = (v) => (Number.isFinite(v) ? `${v.toFixed(2)} ms` : '-');

// ---- server, connection, agents --------------------------------------------------------------
export async function startServer() {
  const dir = process.env.BENCH_DB_DIR;
  const prevTmp = process.env.TMPDIR;
  if (dir) process.env.TMPDIR = dir; // the harness makes its folder in os.tmpdir()
  const server = await Server.start({});
  if (dir && prevTmp === undefined) delete process.env.TMPDIR;
  else if (dir) process.env.TMPDIR = prevTmp;
  return server;
}

// Stops the server (SIGTERM, bounded) without hiding an error the phase already threw. Before
// its folder goes, prints the writer's slow group commits from its log (at most one a second,
// each saying what it was made of: docs/architecture.md, "The writer's two lanes").
export async function stopServer(server, failed) {
  try {
    await server.stop();
  } catch (e) {
    if (!failed) throw e;
    process.stderr.write(`bench: also, stopping the server: ${String(e.message).split('\n')[0]}\n`);
  } finally {
    printSlowCommits(server.logPath);
    await server.cleanup();
  }
}

function printSlowCommits(logPath) {
  let text = '';
  try {
    text = fs.readFileSync(logPath, 'utf8');
  } catch {
    return;
  }
  const slow = text.split('\n').filter((l) => l.includes('slow group commit:'));
  if (!slow.length) return;
  console.log(`  slow commits     ${slow.length} logged (at most one a second); the first 8:`);
  for (const line of slow.slice(0, 8)) console.log(`    ${line.slice(line.indexOf('slow group commit:'))}`);
}

const allAgents = new Set(); // every agent whose stream may be open, closed before the server stops
export function closeAgents() {
  for (const a of allAgents) a.close();
  allAgents.clear();
}

export class BenchAgent {
  constructor(port, username) {
    this.port = port;
    this.username = username;
    this.ws = null;
    this.onFrame = () => {};
    allAgents.add(this);
  }
  async login() {
    const r = await ok(this.port, 'POST', '/api/v1/auth/login', { body: { username: this.username, password: PASSWORD } });
    this.token = r.token;
  }
  api(method, pathname, body) {
    return request(this.port, method, pathname, { token: this.token, body });
  }
  async connect() {
    const ws = new WebSocket(`ws://127.0.0.1:${this.port}/api/v1/events`, { headers: { authorization: `Bearer ${this.token}` } });
    this.ws = ws;
    ws.on('message', (data) => this.onFrame(JSON.parse(data.toString())));
    ws.on('close', (code, reason) => {
      if (this.ws === ws) process.stderr.write(`bench: ${this.username}'s event stream closed: ${code} ${reason}\n`);
    });
    await new Promise((resolve, reject) => {
      ws.once('open', resolve);
      ws.once('error', reject);
      ws.once('unexpected-response', (_q, res) => reject(new Error(`upgrade refused: ${res.statusCode}`)));
    });
  }
  close() {
    const ws = this.ws;
    this.ws = null;
    ws?.terminate();
  }
}

// Creates `count` agents in queue default (admin API), signs them in and opens their streams.
export async function makeAgents(server, count, maxChats) {
  const prefix = uid().slice(0, 6);
  const agents = await pool([...Array(count).keys()], 4, async (i) => {
    const username = `bench${prefix}${i}`;
    await ok(server.port, 'POST', '/api/v1/users', {
      token: server.adminToken,
      body: { username, password: PASSWORD, display_name: `Agent ${i}`, role: 'agent', queues: ['default'], max_chats: maxChats },
    }, 201);
    const a = new BenchAgent(server.port, username);
    await a.login();
    await a.connect();
    return a;
  });
  return agents;
}

// Queues `count` customers: one inbound text each on a connection with bot none.
export async function queueCustomers(server, conn, count) {
  const token = sign(conn);
  const customers = [...Array(count).keys()].map((i) => `cust-${i}-${uid().slice(0, 8)}`);
  await pool(customers, 16, async (customer_id) => {
    const r = await request(server.port, 'POST', '/messages', {
      token,
      timeout: 120000,
      headers: { connection_id: conn.connection_id },
      body: { type: 'text', customer_id, customer_name: 'Bench Customer', message_id: uid(), text: ['I need a person'] },
    });
    if (r.status !== 200 || r.json?.status !== 'accepted') throw new Error(`POST /messages: ${r.status} ${r.text}`);
  });
  return customers;
}

// Waits (bounded) until pred() is true, checking every 10 ms.
export async function until(pred, timeoutMs, what) {
  const end = now() + timeoutMs;
  while (!pred()) {
    if (now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

// All agents go available at once, and each accepts every offer as it arrives (unless the
// queue auto-accepts: then they only count the conversation.assigned frames). Resolves with
// the figures once `target` conversations are assigned.
// thinkMs > 0 paces the agents as people: each accepts its offers one at a time, each after a
// think time drawn uniformly from [0.5, 1.5] × thinkMs once the previous accept was answered
// (a console shows the offers; a person reads one and clicks). 0: every offer at once.
export async function drain(server, agents, target, autoAccept, timeoutMs, thinkMs = 0) {
  let offers = 0;
  let acceptsOk = 0;
  let acceptsRefused = 0;
  let assigned = 0;
  let tLast = NaN;
  const refusals = new Map();
  const acceptTimes = [];
  const acceptLog = []; // [ms after the first `available` at which it was sent, ms to its answer]
  const owned = []; // {agent, id} of every conversation assigned
  const doneAt = []; // ms after the first `available` at which each assignment was seen
  let t0 = NaN;
  // One accept, timed from the request to its answer.
  const accept = (a, id) => {
    const t = now();
    return request(a.port, 'POST', `/api/v1/conversations/${id}/accept`, { token: a.token, timeout: 120000 }).then(
      (r) => {
        if (r.status === 200) {
          acceptsOk++;
          doneAt.push(now() - t0);
          owned.push({ agent: a, id });
          acceptTimes.push(now() - t);
          acceptLog.push([t - t0, now() - t]);
          if (acceptsOk === target) tLast = now();
        } else {
          acceptsRefused++;
          const code = r.json?.error?.code ?? String(r.status);
          refusals.set(code, (refusals.get(code) ?? 0) + 1);
        }
      },
      (e) => {
        acceptsRefused++;
        refusals.set(String(e.message), (refusals.get(String(e.message)) ?? 0) + 1);
      },
    );
  };
  // A paced agent: the next offer on its screen, after a person's think time.
  const nextAccept = (a) => {
    const id = a.pending.shift();
    if (id === undefined) {
      a.busy = false;
      return;
    }
    a.busy = true;
    setTimeout(() => accept(a, id).then(() => nextAccept(a)), thinkMs * (0.5 + Math.random()));
  };
  for (const a of agents) {
    a.onFrame = (f) => {
      if (f.type === 'conversation.offered') {
        offers++;
        if (autoAccept) return;
        if (thinkMs > 0) {
          a.pending ??= [];
          a.pending.push(f.conversation.id);
          if (!a.busy) nextAccept(a);
          return;
        }
        accept(a, f.conversation.id);
      } else if (f.type === 'conversation.assigned') {
        assigned++;
        if (autoAccept) {
          owned.push({ agent: a, id: f.conversation.id });
          doneAt.push(now() - t0);
        }
        if (autoAccept && assigned === target) tLast = now();
      }
    };
  }
  const cpu = cpuWindow(server.child.pid);
  // This process plays every agent at once: its own event-loop delay is added to every answer
  // it times, so it is reported beside them (a browser per agent would not have it).
  const loop = monitorEventLoopDelay({ resolution: 10 });
  loop.enable();
  t0 = now();
  // Not awaited here: with many queued, the status changes themselves may not all be answered
  // within the drain's bound, which is then reported, not thrown.
  let tAvailable = NaN;
  // A status change refused for the moment (503 while the writer's queue is full, or a broken
  // connection) is sent again, as the console does: without it one agent stayed away, the
  // drain's capacity fell 10 short of the target and it waited for its whole bound.
  const statusRetries = new Map();
  const setAvailable = async (a) => {
    for (let attempt = 0; ; attempt++) {
      const r = await request(a.port, 'PUT', '/api/v1/agents/me/status', { token: a.token, body: { status: 'available' }, timeout: timeoutMs }).catch(
        (e) => ({ status: -1, text: String(e.message) }),
      );
      if ((r.status !== -1 && r.status < 500) || attempt === 20) return r;
      const code = r.json?.error?.code ?? String(r.status === -1 ? r.text : r.status);
      statusRetries.set(code, (statusRetries.get(code) ?? 0) + 1);
      await new Promise((res) => setTimeout(res, 200));
    }
  };
  const statusesP = Promise.all(agents.map(setAvailable)).then((all) => {
    tAvailable = now() - t0;
    return all;
  });
  // The server's own view, independent of the frames: when queue default has none waiting.
  let emptyAt = NaN;
  let polling = true;
  const poll = (async () => {
    while (polling && !Number.isFinite(emptyAt)) {
      const r = await request(server.port, 'GET', '/api/v1/queues/default', { token: server.adminToken, timeout: 120000 }).catch(() => null);
      const v = r?.json?.queue ?? r?.json;
      if (v && v.waiting === 0) emptyAt = now() - t0;
      else await new Promise((res) => setTimeout(res, 50));
    }
  })();
  let complete = true;
  try {
    await until(() => Number.isFinite(tLast), timeoutMs, `${target} conversations assigned`);
  } catch {
    complete = false; // reported as such, with how far it got
  }
  polling = false;
  await poll;
  const statuses = await statusesP;
  const refused = statuses.filter((r) => r.status >= 400 && r.status < 500);
  if (refused.length) throw new Error(`${refused.length} status changes refused: ${refused[0].status} ${refused[0].text}`);
  const availableOk = statuses.filter((r) => r.status === 200).length;
  if (availableOk < statuses.length) {
    const bad = statuses.find((r) => r.status !== 200);
    throw new Error(`${statuses.length - availableOk} status changes failed after retries: ${bad.status} ${bad.text}`);
  }
  const c = cpu();
  loop.disable();
  const loopDelay = { p50_ms: loop.percentile(50) / 1e6, p99_ms: loop.percentile(99) / 1e6, max_ms: loop.max / 1e6 };
  acceptTimes.sort((x, y) => x - y);
  const done = autoAccept ? assigned : acceptsOk;
  return { complete, emptyAt, availableOk, statusRetries, done, doneAt, owned, elapsed_ms: complete ? tLast - t0 : now() - t0, available_ms: tAvailable, offers, acceptsOk, acceptsRefused, refusals, assigned, acceptTimes, acceptLog, cpu: c, loopDelay };
}


// Runs build/loadgen (`bin`) with `args` (which must include --json) and resolves its JSON
// figures with its pid. Exit 3 is a run with refusals or transport errors: its figures still
// count (they say so).
export function runLoadgen(bin, args) {
  return new Promise((resolve, reject) => {
    const child = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (c) => (out += c));
    child.stderr.on('data', (c) => (err += c));
    child.on('error', reject);
    child.on('exit', (code) => {
      if (code !== 0 && code !== 3) return reject(new Error(`loadgen exited ${code}: ${err.trim()}`));
      try {
        resolve({ ...JSON.parse(out), pid: child.pid });
      } catch {
        reject(new Error(`loadgen exited ${code} and printed no JSON: ${out.slice(0, 200)} ${err.slice(0, 200)}`));
      }
    });
  });
}
