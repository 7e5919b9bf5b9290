// Agents for black-box tests: a user created through the admin API, signed in, with a real
// WebSocket event stream (npm `ws`) whose frames are recorded and awaited.
import fs from 'node:fs';
import path from 'node:path';
import WebSocket from 'ws';
import { liveEventViolation, reportViolation } from './openapi.mjs';
import { REPO, Receiver, Server, makeTempDir, textEvent, uid, waitFor } from './harness.mjs';

export const PASSWORD = 'correct-horse-battery';

// Creates an agent user (or admin) and signs in; returns an Agent.
export async function createAgent(server, { username = `a${uid().slice(0, 8)}`, display_name, role = 'agent', queues = ['default'], max_chats = 3 } = {}) {
  const r = await server.admin('POST', '/api/v1/users', {
    username,
    password: PASSWORD,
    display_name: display_name ?? `Agent ${username}`,
    role,
    queues,
    max_chats,
  });
  if (r.status !== 201) throw new Error(`create user ${username}: ${r.status} ${r.text}`);
  const agent = new Agent(server, username, r.json.display_name);
  await agent.login();
  return agent;
}

export class Agent {
  constructor(server, username, displayName) {
    this.server = server;
    this.username = username;
    this.displayName = displayName;
    this.frames = [];
    this.ws = null;
  }

  async login(password = PASSWORD) {
    const r = await this.server.request('POST', '/api/v1/auth/login', {
      headers: { 'content-type': 'application/json' },
      body: { username: this.username, password },
    });
    if (r.status !== 200) throw new Error(`login ${this.username}: ${r.status} ${r.text}`);
    this.token = r.json.token;
    this.csrf = r.json.csrf;
    return r;
  }

  // An API call with the bearer token.
  async api(method, pathname, body) {
    const headers = { authorization: `Bearer ${this.token}` };
    if (body !== undefined) headers['content-type'] = 'application/json';
    return this.server.request(method, pathname, { headers, body });
  }

  async ok(method, pathname, body, status = 200) {
    const r = await this.api(method, pathname, body);
    if (r.status !== status) throw new Error(`${method} ${pathname}: ${r.status} ${r.text}`);
    return r.json;
  }

  async available() {
    return this.ok('PUT', '/api/v1/agents/me/status', { status: 'available' });
  }

  // Opens the event stream (after: resume point). Resolves once the socket is open.
  async connect({ after } = {}) {
    const q = after === undefined ? '' : `?after=${after}`;
    const url = `${this.server.url.replace('http', 'ws')}/api/v1/events${q}`;
    const ws = new WebSocket(url, { headers: { authorization: `Bearer ${this.token}` } });
    this.ws = ws;
    ws.on('message', (data) => {
      const frame = JSON.parse(data.toString());
      const violation = liveEventViolation(frame);
      if (violation) reportViolation(`${this.username}: ${violation}`);
      this.frames.push(frame);
    });
    await new Promise((resolve, reject) => {
      ws.once('open', resolve);
      ws.once('error', reject);
      ws.once('unexpected-response', (_req, res) => reject(new Error(`upgrade refused: ${res.statusCode}`)));
    });
    return ws;
  }

  async disconnect() {
    if (!this.ws) return;
    const ws = this.ws;
    this.ws = null;
    if (ws.readyState === WebSocket.CLOSED) return;
    const closed = new Promise((resolve) => ws.once('close', resolve));
    ws.close();
    await closed;
  }

  // The server records an opened stream just after the handshake: waits until it counts
  // this agent as signed in (not offline).
  async signedIn() {
    await waitFor(async () => (await this.ok('GET', '/api/v1/agents/me')).status !== 'offline', {
      timeout: 5000,
      message: `${this.username} signed in`,
    });
  }

  lastSeq() {
    return this.frames.reduce((m, f) => (typeof f.seq === 'number' && f.seq > m ? f.seq : m), 0);
  }

  // The first recorded frame (from index `from`) matching `pred`, waited for.
  async event(pred, { from = 0, timeout = 10000, message = 'event' } = {}) {
    let found;
    await waitFor(
      () => {
        found = this.frames.slice(from).find(pred);
        return found !== undefined;
      },
      { timeout, message: `${this.username}: ${message}; got ${JSON.stringify(this.frames.map((f) => f.type))}` },
    );
    return found;
  }

  of(type, conversationId) {
    return (f) => f.type === type && (!conversationId || f.conversation?.id === conversationId);
  }
}

// A server with the bank bot, fast routing timers (any config key can be overridden through
// `settings`, written to a YAML config) and a receiver for two connections: one with the bank
// bot, one with no bot (customers go straight to queue "default").
export async function startRouting(settings = {}, { args = [] } = {}) {
  const dir = makeTempDir('parley-agents-');
  const config = path.join(dir, 'parley.yaml');
  const all = { offer_timeout_s: 30, agent_offline_after_s: 120, wait_time_interval_s: 0, ...settings };
  fs.writeFileSync(config, Object.entries(all).map(([k, v]) => `${k}: ${JSON.stringify(v)}`).join('\n') + '\n');
  const hook = await Receiver.start('agents');
  let server;
  try {
    server = await Server.start({ args: ['--bots', path.join(REPO, 'bots'), '--config', config, ...args] });
    const bank = await server.createConnection({ webhook: hook.url, bot: 'bank' });
    const direct = await server.createConnection({ webhook: hook.url, bot: 'none' });
    hook.trust(bank);
    hook.trust(direct);
    const close = async () => {
      try {
        await server.stop();
      } finally {
        await server.cleanup();
        await hook.close();
      }
    };
    return { server, hook, bank, direct, close };
  } catch (e) {
    await server?.cleanup();
    await hook.close();
    throw e;
  }
}

// The text lines delivered to one customer, each message's lines joined by a space.
export const textsTo = (hook, conn, customer) =>
  hook.deliveredTo(conn, customer).filter((e) => e.type === 'text').map((e) => e.text.join(' '));

// A bank-bot customer says hello, asks for a person and picks `queue` (cards or general).
export async function escalate(server, bank, customer, queue) {
  await server.send(bank, textEvent(customer, 'hello'));
  await server.send(bank, textEvent(customer, '', { text: [], postback: 'action:escalate' }));
  await server.send(bank, textEvent(customer, '', { text: [], postback: `queue:${queue}` }));
}

// An agent of `queues` with an open stream, available.
export async function readyAgent(server, opts = {}) {
  const agent = await createAgent(server, opts);
  await agent.connect();
  agent.ws.on('error', () => {}); // a stream the server drops is asserted on, not thrown
  await agent.signedIn();
  await agent.available();
  return agent;
}
