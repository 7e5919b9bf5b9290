// Black-box test harness: starts the real `parley serve` binary on a free port with a fresh
// temporary database, talks to it over HTTP, and runs real webhook receivers that verify every
// token the way an integration layer built on jsonwebtoken does.
//
// Every child process and temporary directory is registered so that it is removed when the
// test process exits, whatever happened (a failed assertion, an exception, Ctrl-C).
// PARLEY_KEEP_TMP=1 keeps the directories (server.log and the database) for a post-mortem.
import { execFileSync, spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';
import jwt from 'jsonwebtoken';
import { checkAnswer, reportViolation, webhookViolation } from './openapi.mjs';

export { jwt };

export const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const BIN = path.resolve(process.env.PARLEY_BIN || path.join(REPO, 'build/parley'));
const KEEP_TMP = process.env.PARLEY_KEEP_TMP === '1';
// Longer under valgrind or a sanitizer build: PARLEY_START_DEADLINE_MS.
const START_DEADLINE_MS = Number(process.env.PARLEY_START_DEADLINE_MS || 20000);
const STOP_DEADLINE_MS = 10000;
const HTTP_TIMEOUT_MS = 15000;

// Children still running and directories still on disk, removed at exit.
const liveChildren = new Set();
const liveDirs = new Set();
process.on('exit', () => {
  for (const child of liveChildren) {
    try {
      child.kill('SIGKILL');
    } catch {
      // already gone
    }
  }
  for (const dir of liveDirs) {
    if (KEEP_TMP) process.stderr.write(`kept ${dir}\n`);
    else fs.rmSync(dir, { recursive: true, force: true });
  }
});
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.once(sig, () => process.exit(130));

export function makeTempDir(prefix = 'parley-it-') {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  liveDirs.add(dir);
  return dir;
}

export function removeTempDir(dir) {
  if (KEEP_TMP) return;
  fs.rmSync(dir, { recursive: true, force: true });
  liveDirs.delete(dir);
}

export const uid = () => crypto.randomUUID();
export const delay = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// Polls pred (sync or async) until it returns a truthy value, which is returned; throws with
// `message` (a string or a function giving one, for a diagnostic of the last state) after
// `timeout` ms.
export async function waitFor(pred, { timeout = 10000, interval = 20, message = 'condition' } = {}) {
  const end = Date.now() + timeout;
  let lastError;
  for (;;) {
    try {
      const v = await pred();
      if (v) return v;
    } catch (e) {
      lastError = e;
    }
    if (Date.now() >= end) break;
    await delay(interval);
  }
  const what = typeof message === 'function' ? message() : message;
  throw new Error(
    `timed out after ${timeout} ms waiting for ${what}` + (lastError ? ` (last error: ${lastError})` : ''),
  );
}

// A token exactly as the dms-client-channel helper makes it: sign({iss}, secret, HS256).
export function sign(conn, claims = {}, opts = {}, secret = conn.jwt_secret) {
  return jwt.sign({ iss: conn.connection_id, ...claims }, secret, { algorithm: 'HS256', ...opts });
}

export function textEvent(customer_id, line, extra = {}) {
  return {
    type: 'text',
    customer_id,
    customer_name: 'Test Customer',
    message_id: uid(),
    text: Array.isArray(line) ? line : [line],
    ...extra,
  };
}

async function httpRequest(url, { method = 'GET', headers = {}, body, timeout = HTTP_TIMEOUT_MS } = {}) {
  const r = await fetch(url, { method, headers, body, signal: AbortSignal.timeout(timeout) });
  const text = await r.text();
  let json = null;
  try {
    json = text ? JSON.parse(text) : null;
  } catch {
    // not JSON: callers assert on it
  }
  // Every answer must match the OpenAPI document (openapi.mjs); a mismatch fails the test.
  checkAnswer({ method, url, status: r.status, contentType: r.headers.get('content-type'), json, text });
  return { status: r.status, headers: r.headers, json, text };
}

export class Server {
  // args: extra `serve` flags; insecure: pass --allow-insecure-webhooks (the receivers are
  // http://127.0.0.1); env: extra environment.
  constructor({ args = [], insecure = true, env = {} } = {}) {
    this.dir = makeTempDir();
    this.dbPath = path.join(this.dir, 'parley.db');
    this.database = `sqlite://${this.dbPath}`;
    // PARLEY_TEST_STORE=postgres (under scripts/test-postgres, which sets PARLEY_TEST_PG) runs
    // the server on a schema of its own on that PostgreSQL server instead of a SQLite file.
    if (process.env.PARLEY_TEST_STORE === 'postgres') {
      const base = process.env.PARLEY_TEST_PG;
      if (!base) throw new Error('PARLEY_TEST_STORE=postgres needs PARLEY_TEST_PG (scripts/test-postgres)');
      const schema = `bb_${crypto.randomBytes(6).toString('hex')}`;
      execFileSync('psql', [base, '-qXc', `CREATE SCHEMA ${schema}`]);
      this.database = `${base}?options=-c%20search_path%3D${schema}`;
    }
    this.logPath = path.join(this.dir, 'server.log');
    this.adminToken = crypto.randomBytes(24).toString('base64url');
    this.args = args;
    this.insecure = insecure;
    this.env = env;
    // A PostgreSQL node needs the master key from outside (docs/operations-multinode.md); the
    // same one on every start of this server.
    if (process.env.PARLEY_TEST_STORE === 'postgres' && !this.env.PARLEY_MASTER_KEY) {
      this.env = { ...env, PARLEY_MASTER_KEY: crypto.randomBytes(32).toString('hex') };
    }
    this.child = null;
    this.url = null;
    this.port = null;
    this.logTail = [];
    this.stdoutLines = [];
  }

  static async start(opts) {
    const s = new Server(opts);
    await s.start();
    return s;
  }

  get running() {
    return this.child !== null;
  }

  // Starts (or restarts, on the same database) and resolves once the server printed its
  // `listening on` line.
  async start() {
    if (this.child) throw new Error('server already running');
    if (!fs.existsSync(BIN)) throw new Error(`${BIN} does not exist: run \`make build\` or set PARLEY_BIN`);
    const argv = ['serve', '--listen', '127.0.0.1:0', '--database', this.database];
    if (this.insecure) argv.push('--allow-insecure-webhooks');
    argv.push(...this.args);
    const log = fs.createWriteStream(this.logPath, { flags: 'a' });
    log.write(`--- start ${new Date().toISOString()}: ${BIN} ${argv.join(' ')}\n`);
    const child = spawn(BIN, argv, {
      env: { ...process.env, PARLEY_ADMIN_TOKEN: this.adminToken, ...this.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child = child;
    liveChildren.add(child);
    this.exited = new Promise((resolve) => {
      child.on('error', (err) => {
        // a failed spawn leaves its pipes open, which would keep the test process alive
        child.stdout?.destroy();
        child.stderr?.destroy();
        liveChildren.delete(child);
        resolve({ code: null, signal: null, error: err });
      });
      child.on('exit', (code, signal) => {
        liveChildren.delete(child);
        resolve({ code, signal });
      });
    });
    child.stderr.on('data', (chunk) => {
      log.write(chunk);
      for (const line of chunk.toString().split('\n')) if (line) this.logTail.push(line);
      if (this.logTail.length > 300) this.logTail.splice(0, this.logTail.length - 300);
    });
    this.exited.then(() => log.end());
    const listening = new Promise((resolve) => {
      readline.createInterface({ input: child.stdout }).on('line', (line) => {
        this.stdoutLines.push(line);
        const m = /^listening on (http:\/\/\S+?)\/?$/.exec(line.trim());
        if (m) resolve(m[1]);
      });
    });
    let timer;
    const deadline = new Promise((resolve) => {
      timer = setTimeout(() => resolve('deadline'), START_DEADLINE_MS);
    });
    const first = await Promise.race([listening, this.exited, deadline]);
    clearTimeout(timer);
    if (typeof first === 'string' && first !== 'deadline') {
      this.url = first;
      this.port = Number(new URL(first).port);
      return this;
    }
    if (first === 'deadline') {
      child.kill('SIGKILL');
      await this.exited;
      this.child = null;
      throw new Error(`parley did not print "listening on" within ${START_DEADLINE_MS} ms\n${this.tail()}`);
    }
    this.child = null;
    throw new Error(
      `parley exited before listening (code ${first.code}, signal ${first.signal}${first.error ? `, ${first.error}` : ''})\n${this.tail()}`,
    );
  }

  tail(n = 40) {
    return `--- server stderr (last ${n} lines, full log ${this.logPath}):\n${this.logTail.slice(-n).join('\n')}`;
  }

  // SIGTERM and wait for the exit; throws unless it exits 0 within 10 s.
  async stop() {
    if (!this.child) return null;
    const child = this.child;
    const t0 = Date.now();
    child.kill('SIGTERM');
    let timer;
    const deadline = new Promise((resolve) => {
      timer = setTimeout(() => resolve('deadline'), STOP_DEADLINE_MS);
    });
    const r = await Promise.race([this.exited, deadline]);
    clearTimeout(timer);
    this.child = null;
    if (r === 'deadline') {
      child.kill('SIGKILL');
      await this.exited;
      throw new Error(`parley did not exit within ${STOP_DEADLINE_MS} ms of SIGTERM\n${this.tail()}`);
    }
    const ms = Date.now() - t0;
    if (r.code !== 0) {
      throw new Error(`parley exited with code ${r.code} signal ${r.signal} after SIGTERM\n${this.tail()}`);
    }
    return { ...r, ms };
  }

  async kill9() {
    if (!this.child) return;
    this.child.kill('SIGKILL');
    await this.exited;
    this.child = null;
  }

  async restart() {
    await this.stop();
    await this.start();
  }

  // Kills whatever still runs and removes the directory; safe to call twice.
  async cleanup() {
    await this.kill9();
    removeTempDir(this.dir);
  }

  // The body goes as bytes so that fetch adds no Content-Type of its own.
  async request(method, pathname, { headers = {}, body, raw, timeout } = {}) {
    const text = raw ?? (body === undefined ? undefined : JSON.stringify(body));
    return httpRequest(this.url + pathname, {
      method,
      headers,
      body: text === undefined ? undefined : Buffer.from(text),
      timeout,
    });
  }

  async admin(method, pathname, body, { token = this.adminToken } = {}) {
    const headers = { 'content-type': 'application/json' };
    if (token !== null) headers.authorization = `Bearer ${token}`;
    return this.request(method, pathname, { headers, body });
  }

  // Creates a connection and returns it (with its secret); throws unless 201.
  async createConnection({ name = `it-${uid()}`, webhook, bot = 'echo', queue } = {}) {
    const body = { name, client_webhook: webhook };
    if (bot !== undefined) body.bot = bot;
    if (queue !== undefined) body.queue = queue;
    const r = await this.admin('POST', '/api/v1/connections', body);
    if (r.status !== 201) throw new Error(`create connection: ${r.status} ${r.text}`);
    return r.json;
  }

  // POSTs one event to /messages as an integration layer does. token: a ready token (''
  // sends no Authorization header); secret: sign with this secret instead of the connection's.
  async post(conn, body, { token, secret, headers = {}, raw, contentType = 'application/json', timeout } = {}) {
    const h = { connection_id: conn.connection_id };
    if (contentType !== null) h['content-type'] = contentType;
    const tok = token ?? sign(conn, {}, {}, secret ?? conn.jwt_secret);
    if (tok !== '') h.authorization = `Bearer ${tok}`;
    Object.assign(h, headers);
    for (const [k, v] of Object.entries(h)) if (v === null) delete h[k];
    return this.request('POST', '/messages', {
      headers: h,
      raw: raw ?? JSON.stringify(body),
      timeout,
    });
  }

  // Posts and throws unless 200 {"status":"accepted"}.
  async send(conn, body) {
    const r = await this.post(conn, body);
    if (r.status !== 200 || r.json?.status !== 'accepted') {
      throw new Error(`POST /messages: ${r.status} ${r.text}`);
    }
    return r;
  }

  // The list is capped (100 by default, `limit` up to 1000): ask for the most.
  async conversations(state, { connectionId } = {}) {
    const params = new URLSearchParams({ limit: '1000' });
    if (state) params.set('state', state);
    if (connectionId) params.set('connection_id', connectionId);
    const q = `?${params}`;
    const r = await this.admin('GET', `/api/v1/conversations${q}`);
    if (r.status !== 200) throw new Error(`GET /api/v1/conversations${q}: ${r.status} ${r.text}`);
    return r.json.conversations;
  }

  async conversation(id) {
    const r = await this.admin('GET', `/api/v1/conversations/${id}`);
    if (r.status !== 200) throw new Error(`GET /api/v1/conversations/${id}: ${r.status} ${r.text}`);
    return r.json;
  }

  // Every conversation (any state) of one customer on one connection, oldest first.
  async conversationsOf(conn, customerId) {
    const all = await this.conversations(undefined, { connectionId: conn.connection_id });
    return all
      .filter((c) => c.connection_id === conn.connection_id && c.customer_id === String(customerId))
      .sort((a, b) => String(a.created_at).localeCompare(String(b.created_at)));
  }

  async deliveries(conn, status) {
    const q = `?limit=1000${status ? `&status=${status}` : ''}`;
    const r = await this.admin('GET', `/api/v1/connections/${conn.connection_id}/deliveries${q}`);
    if (r.status !== 200) throw new Error(`GET deliveries${q}: ${r.status} ${r.text}`);
    return r.json.deliveries;
  }
}

// The setup most black-box files share: a webhook Receiver named `receiver`, a Server started
// with `server` (Server's options: args, insecure, env), and `connections` connections to the
// receiver using `bot`, whose secrets the receiver trusts. Resolves with
// {server, hook, conn (the first connection), conns, close}. close() stops the server and throws,
// as Server.stop does, unless it exits 0 after SIGTERM; whatever happens it then removes the
// server's folder and closes the receiver. A start that fails halfway removes what it started
// before throwing. Typical use:
//   before(async () => ({ server, hook, conn } = fixture = await startFixture({ receiver: 'x' })));
//   after(() => fixture?.close());
export async function startFixture({ receiver = 'hook', server: serverOptions = {}, connections = 1, bot = 'echo' } = {}) {
  let hook;
  let server;
  try {
    hook = await Receiver.start(receiver);
    server = await Server.start(serverOptions);
    const conns = [];
    for (let i = 0; i < connections; i++) {
      const conn = await server.createConnection({ webhook: hook.url, bot });
      hook.trust(conn);
      conns.push(conn);
    }
    const close = async () => {
      try {
        await server.stop();
      } finally {
        await server.cleanup();
        await hook.close();
      }
    };
    return { server, hook, conn: conns[0], conns, close };
  } catch (e) {
    await server?.cleanup();
    await hook?.close();
    throw e;
  }
}

// A client webhook: verifies each request's token (HS256, maxAge 300, iss equal to the
// connection_id header) with the secret of the connection it was told about, records every
// attempt and answers as scripted.
//
// Scripting, first match wins: `plan` (a FIFO of actions for the next requests), then
// `policy(event, attempt)` (a function returning an action or undefined), then `mode`.
// An action is {status, delayMs?} | {close: true} (destroy the socket, no answer) |
// {hang: true} (never answer).
export class Receiver {
  constructor(name = 'receiver') {
    this.name = name;
    this.secrets = new Map(); // connection_id -> secret
    this.log = []; // {kind: 'arrive'|'ok'|'fail', key, seq, event_id, n, t}
    this.attempts = []; // every verified request: {event, key, t, outcome}
    this.rejected = []; // requests whose token or headers failed verification
    this.plan = [];
    this.policy = null;
    this.mode = { status: 200 };
    this.clockOffsetMs = 0; // the server's clock minus ours (serve --test-clock)
    this.sockets = new Set();
    this.counter = 0;
    this.port = 0;
    this.server = http.createServer((req, res) => this.handle(req, res));
    this.server.keepAliveTimeout = 30000;
    this.server.on('connection', (s) => {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
    });
  }

  static async start(name) {
    const r = new Receiver(name);
    await r.up();
    return r;
  }

  get url() {
    return `http://127.0.0.1:${this.port}/hook/${this.name}`;
  }

  trust(conn, secret = conn.jwt_secret) {
    this.secrets.set(conn.connection_id, secret);
  }

  failNext(n, action = { status: 500 }) {
    for (let i = 0; i < n; i++) this.plan.push(action);
  }

  // Listens (again, on the same port after down()).
  async up() {
    await new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(this.port, '127.0.0.1', () => {
        this.server.off('error', reject);
        resolve();
      });
    });
    this.port = this.server.address().port;
    this.isDown = false;
  }

  // Stops listening and drops every open connection: the server sees connection refused.
  async down() {
    this.isDown = true;
    const closed = new Promise((resolve) => this.server.close(() => resolve()));
    for (const s of this.sockets) s.destroy();
    await closed;
  }

  async close() {
    if (!this.server.listening) return;
    await this.down();
  }

  handle(req, res) {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString();
      const headers = req.headers;
      const connId = headers['connection_id'];
      const auth = headers.authorization || '';
      let claims;
      try {
        if (req.method !== 'POST') throw new Error(`method ${req.method}`);
        if (!/^application\/json\b/.test(headers['content-type'] || '')) {
          throw new Error(`content-type ${headers['content-type']}`);
        }
        if (!auth.startsWith('Bearer ')) throw new Error('no Bearer token');
        const secret = this.secrets.get(connId);
        if (!secret) throw new Error(`unknown connection_id header ${connId}`);
        const token = auth.slice(7);
        const decoded = jwt.decode(token, { complete: true });
        if (decoded?.header?.alg !== 'HS256' || decoded?.header?.typ !== 'JWT') {
          throw new Error(`token header ${JSON.stringify(decoded?.header)}`);
        }
        // A server whose clock a test moved (serve --test-clock) signs with its own now.
        const now = (Date.now() + this.clockOffsetMs) / 1000;
        claims = jwt.verify(token, secret, { algorithms: ['HS256'], maxAge: 300, clockTimestamp: Math.floor(now) });
        if (claims.iss !== connId) throw new Error(`iss ${claims.iss} != connection_id ${connId}`);
        if (typeof claims.iat !== 'number' || Math.abs(claims.iat - now) > 30) {
          throw new Error(`iat ${claims.iat} is not now`);
        }
      } catch (e) {
        this.rejected.push({ headers, body, error: String(e) });
        res.writeHead(401, { 'content-type': 'text/plain' }).end('unauthorized');
        return;
      }
      let event;
      try {
        event = JSON.parse(body);
      } catch (e) {
        this.rejected.push({ headers, body, error: `body is not JSON: ${e}` });
        res.writeHead(400).end('bad json');
        return;
      }
      const violation = webhookViolation(event);
      if (violation) reportViolation(`${this.name}: ${violation}`);
      const key = `${connId}|${event.customer_id}`;
      const attempt = { event, key, connId, claims, token: auth.slice(7), t: Date.now(), outcome: 'pending' };
      this.attempts.push(attempt);
      this.log.push({ kind: 'arrive', key, seq: event.seq, event_id: event.event_id, n: this.counter++ });
      const action = this.plan.shift() ?? this.policy?.(event, attempt) ?? this.mode;
      this.answer(req, res, attempt, action);
    });
  }

  answer(req, res, attempt, action) {
    const finish = () => {
      if (action.hang) return;
      if (action.close || res.socket?.destroyed || !res.socket) {
        attempt.outcome = action.close ? 'closed' : 'aborted';
        req.socket.destroy();
        return;
      }
      const status = action.status ?? 200;
      const ok = status >= 200 && status < 300;
      attempt.outcome = ok ? 'ok' : `status ${status}`;
      attempt.answeredAt = Date.now();
      this.log.push({
        kind: ok ? 'ok' : 'fail',
        key: attempt.key,
        seq: attempt.event.seq,
        event_id: attempt.event.event_id,
        n: this.counter++,
      });
      res.writeHead(status, { 'content-type': 'text/plain' }).end(ok ? 'success' : 'try again');
    };
    if (action.delayMs) {
      attempt.outcome = 'waiting';
      setTimeout(finish, action.delayMs);
    } else {
      finish();
    }
  }

  // Events answered 2xx, in arrival order; `filter` narrows them.
  delivered(filter = () => true) {
    return this.attempts.filter((a) => a.outcome === 'ok' && filter(a.event)).map((a) => a.event);
  }

  // Delivered events of one customer of one connection.
  deliveredTo(conn, customerId) {
    const key = `${conn.connection_id}|${customerId}`;
    return this.attempts.filter((a) => a.outcome === 'ok' && a.key === key).map((a) => a.event);
  }

  attemptsFor(conn, customerId) {
    const key = `${conn.connection_id}|${customerId}`;
    return this.attempts.filter((a) => a.key === key);
  }

  // Checks the ordering promise of PROTOCOL.md §4 on everything this receiver saw, per
  // (connection, customer) — so use one conversation per customer. Returns a list of
  // violations (empty when all is well):
  // - an event with seq n+1 arrived before event n was answered 2xx;
  // - with exactlyOnce, an event arrived again after it had been answered 2xx;
  // - one seq carried two event_ids, or one event_id two seqs.
  orderViolations({ exactlyOnce = true } = {}) {
    const out = [];
    const next = new Map();
    const idOfSeq = new Map();
    const seqOfId = new Map();
    for (const e of this.log) {
      const want = next.get(e.key) ?? 1;
      const sk = `${e.key}#${e.seq}`;
      if (idOfSeq.has(sk) && idOfSeq.get(sk) !== e.event_id) {
        out.push(`${e.key}: seq ${e.seq} carried event_ids ${idOfSeq.get(sk)} and ${e.event_id}`);
      }
      idOfSeq.set(sk, e.event_id);
      if (seqOfId.has(e.event_id) && seqOfId.get(e.event_id) !== e.seq) {
        out.push(`${e.key}: event_id ${e.event_id} carried seqs ${seqOfId.get(e.event_id)} and ${e.seq}`);
      }
      seqOfId.set(e.event_id, e.seq);
      if (e.kind === 'arrive') {
        if (!Number.isInteger(e.seq) || e.seq < 1) out.push(`${e.key}: bad seq ${e.seq}`);
        else if (e.seq > want) out.push(`${e.key}: seq ${e.seq} attempted before seq ${want} was delivered`);
        else if (e.seq < want && exactlyOnce) out.push(`${e.key}: seq ${e.seq} sent again after it was delivered`);
      } else if (e.kind === 'ok' && e.seq === want) {
        next.set(e.key, want + 1);
      }
    }
    return out;
  }
}

// Asserts that the delivered events of a customer carry seq 1..n exactly once and in order
// (duplicates tolerated with allowDuplicates, counting first arrivals only).
export function seqsOf(events, { allowDuplicates = false } = {}) {
  const seen = new Set();
  const seqs = [];
  for (const e of events) {
    if (seen.has(e.event_id) && allowDuplicates) continue;
    seen.add(e.event_id);
    seqs.push(e.seq);
  }
  return seqs;
}

export const range = (n, from = 1) => Array.from({ length: n }, (_, i) => i + from);

// A raw TCP client for requests fetch cannot make (half headers, stalled bodies).
export function rawConnect(port) {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1', () => resolve(s));
    s.once('error', reject);
  });
}

// Resolves with how long it took until the peer closed the socket (or rejects after
// `timeout` ms). Data received is collected in socket.received.
export function waitClosed(socket, timeout = 10000) {
  const t0 = Date.now();
  socket.received = socket.received ?? '';
  socket.on('data', (d) => (socket.received += d.toString()));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`socket still open after ${timeout} ms`)), timeout);
    const done = () => {
      clearTimeout(timer);
      resolve(Date.now() - t0);
    };
    if (socket.destroyed || socket.readableEnded) return done();
    socket.once('close', done);
    socket.on('error', () => {});
  });
}

// Runs the parley CLI to completion; resolves {code, stdout, stderr}.
export function runCli(args, { env = {}, timeout = 15000 } = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(BIN, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    liveChildren.add(child);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeout);
    child.on('error', (e) => {
      clearTimeout(timer);
      liveChildren.delete(child);
      reject(e);
    });
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      liveChildren.delete(child);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

// Starts a long-running parley CLI process (e.g. `client listen`); the caller kills it.
export function spawnCli(args, { env = {} } = {}) {
  const child = spawn(BIN, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  liveChildren.add(child);
  child.on('exit', () => liveChildren.delete(child));
  return child;
}

// A TCP port free on the loopback address right now (for servers the tests start themselves:
// PostgreSQL, nginx).
export function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}
