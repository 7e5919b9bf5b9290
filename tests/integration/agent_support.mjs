// Agents for black-box tests: a user created through the admin API, signed in, with a real
// WebSocket event stream (npm `ws`) whose frames are recorded and awaited.
import WebSocket from 'ws';
import { uid, waitFor } from './harness.mjs';

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
    ws.on('message', (data) => this.frames.push(JSON.parse(data.toString())));
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
