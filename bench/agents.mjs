// The agents' benchmark phases (issue 9), run by bench/run; each starts its own `parley serve`
// (free loopback port, fresh SQLite database on disk under $BENCH_DB_DIR or /tmp, default
// settings) through the black-box test harness, and stops it at the end.
//
//   agent-reply     C customers escalated from a connection with bot `none`; N agents (users
//                   created by the admin API, signed in, event streams open) each pull their
//                   share (POST accept) and go available; then an open loop of agent replies, POST
//                   /api/v1/conversations/{id}/messages at RATE/s spread round-robin over the
//                   conversations. Each reply is matched by the event_id of its 202 answer to
//                   its arrival at a webhook receiver (a worker thread of this process). The
//                   latency counts from the reply's due time (start + j/RATE), so a stall is
//                   charged to every reply it delayed.
//   routing-drain   Q customers queued (bot none); then A agents (max_chats M, streams open)
//                   go available at once and accept each offer as it arrives on their stream:
//                   the time from the first `available` to the Q-th accept answered. Then the
//                   same on a new server with queue `default` set to auto_accept: the time to
//                   the Q-th `conversation.assigned` frame. Both also poll queue default
//                   for the moment it has none waiting (the server's view, frames aside).
//
// Usage: node bench/agents.mjs agent-reply|routing-drain [--rate 500] [--duration 20]
//        [--warmup 2] [--agents 20] [--conversations 100] [--queued 1000] [--drain-agents 100]
//        [--max-chats 10] [--drain-timeout 180] [--json-file F]
// Needs the npm packages of tests/ (ws, jsonwebtoken): bench/run installs them when missing.
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import { createRequire } from 'node:module';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import { REPO, Server, uid } from '../tests/integration/harness.mjs';

const WebSocket = createRequire(path.join(REPO, 'tests/package.json'))('ws');

// ---- options -------------------------------------------------------------------------------
const argv = process.argv.slice(2);
const phase = argv.shift();
const opt = {
  rate: 500,
  duration: 20,
  warmup: 2,
  agents: 20,
  conversations: 100,
  queued: 1000,
  'drain-agents': 100,
  'max-chats': 10,
  'drain-timeout': 180,
  'json-file': '',
};
while (argv.length) {
  const k = argv.shift().replace(/^--/, '');
  if (!(k in opt) || !argv.length) usage(`unknown or incomplete option --${k}`);
  const v = argv.shift();
  opt[k] = typeof opt[k] === 'number' ? Number(v) : v;
  if (typeof opt[k] === 'number' && !(opt[k] >= 0)) usage(`--${k} needs a number`);
}
if (phase !== 'agent-reply' && phase !== 'routing-drain') usage(`unknown phase '${phase}'`);
function usage(why) {
  process.stderr.write(`bench/agents.mjs: ${why}\nusage: node bench/agents.mjs agent-reply|routing-drain [--rate N] [--duration S] ...\n`);
  process.exit(2);
}

// The whole run is bounded: whatever hangs, the process ends (and the harness kills the server).
const HARD_LIMIT_MS = 15 * 60 * 1000;
setTimeout(() => {
  process.stderr.write('bench/agents.mjs: gave up after 15 minutes\n');
  process.exit(1);
}, HARD_LIMIT_MS).unref();

const now = () => Number(process.hrtime.bigint()) / 1e6; // ms, CLOCK_MONOTONIC (same in workers)
const PASSWORD = 'correct-horse-battery';

// ---- HTTP with keep-alive (fetch costs more CPU per request than node:http) ----------------
const agent = new http.Agent({ keepAlive: true, maxSockets: 256 });
function request(port, method, pathname, { token, body, headers = {}, timeout = 30000 } = {}) {
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
async function ok(port, method, pathname, opts, status = 200) {
  const r = await request(port, method, pathname, { timeout: 120000, ...opts });
  if (r.status !== status) throw new Error(`${method} ${pathname}: ${r.status} ${r.text}`);
  return r.json;
}

// Runs fn over items with at most `limit` in flight.
async function pool(items, limit, fn) {
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
function sign(conn) {
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
      if (e.event_id && !arrivals.has(e.event_id)) arrivals.set(e.event_id, [at, e.type, e.from]);
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

async function startReceiver() {
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

// ---- CPU figures from /proc, as bench/run prints them ------------------------------------------
const HZ = 100; // USER_HZ on Linux
function procCpu(pid) {
  try {
    const f = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const rest = f.slice(f.lastIndexOf(')') + 2).split(' ');
    return (Number(rest[11]) + Number(rest[12])) / HZ; // utime + stime
  } catch {
    return NaN;
  }
}
function machineCpu() {
  const c = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
  return { busy: (c[0] + c[1] + c[2] + c[5] + c[6]) / HZ, idle: (c[3] + c[4]) / HZ, stolen: c[7] / HZ };
}
function cpuWindow(serverPid) {
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
function printCpu(c) {
  console.log(`  server CPU       ${c.server_cores.toFixed(2)} cores over the measured window (${c.wall_s.toFixed(1)} s wall)`);
  console.log(`  bench CPU        ${c.bench_cores.toFixed(2)} cores (this Node process, receiver and WebSockets included)`);
  console.log(`  machine          ${c.busy.toFixed(2)} cores busy, ${c.idle.toFixed(2)} idle, ${c.stolen.toFixed(2)} stolen by the hypervisor`);
}

function writeJson(obj) {
  if (opt['json-file']) fs.appendFileSync(opt['json-file'], JSON.stringify(obj) + '\n');
}

const pct = (sorted, p) => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] : NaN);
const ms = (v) => (Number.isFinite(v) ? `${v.toFixed(2)} ms` : '-');

// ---- server, connection, agents --------------------------------------------------------------
async function startServer() {
  const dir = process.env.BENCH_DB_DIR;
  const prevTmp = process.env.TMPDIR;
  if (dir) process.env.TMPDIR = dir; // the harness makes its folder in os.tmpdir()
  const server = await Server.start({});
  if (dir && prevTmp === undefined) delete process.env.TMPDIR;
  else if (dir) process.env.TMPDIR = prevTmp;
  return server;
}

// Stops the server (SIGTERM, bounded) without hiding an error the phase already threw.
async function stopServer(server, failed) {
  try {
    await server.stop();
  } catch (e) {
    if (!failed) throw e;
    process.stderr.write(`bench/agents.mjs: also, stopping the server: ${String(e.message).split('\n')[0]}\n`);
  } finally {
    await server.cleanup();
  }
}

const allAgents = new Set(); // every agent whose stream may be open, closed before the server stops
function closeAgents() {
  for (const a of allAgents) a.close();
  allAgents.clear();
}

class BenchAgent {
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
      if (this.ws === ws) process.stderr.write(`bench/agents.mjs: ${this.username}'s event stream closed: ${code} ${reason}\n`);
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
async function makeAgents(server, count, maxChats) {
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
async function queueCustomers(server, conn, count) {
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
async function until(pred, timeoutMs, what) {
  const end = now() + timeoutMs;
  while (!pred()) {
    if (now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

// All agents go available at once, and each accepts every offer as it arrives (unless the
// queue auto-accepts: then they only count the conversation.assigned frames). Resolves with
// the figures once `target` conversations are assigned.
async function drain(server, agents, target, autoAccept, timeoutMs) {
  let offers = 0;
  let acceptsOk = 0;
  let acceptsRefused = 0;
  let assigned = 0;
  let tLast = NaN;
  const refusals = new Map();
  const acceptTimes = [];
  const owned = []; // {agent, id} of every conversation assigned
  const doneAt = []; // ms after the first `available` at which each assignment was seen
  let t0 = NaN;
  for (const a of agents) {
    a.onFrame = (f) => {
      if (f.type === 'conversation.offered') {
        offers++;
        if (autoAccept) return;
        const t = now();
        request(a.port, 'POST', `/api/v1/conversations/${f.conversation.id}/accept`, { token: a.token, timeout: 120000 }).then(
          (r) => {
            if (r.status === 200) {
              acceptsOk++;
              doneAt.push(now() - t0);
              owned.push({ agent: a, id: f.conversation.id });
              acceptTimes.push(now() - t);
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
  t0 = now();
  // Not awaited here: with many queued, the status changes themselves may not all be answered
  // within the drain's bound, which is then reported, not thrown.
  let tAvailable = NaN;
  const statusesP = Promise.all(
    agents.map((a) =>
      request(a.port, 'PUT', '/api/v1/agents/me/status', { token: a.token, body: { status: 'available' }, timeout: timeoutMs }).catch(
        (e) => ({ status: -1, text: String(e.message) }),
      ),
    ),
  ).then((all) => {
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
  const c = cpu();
  acceptTimes.sort((x, y) => x - y);
  const done = autoAccept ? assigned : acceptsOk;
  return { complete, emptyAt, availableOk, done, doneAt, owned, elapsed_ms: complete ? tLast - t0 : now() - t0, available_ms: tAvailable, offers, acceptsOk, acceptsRefused, refusals, assigned, acceptTimes, cpu: c };
}

// ---- phase: agent-reply ----------------------------------------------------------------------
async function agentReply() {
  const hook = await startReceiver();
  const server = await startServer();
  let agents = [];
  let failed = false;
  try {
    const conn = await server.createConnection({ webhook: hook.url, bot: 'none' });
    const nConv = opt.conversations;
    const nAgents = opt.agents;
    const maxChats = Math.max(1, Math.ceil(nConv / nAgents));
    console.log(`  setup: ${nAgents} agents (max_chats ${maxChats}), ${nConv} customers escalated (bot none → queue default) and accepted`);
    await queueCustomers(server, conn, nConv);
    agents = await makeAgents(server, nAgents, maxChats);
    // Each agent pulls its share of the queue (POST accept without an offer) and only then
    // goes available (at capacity, so nothing more is offered): the setup does not depend on
    // offers reaching the streams (see docs/performance.md, "Agents (issue 9)").
    const listed = await ok(server.port, 'GET', '/api/v1/conversations?state=queued&limit=1000', { token: server.adminToken });
    const queued = listed.conversations ?? [];
    if (queued.length !== nConv) throw new Error(`expected ${nConv} queued conversations, the API lists ${queued.length}`);
    const owned = await pool(queued, 8, async (c, i) => {
      const a = agents[i % nAgents];
      await ok(server.port, 'POST', `/api/v1/conversations/${c.id}/accept`, { token: a.token });
      return { agent: a, id: c.id };
    });
    await pool(agents, 8, (a) => ok(server.port, 'PUT', '/api/v1/agents/me/status', { token: a.token, body: { status: 'available' } }));
    for (const a of agents) a.onFrame = () => {};

    // The open loop: reply j is due at start + j/rate; conversations in turn.
    const rate = opt.rate;
    const total = Math.round(rate * (opt.warmup + opt.duration));
    const warm = Math.round(rate * opt.warmup);
    const sends = new Array(total); // [due, sent, answered, status, event_id]
    let inFlight = 0;
    let maxInFlight = 0;
    console.log(`  open loop: ${rate} replies/s for ${opt.warmup} s warm-up + ${opt.duration} s over ${nConv} conversations`);
    const start = now() + 50;
    let cpu = null;
    let j = 0;
    await new Promise((resolve) => {
      const tick = () => {
        const t = now();
        if (cpu === null && j >= warm) cpu = cpuWindow(server.child.pid);
        while (j < total && start + (j * 1000) / rate <= t) {
          const i = j++;
          const due = start + (i * 1000) / rate;
          const { agent: a, id } = owned[i % owned.length];
          const rec = [due, now(), NaN, 0, null];
          sends[i] = rec;
          inFlight++;
          maxInFlight = Math.max(maxInFlight, inFlight);
          a.api('POST', `/api/v1/conversations/${id}/messages`, { type: 'text', text: [`reply ${i}`] }).then(
            (r) => {
              inFlight--;
              rec[2] = now();
              rec[3] = r.status;
              rec[4] = r.json?.event_id ?? null;
            },
            () => {
              inFlight--;
              rec[2] = now();
              rec[3] = -1;
            },
          );
        }
        if (j < total) setTimeout(tick, Math.max(0, Math.min(1, start + (j * 1000) / rate - now())));
        else resolve();
      };
      setTimeout(tick, 50);
    });
    const tSent = now();
    // Every answer, then every webhook arrival (bounded).
    await until(() => inFlight === 0, 60000, 'every reply answered');
    const ids = sends.filter((s) => s[3] === 202 && s[4]).map((s) => s[4]);
    let got = await hook.collect();
    const end = now() + 60000;
    while (ids.some((id) => !got.arrivals.has(id)) && now() < end) {
      await new Promise((r) => setTimeout(r, 100));
      got = await hook.collect();
    }
    const c = cpu();
    const measured = sends.slice(warm);
    const refused = measured.filter((s) => s[3] !== 202);
    const hookLat = [];
    const hookFromSend = [];
    const postLat = [];
    let missing = 0;
    let repeated = 0;
    for (const s of measured) {
      if (s[3] !== 202) continue;
      postLat.push(s[2] - s[0]);
      const a = got.arrivals.get(s[4]);
      if (!a) {
        missing++;
        continue;
      }
      if (a.length > 3) repeated++;
      hookLat.push(a[0] - s[0]);
      hookFromSend.push(a[0] - s[1]);
    }
    for (const v of [hookLat, hookFromSend, postLat]) v.sort((x, y) => x - y);
    const firstDue = measured[0][0];
    const lastArrival = Math.max(...measured.map((s) => got.arrivals.get(s[4])?.[0] ?? 0));
    const sendSpan = (tSent - firstDue) / 1000;
    console.log(`  replies          ${measured.length} measured (${warm} warm-up not counted), ${refused.length} not 202, ${missing} never reached the webhook, ${repeated} delivered twice`);
    console.log(`  achieved rate    ${(measured.length / sendSpan).toFixed(0)} replies/s sent; ${(hookLat.length / ((lastArrival - firstDue) / 1000)).toFixed(0)} /s delivered (first due → last arrival); at most ${maxInFlight} POSTs in flight`);
    console.log(`  POST → webhook   p50 ${ms(pct(hookLat, 50))}  p99 ${ms(pct(hookLat, 99))}  p99.9 ${ms(pct(hookLat, 99.9))}  max ${ms(hookLat.at(-1))}  (from the due time)`);
    console.log(`                   p50 ${ms(pct(hookFromSend, 50))}  p99 ${ms(pct(hookFromSend, 99))}  p99.9 ${ms(pct(hookFromSend, 99.9))}  max ${ms(hookFromSend.at(-1))}  (from the actual send)`);
    console.log(`  POST → 202       p50 ${ms(pct(postLat, 50))}  p99 ${ms(pct(postLat, 99))}  p99.9 ${ms(pct(postLat, 99.9))}  max ${ms(postLat.at(-1))}  (from the due time)`);
    if (refused.length) console.log(`  refusals         ${[...new Set(refused.map((s) => s[3]))].join(', ')} (status; -1 = transport error)`);
    printCpu(c);
    writeJson({
      phase: 'agent-reply', rate, duration_s: opt.duration, agents: nAgents, conversations: nConv, replies: measured.length,
      refused: refused.length, missing, repeated,
      webhook_ms: { p50: pct(hookLat, 50), p99: pct(hookLat, 99), p999: pct(hookLat, 99.9), max: hookLat.at(-1) },
      post_ms: { p50: pct(postLat, 50), p99: pct(postLat, 99), p999: pct(postLat, 99.9), max: postLat.at(-1) },
      cpu: c,
    });
    if (refused.length || missing) process.exitCode = 1;
  } catch (e) {
    failed = true;
    throw e;
  } finally {
    closeAgents();
    await stopServer(server, failed);
    await hook.close();
  }
}

// ---- phase: routing-drain --------------------------------------------------------------------
async function routingDrain(autoAccept) {
  const hook = await startReceiver();
  const server = await startServer();
  let agents = [];
  let failed = false;
  try {
    const conn = await server.createConnection({ webhook: hook.url, bot: 'none' });
    const q = opt.queued;
    const n = opt['drain-agents'];
    const m = opt['max-chats'];
    // Customers first: each enqueue also sends queue.updated to every user of the queue, so
    // queueing 1,000 with 100 agents signed in costs far more than the drain itself.
    let t = now();
    await queueCustomers(server, conn, q);
    const tQueued = now() - t;
    // Queue `default` exists once the first customer is escalated to it.
    if (autoAccept) await ok(server.port, 'PATCH', '/api/v1/queues/default', { token: server.adminToken, body: { auto_accept: true } });
    t = now();
    agents = await makeAgents(server, n, m);
    console.log(`  setup            ${q} customers queued in ${(tQueued / 1000).toFixed(1)} s; ${n} agents created, signed in, streams open in ${((now() - t) / 1000).toFixed(1)} s`);
    console.log(`  ${autoAccept ? 'auto_accept: true' : 'auto_accept off, each offer accepted as it arrives'}: ${q} queued, ${n} agents × max_chats ${m} go available at once`);
    const r = await drain(server, agents, q, autoAccept, opt['drain-timeout'] * 1000);
    const s = r.elapsed_ms / 1000;
    const what = autoAccept ? 'conversation.assigned frame' : 'accept answered';
    if (r.complete) {
      console.log(`  drained          ${q} conversations in ${(s * 1000).toFixed(0)} ms (first \`available\` sent → ${q}th ${what}); ${(q / s).toFixed(1)} assignments/s`);
    } else {
      console.log(`  NOT DRAINED      only ${r.done} of ${q} assigned when the phase gave up after ${s.toFixed(0)} s; ${(r.done / s).toFixed(1)} assignments/s`);
    }
    console.log(`  server's view    ${Number.isFinite(r.emptyAt) ? `queue default had none waiting ${(r.emptyAt / 1000).toFixed(2)} s after the first \`available\`` : 'queue default still had customers waiting at the end'} (GET /api/v1/queues/default every 50 ms)`);
    const marks = [1, 10, 100, 250, 500, 750, 1000].filter((k) => k <= r.doneAt.length);
    console.log(`  progress         ${marks.map((k) => `${k}th at ${(r.doneAt[k - 1] / 1000).toFixed(2)} s`).join(', ')}`);
    console.log(`  offers           ${r.offers} offered, ${(r.offers / s).toFixed(0)} offers/s${autoAccept ? '' : `; accepts ${r.acceptsOk} × 200, ${r.acceptsRefused} refused${r.refusals.size ? ` (${[...r.refusals].map(([k, v]) => `${k} ${v}`).join(', ')})` : ''}`}`);
    console.log(`  available        ${r.availableOk} of ${n} PUT status answered 200, the last after ${(r.available_ms / 1000).toFixed(1)} s${r.availableOk < n ? ' (the others: no answer within the bound)' : ''}`);
    if (!autoAccept) {
      const t = r.acceptTimes;
      console.log(`  accept answer    p50 ${ms(pct(t, 50))}  p99 ${ms(pct(t, 99))}  max ${ms(t.at(-1))}`);
    }
    printCpu(r.cpu);
    writeJson({
      phase: autoAccept ? 'routing-drain-auto' : 'routing-drain', queued: q, agents: n, max_chats: m, complete: r.complete, assigned: r.done, drain_ms: r.elapsed_ms, server_empty_ms: r.emptyAt,
      offers: r.offers, offers_per_s: r.offers / s, accepts_ok: r.acceptsOk, accepts_refused: r.acceptsRefused, cpu: r.cpu,
    });
  } catch (e) {
    failed = true;
    throw e;
  } finally {
    closeAgents();
    await stopServer(server, failed);
    await hook.close();
  }
}

try {
  if (phase === 'agent-reply') await agentReply();
  else {
    await routingDrain(false);
    console.log();
    await routingDrain(true);
  }
  agent.destroy();
} catch (e) {
  process.stderr.write(`bench/agents.mjs ${phase}: ${e.stack ?? e}\n`);
  process.exit(1);
}
