// The busy-day benchmark (issue 14): one node on SQLite on a bad morning, measured the way a
// contact centre meets it. Each part starts its own `parley serve` (free loopback port, fresh
// SQLite database under $BENCH_DB_DIR or /tmp) with a webhook receiver (ingest and join:
// build/floor_server, which only answers; agents: a Node worker thread that records each
// delivery), and drives /messages with build/loadgen (C++, 32 keep-alive connections) on a connection with bot
// `none`, so every new customer joins queue `default`.
//
//   ingest   the durable ingest of a plain inbound message: 1,000 customers already waiting
//            write again and again (the warm-up makes them; the window counts only follow-ups)
//   join     new customers joining: a fresh server, warmed up by 2 s of joins to another queue,
//            with an empty queue (--empty-seconds, no warm-up of its own, so that it stays
//            shallow while measured; --empty-windows of them, each on a queue of its own that
//            starts empty, and their median is the empty rate: one 1 s window on a VM varied
//            by a tenth from run to run), then the same server
//            filled to --waiting (10,000) and to --deep (100,000) customers: the rate of joins
//            at each depth (as ratios of one run), the server's CPU per join and its memory
//   agents   --waiting customers queued, --agents agents (max_chats --max-chats) signed in with
//            their event streams open but away: the idle server's CPU over --idle-seconds; then
//            they all go available and accept their offers as people do (auto_accept off): each
//            agent one offer at a time, after a think time of 0.5-1.5 × --think-ms (0: every
//            offer the moment it arrives, all at once):
//            the whole drain, accept answers p50/p99, the wait_time updates the customers got
//            per second meanwhile, and whether any customer got two within
//            wait_time_interval_s (10 s; read from the transcripts of a sample)
//
// --store postgres runs every part on PostgreSQL instead (issue 15): each server on a schema of
// its own of one throwaway PostgreSQL server that this script starts (Debian's binaries, fsync
// on, on this machine: it shares the cores with the server and the load generator), or of the
// server in PARLEY_TEST_PG when set (scripts/test-postgres sets it).
//
// Usage: node bench/busy_day.mjs [ingest] [join] [agents] [--waiting 10000] [--deep 100000]
//        [--agents 1000] [--max-chats 10] [--seconds 5] [--empty-seconds 1] [--empty-windows 5]
//        [--idle-seconds 20]
//        [--drain-timeout 600] [--think-ms 1000] [--store sqlite|postgres] [--json-file F]
//        [--receiver floor|node]   (the webhook receiver of ingest and join; agents: always node)
//        [--server-nice N]   (the nice value of every server thread, set once it has started;
//                             e.g. -15 under a bench at -5: the load generator and the agents'
//                             client, which would run on other machines, never take the CPU
//                             from the server; a value below 0 needs root)
// Needs build/parley, build/loadgen and build/floor_server (make bench builds them) and tests/' npm packages.
import fs from 'node:fs';
import path from 'node:path';
import { REPO } from '../tests/integration/harness.mjs';
import { startPostgres } from '../tests/integration/pg_support.mjs';
import {
  agent, boundRun, closeAgents, cpuWindow, drain, makeAgents, ms, now, ok, pct, pool, printCpu,
  printWriter, queueCustomers, reniceThreads, request, runLoadgen, sign, startFloorReceiver, startReceiver, startServer, stopServer, threadWindow, writeJson, writerWindow,
} from './support.mjs';

const LOADGEN = path.resolve(process.env.LOADGEN_BIN || path.join(REPO, 'build/loadgen'));
const argv = process.argv.slice(2);
const parts = [];
const opt = {
  waiting: 10000,
  deep: 100000,
  agents: 1000,
  'max-chats': 10,
  seconds: 5,
  'empty-seconds': 1,
  'empty-windows': 5,
  'idle-seconds': 20,
  'drain-timeout': 600,
  'think-ms': 1000,
  store: 'sqlite',
  'json-file': '',
  receiver: 'floor',
  'server-nice': '',
};
while (argv.length) {
  const a = argv.shift();
  if (!a.startsWith('--')) {
    if (!['ingest', 'join', 'agents'].includes(a)) usage(`unknown part '${a}'`);
    parts.push(a);
    continue;
  }
  const k = a.slice(2);
  if (!(k in opt) || !argv.length) usage(`unknown or incomplete option --${k}`);
  const v = argv.shift();
  opt[k] = typeof opt[k] === 'number' ? Number(v) : v;
  if (typeof opt[k] === 'number' && !(opt[k] >= 0)) usage(`--${k} needs a number`);
}
if (!parts.length) parts.push('ingest', 'join', 'agents');
if (!['sqlite', 'postgres'].includes(opt.store)) usage(`--store is sqlite or postgres, not '${opt.store}'`);
if (!['floor', 'node'].includes(opt.receiver)) usage(`--receiver is floor or node, not '${opt.receiver}'`);
if (opt['server-nice'] !== '' && !/^-?\d+$/.test(opt['server-nice'])) usage('--server-nice needs a whole number (-20 to 19)');
function usage(why) {
  process.stderr.write(`bench/busy_day.mjs: ${why}\nusage: node bench/busy_day.mjs [ingest] [join] [agents] [--waiting N] ...\n`);
  process.exit(2);
}
if (!fs.existsSync(LOADGEN)) usage(`${LOADGEN} is missing: run make bench (or set LOADGEN_BIN)`);
boundRun('bench/busy_day.mjs', 40);
const json = (obj) => writeJson(opt['json-file'], { store: opt.store, ...obj });

// ---- the load generator ----------------------------------------------------------------------
function loadgen(server, conn, { seconds, warmup = 0, customers, fresh = false }) {
  const args = ['--mode', 'closed', '--port', String(server.port), '--connection-id', conn.connection_id,
    '--secret', conn.jwt_secret, '--connections', '32', '--threads', '1', '--duration', String(seconds),
    '--warmup', String(warmup), '--json'];
  if (fresh) args.push('--new-customers');
  if (customers) args.push('--customers', String(customers));
  return runLoadgen(LOADGEN, args);
}

async function queueView(server, queue = 'default') {
  const r = await ok(server.port, 'GET', `/api/v1/queues/${queue}`, { token: server.adminToken });
  return r.queue ?? r;
}

// Resident memory of the server, from /proc (MiB).
function rssMiB(pid) {
  const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}

// Measures `seconds` of joins (every request a new customer) and prints the figures.
async function measureJoins(server, conn, label, { seconds = opt.seconds, warmup = 1, queue = 'default' } = {}) {
  const before = await queueView(server, queue);
  const cpu = cpuWindow(server.child.pid);
  const r = await loadgen(server, conn, { seconds, warmup, fresh: true });
  const c = cpu();
  const after = await queueView(server, queue);
  const errors = Object.values(r.non_200).reduce((x, y) => x + y, 0) + r.transport_errors;
  const perJoin = (c.server_cores * c.wall_s * 1e6) / Math.max(1, after.waiting - before.waiting);
  console.log(`  ${label.padEnd(16)} ${r.accepted_per_s.toFixed(0)} joins/s (waiting ${before.waiting} → ${after.waiting}); latency p50 ${r.latency.p50_ms.toFixed(2)} ms p99 ${r.latency.p99_ms.toFixed(2)} ms; ${errors} not 2xx; ${perJoin.toFixed(0)} us server CPU a join; server RSS ${rssMiB(server.child.pid).toFixed(0)} MiB; machine ${c.busy.toFixed(2)} cores busy (bench ${c.bench_cores.toFixed(2)})`);
  return { rate: r.accepted_per_s, before: before.waiting, after: after.waiting, errors, cpu_us_per_join: perJoin, latency: r.latency, rss_mib: rssMiB(server.child.pid) };
}

// Adds new customers until exactly `target` wait. Rounds of loadgen joins fill the first part,
// each lasting what the last round's rate says 60 % of the rest needs (at most 5 s): a short
// round measures a rate below the server's, and sizing by it once filled 10,000 to 15,000.
// The last 3,000 or fewer join 16 at a time (queueCustomers), to the exact count.
async function fillTo(server, conn, target) {
  const t = now();
  let rate = 0; // joins a second, as the last round measured it (the first round: at most 0.5 s)
  for (;;) {
    const v = await queueView(server);
    const left = target - v.waiting;
    if (left <= 0) break;
    if (left <= 3000) {
      await queueCustomers(server, conn, left);
      break;
    }
    const seconds = rate ? Math.min(5, (0.6 * left) / rate) : Math.min(0.3, left / 10000);
    // loadgen's own rate, over its window (the wall time would count its start as well).
    const r = await loadgen(server, conn, { seconds: Math.max(0.2, seconds), fresh: true });
    rate = Math.max(100, r.accepted_per_s);
  }
  return (now() - t) / 1000;
}

// receiver: 'node' (records each delivery: the agents part reads them) or 'floor' (answers only).
async function withServer(fn, receiver = 'node') {
  const hook = receiver === 'floor' ? await startFloorReceiver() : await startReceiver();
  const server = await startServer();
  let failed = false;
  try {
    if (opt['server-nice'] !== '') reniceThreads(server.child.pid, Number(opt['server-nice']));
    const conn = await server.createConnection({ webhook: hook.url, bot: 'none' });
    // The queue a bot-less connection's customers join (it would be made by the first of them).
    await ok(server.port, 'POST', '/api/v1/queues', { token: server.adminToken, body: { name: 'default' } }, 201);
    return await fn(server, conn, hook);
  } catch (e) {
    failed = true;
    throw e;
  } finally {
    closeAgents();
    await stopServer(server, failed);
    await hook.close();
  }
}

// ---- ingest ------------------------------------------------------------------------------------
async function ingest() {
  console.log('== ingest: the durable ingest of a plain inbound message (1,000 waiting customers write again)');
  return withServer(async (server, conn) => {
    const cpu = cpuWindow(server.child.pid);
    const r = await loadgen(server, conn, { seconds: opt.seconds, warmup: 3, customers: 1000 });
    const c = cpu();
    console.log(`  ingest           ${r.accepted_per_s.toFixed(0)} msgs/s; latency p50 ${r.latency.p50_ms.toFixed(2)} ms p99 ${r.latency.p99_ms.toFixed(2)} ms`);
    printCpu(c);
    json({ part: 'ingest', rate: r.accepted_per_s, latency: r.latency, cpu: c, receiver: opt.receiver });
    return r.accepted_per_s;
  }, opt.receiver);
}

// ---- join ----------------------------------------------------------------------------------------
async function join(ingestRate) {
  console.log(`== join: new customers joining queue default with 0, ${opt.waiting} and ${opt.deep} already waiting`);
  return withServer(async (server, conn, hook) => {
    // The server, its statements and the receiver warm up on a queue of their own (a second
    // connection whose customers join queue "warm-up"), so that the empty queue's window
    // measures an empty queue, not a cold process. Then a short window with no warm-up of its
    // own, so that the queue is near empty while it is measured (at 5,000 joins a second a 5 s
    // window would end 30,000 deep).
    const warm = await server.createConnection({ webhook: hook.url, bot: 'none', queue: 'warm-up' });
    await loadgen(server, warm, { seconds: 2, fresh: true });
    // Each window joins a queue of its own (a connection of its own), empty when it starts.
    const windows = [];
    for (let i = 0; i < Math.max(1, opt['empty-windows']); i++) {
      await ok(server.port, 'POST', '/api/v1/queues', { token: server.adminToken, body: { name: `empty-${i + 1}` } }, 201);
      const fresh = await server.createConnection({ webhook: hook.url, bot: 'none', queue: `empty-${i + 1}` });
      windows.push(await measureJoins(server, fresh, `empty queue ${i + 1}`, { seconds: opt['empty-seconds'], warmup: 0, queue: `empty-${i + 1}` }));
    }
    const byRate = [...windows].sort((a, b) => a.rate - b.rate);
    const empty = byRate[Math.floor((byRate.length - 1) / 2)];
    console.log(`  empty queue      median of ${windows.length} windows: ${empty.rate.toFixed(0)} joins/s (${windows.map((w) => w.rate.toFixed(0)).join(', ')})`);
    const t1 = await fillTo(server, conn, opt.waiting);
    console.log(`  (filled to ${opt.waiting} in ${t1.toFixed(1)} s)`);
    const mid = await measureJoins(server, conn, `${opt.waiting} waiting`);
    const t2 = await fillTo(server, conn, opt.deep);
    console.log(`  (filled to ${opt.deep} in ${t2.toFixed(1)} s)`);
    const deep = await measureJoins(server, conn, `${opt.deep} waiting`);
    console.log(`  ratios           ${opt.waiting} waiting / empty = ${(mid.rate / empty.rate).toFixed(2)}; ${opt.deep} waiting / empty = ${(deep.rate / empty.rate).toFixed(2)}${ingestRate ? `; empty / ingest = ${(empty.rate / ingestRate).toFixed(2)}` : ''}`);
    json({ part: 'join', empty, empty_windows: windows, mid, deep, ingest_rate: ingestRate ?? null, receiver: opt.receiver });
  }, opt.receiver);
}

// ---- agents ----------------------------------------------------------------------------------------
async function agents() {
  const n = opt.agents;
  const m = opt['max-chats'];
  console.log(`== agents: ${opt.waiting} waiting, ${n} agents × max_chats ${m}: idle, then the drain (auto_accept off)`);
  return withServer(async (server, conn, hook) => {
    let t = now();
    // One more than the drain takes: the wait_time part below sends the head customer away.
    await fillTo(server, conn, opt.waiting + 1);
    const tFill = (now() - t) / 1000;
    const queued = (await queueView(server)).waiting; // the last fill may pass the target a little
    t = now();
    const team = await makeAgents(server, n, m);
    console.log(`  setup            ${queued} customers queued in ${tFill.toFixed(1)} s; ${n} agents created, signed in, streams open (away) in ${((now() - t) / 1000).toFixed(1)} s`);

    // Idle: nothing happens (agents away, nobody writes); the sweep runs every second.
    // First the setup's own work settles: each agent created changes the queue (its members and
    // their concurrency move every estimate), so every waiting customer is looked at again, at
    // most 1,000 re-armed and 1,000 looked at a second, and then parked. Nothing happens after.
    const settle = Math.ceil(12 + (2 * queued) / 1000);
    await new Promise((r) => setTimeout(r, settle * 1000));
    const idleCpu = cpuWindow(server.child.pid);
    const idleThreads = threadWindow(server.child.pid);
    await new Promise((r) => setTimeout(r, opt['idle-seconds'] * 1000));
    const idle = idleCpu();
    console.log(`  idle             (after ${settle} s to settle) server ${(idle.server_cores * 100).toFixed(1)} % of a core over ${idle.wall_s.toFixed(0)} s (${queued} waiting, ${n} streams open); RSS ${rssMiB(server.child.pid).toFixed(0)} MiB`);
    console.log(`  idle threads     ${idleThreads()}`);

    // wait_time alone: the customer at the head leaves, so everyone behind moves up one place
    // and is told within wait_time_interval_s (the no-agents text with their position, as
    // every agent is away). The server's CPU over that window (until no new
    // update came for 3 s) divided by the updates is the cost of one update, sweep included.
    const shift = await positionShift(server, conn, hook);
    console.log(`  wait_time        the head customer left: ${shift.updates} updates (to ${shift.customers} customers) in ${shift.wall_s.toFixed(1)} s (${(shift.updates / shift.wall_s).toFixed(0)}/s), server ${(shift.cpu.server_cores * 100).toFixed(0)} % of a core: ${shift.us_per_update.toFixed(0)} us of server CPU an update`);

    const before = await hook.collect();
    const t0 = now();
    const writer = await writerWindow(server.port);
    const threads = threadWindow(server.child.pid);
    const r = await drain(server, team, opt.waiting, false, opt['drain-timeout'] * 1000, opt['think-ms']);
    const w = await writer();
    const byThread = threads();
    const t1 = now();
    const after = await hook.collect();
    // wait_time updates that reached the customers during the drain.
    let waits = 0;
    for (const [id, a] of after.arrivals) {
      if (before.arrivals.has(id) || a[1] !== 'wait_time') continue;
      if (a[0] >= t0 && a[0] <= t1) waits++;
    }
    const s = r.elapsed_ms / 1000;
    const acc = r.acceptTimes;
    console.log(`  drain            ${r.complete ? '' : 'NOT COMPLETE: '}${r.done} of ${opt.waiting} accepted in ${s.toFixed(1)} s (${(r.done / s).toFixed(0)}/s); accept answer p50 ${ms(pct(acc, 50))} p99 ${ms(pct(acc, 99))} max ${ms(acc.at(-1))} (think time ${opt['think-ms']} ms)`);
    // The first seconds are a storm (every agent goes available at once and is offered up to
    // max_chats customers); the accepts sent after every status change was answered are the
    // steady drain.
    if (Number.isFinite(r.available_ms)) {
      const split = (f) => r.acceptLog.filter(f).map((x) => x[1]).sort((x, y) => x - y);
      const early = split((x) => x[0] < r.available_ms);
      const late = split((x) => x[0] >= r.available_ms);
      console.log(`  accepts by phase while status changes were answered (${(r.available_ms / 1000).toFixed(1)} s): ${early.length}, p50 ${ms(pct(early, 50))} p99 ${ms(pct(early, 99))}; after: ${late.length}, p50 ${ms(pct(late, 50))} p99 ${ms(pct(late, 99))}`);
    }
    if (r.statusRetries.size) console.log(`  status changes   sent again after ${[...r.statusRetries].map(([k, v]) => `${v} × ${k}`).join(', ')}`);
    // Second by second (by when each accept was sent): where in the drain the slow answers are.
    const bySecond = [];
    for (const [sent, took] of r.acceptLog) (bySecond[Math.floor(sent / 1000)] ??= []).push(took);
    const seconds = bySecond.map((l, i) => {
      if (!l) return `${i}s -`;
      l.sort((x, y) => x - y);
      return `${i}s ${l.length} ${pct(l, 50).toFixed(0)}/${pct(l, 99).toFixed(0)}`;
    });
    console.log(`  accepts by second (sent in it: count p50/p99 ms) ${seconds.join(', ')}`);
    console.log(`  bench client     event-loop delay p50 ${ms(r.loopDelay.p50_ms)} p99 ${ms(r.loopDelay.p99_ms)} max ${ms(r.loopDelay.max_ms)} (one process plays all ${n} agents: its delay is in every answer it times)`);
    console.log(`  wait_time        ${waits} updates reached customers during the drain, ${(waits / s).toFixed(0)}/s`);
    printCpu(r.cpu);
    console.log(`  server threads   ${byThread} (cores over the drain; the writer's busy share below counts its waits too)`);
    printWriter(w);

    // Never two within wait_time_interval_s: the transcripts of a sample of the customers.
    const sample = r.owned.filter((_, i) => i % Math.max(1, Math.floor(r.owned.length / 200)) === 0).slice(0, 200);
    let minGap = Infinity;
    let tooSoon = 0;
    let counted = 0;
    await pool(sample, 8, async ({ id }) => {
      const got = await request(server.port, 'GET', `/api/v1/conversations/${id}`, { token: server.adminToken, timeout: 60000 });
      const times = (got.json?.transcript ?? []).filter((e) => e.type === 'wait_time').map((e) => Date.parse(e.created_at)).sort((x, y) => x - y);
      counted += times.length;
      for (let i = 1; i < times.length; i++) {
        const gap = times[i] - times[i - 1];
        minGap = Math.min(minGap, gap);
        if (gap < 10000) tooSoon++;
      }
    });
    console.log(`  interval         ${sample.length} customers' transcripts: ${counted} wait_time events, shortest gap ${Number.isFinite(minGap) ? `${(minGap / 1000).toFixed(1)} s` : '-'}, ${tooSoon} gaps under 10 s`);
    json({ part: 'agents', waiting: opt.waiting, agents: n, max_chats: m, think_ms: opt['think-ms'], idle, shift, drain_ms: r.elapsed_ms, complete: r.complete, accepted: r.done,
      accept_p50_ms: pct(acc, 50), accept_p99_ms: pct(acc, 99), accept_max_ms: acc.at(-1), client_loop_delay: r.loopDelay, wait_updates: waits, wait_updates_per_s: waits / s,
      drain_cpu: r.cpu, writer: w, interval_sample: sample.length, wait_events: counted, min_gap_ms: minGap, gaps_under_interval: tooSoon });
  });
}

// The first customer told a wait_time (the head of the queue) ends the chat; returns the
// wait_time updates that reached the others and the server's CPU meanwhile.
async function positionShift(server, conn, hook) {
  // With every agent away, a waiting customer is told the queue's no_agents_text (with their
  // position) instead of an estimate: both are the system's, and both follow the position.
  const told = (a) => a[2] === 'system' && (a[1] === 'wait_time' || a[1] === 'text');
  const start = await hook.collect();
  let head;
  for (const a of start.arrivals.values()) if (told(a) && (!head || a[0] < head[0])) head = a;
  if (!head) throw new Error('no customer was told their place in the queue');
  const known = start.arrivals.size;
  const count = async () => {
    const m = await hook.collect();
    const fresh = [...m.arrivals.entries()].slice(known).filter(([, a]) => told(a));
    customers = new Set(fresh.map(([, a]) => a[3])).size;
    return fresh.length;
  };
  let customers = 0;
  const cpu = cpuWindow(server.child.pid);
  const t0 = now();
  const r = await request(server.port, 'POST', '/messages', {
    token: sign(conn), timeout: 60000, headers: { connection_id: conn.connection_id },
    body: { type: 'customer_end_session', customer_id: head[3] },
  });
  if (r.status !== 200) throw new Error(`customer_end_session: ${r.status} ${r.text}`);
  let last = 0;
  let lastAt = now();
  while (now() - lastAt < 3000 && now() - t0 < 120000) {
    await new Promise((res) => setTimeout(res, 250));
    const n = await count();
    if (n !== last) {
      last = n;
      lastAt = now();
    }
  }
  const c = cpu();
  return { updates: last, customers, wall_s: (lastAt - t0) / 1000, cpu: c, us_per_update: (c.server_cores * c.wall_s * 1e6) / Math.max(1, last) };
}

// On PostgreSQL the harness gives each server a schema of its own on this server.
let pg = null;
if (opt.store === 'postgres') {
  if (!process.env.PARLEY_TEST_PG) {
    pg = await startPostgres();
    process.env.PARLEY_TEST_PG = pg.url;
  }
  process.env.PARLEY_TEST_STORE = 'postgres';
  console.log(`  store: PostgreSQL (${process.env.PARLEY_TEST_PG.replace(/\?.*$/, '')}, synchronous_commit on, fsync on)`);
}
try {
  let ingestRate;
  if (parts.includes('ingest')) ingestRate = await ingest();
  if (parts.includes('join')) await join(ingestRate);
  if (parts.includes('agents')) await agents();
  agent.destroy();
} catch (e) {
  process.stderr.write(`bench/busy_day.mjs: ${e.stack ?? e}\n`);
  pg?.stop();
  process.exit(1);
}
pg?.stop();
