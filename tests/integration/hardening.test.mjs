// Issue 17 (hardening), through the real binary: access that ends when it should (a deleted
// user, a signed-out stream), sign-in throttling behind a trusted proxy, the https cookie,
// answers' headers, agents' links, weak passwords and the audit log.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import WebSocket from 'ws';
import { PASSWORD, createAgent, readyAgent, startRouting, textsTo } from './agent_support.mjs';
import { textEvent, uid, waitFor } from './harness.mjs';

const REQUEUE = 'Your agent had to leave; the next available agent will join you.';

// The close code of an agent's stream, once it closes.
function closeOf(ws) {
  return new Promise((resolve) => ws.once('close', (code) => resolve({ code, at: Date.now() })));
}

async function loginFrom(server, username, password, address) {
  return server.request('POST', '/api/v1/auth/login', {
    headers: { 'content-type': 'application/json', 'x-forwarded-for': address },
    body: { username, password },
  });
}

test('a deleted agent: chats back to the head of the queue, stream closed, name never reused', async () => {
  const env = await startRouting();
  try {
    const { server, hook, direct } = env;
    const username = `carol${uid().slice(0, 6)}`;
    const carol = await readyAgent(server, { username, display_name: 'Carol', queues: ['default'] });
    const customer = `del-${uid()}`;
    await server.send(direct, textEvent(customer, 'hi'));
    const offer = await carol.event(carol.of('conversation.offered'));
    const id = offer.conversation.id;
    await carol.ok('POST', `/api/v1/conversations/${id}/accept`);
    await waitFor(() => textsTo(hook, direct, customer).includes('You are now chatting with Carol.'));
    const closed = closeOf(carol.ws);

    const del = await server.admin('DELETE', `/api/v1/users/${username}`);
    assert.equal(del.status, 200, del.text);
    assert.equal((await closed).code, 1008, 'the deleted user\'s stream closes');
    await waitFor(() => textsTo(hook, direct, customer).includes(REQUEUE), { message: 'the customer is told' });
    const back = await server.conversation(id);
    assert.equal(back.state, 'queued', 'the chat is waiting again');
    assert.equal(back.agent ?? null, null);

    // The name is retired: a new "carol" cannot inherit the chat, transcript or event stream.
    const again = await server.admin('POST', '/api/v1/users', {
      username, password: PASSWORD, display_name: 'Carol 2', role: 'agent', queues: [],
    });
    assert.equal(again.status, 409, again.text);
    assert.equal(again.json.error.code, 'username_retired');
    assert.equal((await carol.api('GET', `/api/v1/conversations/${id}`)).status, 401);

    // The next agent of the queue gets it first.
    const dan = await readyAgent(server, { display_name: 'Dan', queues: ['default'] });
    const next = await dan.event(dan.of('conversation.offered'));
    assert.equal(next.conversation.id, id);
  } finally {
    await env.close();
  }
});

test('the event stream closes with 1008 within a second of sign-out', async () => {
  const env = await startRouting();
  try {
    const { server } = env;
    const ann = await readyAgent(server, { queues: ['default'] });
    const closed = closeOf(ann.ws);
    const t0 = Date.now();
    const out = await ann.api('POST', '/api/v1/auth/logout');
    assert.equal(out.status, 200, out.text);
    const { code, at } = await closed;
    assert.equal(code, 1008);
    assert.ok(at - t0 < 1000, `closed ${at - t0} ms after the sign-out`);
    // Another session of the same user keeps its stream.
    await ann.login();
    await ann.connect();
    const second = new WebSocket(`${server.url.replace('http', 'ws')}/api/v1/events`, {
      headers: { authorization: `Bearer ${ann.token}` },
    });
    await new Promise((resolve, reject) => {
      second.once('open', resolve);
      second.once('error', reject);
    });
    const firstToken = ann.token;
    await ann.login(); // a third session; signing it out leaves the first two open
    assert.equal((await ann.api('POST', '/api/v1/auth/logout')).status, 200);
    assert.equal(second.readyState, WebSocket.OPEN);
    assert.equal(ann.ws.readyState, WebSocket.OPEN);
    const both = Promise.all([closeOf(second), closeOf(ann.ws)]);
    ann.token = firstToken;
    assert.equal((await ann.api('POST', '/api/v1/auth/logout')).status, 200);
    const codes = (await both).map((c) => c.code);
    assert.deepEqual(codes, [1008, 1008]);
  } finally {
    await env.close();
  }
});

test('behind a trusted proxy a stranger cannot keep a user out; X-Forwarded-For is believed only from it', async () => {
  const env = await startRouting({ trusted_proxies: '127.0.0.1/32, ::1' });
  try {
    const { server } = env;
    const agent = await createAgent(server, { queues: [] });
    const statuses = [];
    for (let i = 0; i < 12; i++)
      statuses.push((await loginFrom(server, agent.username, `wrong-password-${i}`, '203.0.113.66')).status);
    assert.deepEqual(statuses.slice(0, 5), [401, 401, 401, 401, 401], 'five free failures');
    assert.ok(statuses.slice(5).every((s) => s === 429), `then a delay: ${statuses}`);
    const blocked = await loginFrom(server, agent.username, PASSWORD, '203.0.113.66');
    assert.equal(blocked.status, 429);
    assert.ok(Number(blocked.headers.get('retry-after')) >= 1);
    const real = await loginFrom(server, agent.username, PASSWORD, '198.51.100.7');
    assert.equal(real.status, 200, 'the user from their own address is not kept out');

    // The audit log shows the client's address from the trusted proxy's header.
    const made = await server.request('POST', '/api/v1/queues', {
      headers: { 'content-type': 'application/json', authorization: `Bearer ${server.adminToken}`, 'x-forwarded-for': '192.0.2.10, 127.0.0.1' },
      body: { name: `q${uid().slice(0, 6)}`, display_name: 'Audit' },
    });
    assert.equal(made.status, 201, made.text);
    const audit = await server.admin('GET', '/api/v1/audit?limit=5');
    assert.equal(audit.status, 200, audit.text);
    assert.equal(audit.json.entries[0].action, 'queue.create');
    assert.equal(audit.json.entries[0].address, '192.0.2.10');
  } finally {
    await env.close();
  }
});

test('an untrusted peer cannot choose its address with X-Forwarded-For', async () => {
  const env = await startRouting();
  try {
    const { server } = env;
    const made = await server.request('POST', '/api/v1/queues', {
      headers: { 'content-type': 'application/json', authorization: `Bearer ${server.adminToken}`, 'x-forwarded-for': '192.0.2.10' },
      body: { name: `q${uid().slice(0, 6)}`, display_name: 'Audit' },
    });
    assert.equal(made.status, 201, made.text);
    const audit = await server.admin('GET', '/api/v1/audit?limit=1');
    assert.equal(audit.json.entries[0].address, '127.0.0.1');
  } finally {
    await env.close();
  }
});

test('an https public URL in any case gives the Secure __Host- cookie', async () => {
  const env = await startRouting({ public_url: 'HTTPS://chat.example.com' });
  try {
    const { server } = env;
    const agent = await createAgent(server, { queues: [] });
    const r = await agent.login();
    const cookie = r.headers.get('set-cookie');
    assert.ok(cookie.startsWith(`__Host-parley_session=${r.json.token};`), cookie);
    assert.match(cookie, /; Secure/);
    assert.match(cookie, /; Path=\//);
    const me = await server.request('GET', '/api/v1/auth/me', { headers: { cookie: `__Host-parley_session=${r.json.token}` } });
    assert.equal(me.status, 200, me.text);
    const plain = await server.request('GET', '/api/v1/auth/me', { headers: { cookie: `parley_session=${r.json.token}` } });
    assert.equal(plain.status, 401, 'under https only the __Host- cookie is read');
  } finally {
    await env.close();
  }
});

test('answers are nosniff; those carrying a secret are no-store; weak passwords are refused', async () => {
  const env = await startRouting();
  try {
    const { server, hook } = env;
    for (const [method, path] of [['GET', '/api/v1/connections'], ['GET', '/api/v1/nothing-here'], ['GET', '/healthz']]) {
      const r = await server.admin(method, path);
      assert.equal(r.headers.get('x-content-type-options'), 'nosniff', `${method} ${path}`);
    }
    const created = await server.admin('POST', '/api/v1/connections', { name: `c-${uid()}`, client_webhook: hook.url });
    assert.equal(created.status, 201);
    assert.equal(created.headers.get('cache-control'), 'no-store');
    const id = created.json.connection_id;
    assert.equal((await server.admin('GET', `/api/v1/connections/${id}`)).headers.get('cache-control'), 'no-store');
    assert.equal((await server.admin('POST', `/api/v1/connections/${id}/rotate-secret`)).headers.get('cache-control'), 'no-store');

    for (const password of ['aaaaaaaaaaaa', '            ', '\t\t\t\t\t\t\t\t\t\t\t']) {
      const r = await server.admin('POST', '/api/v1/users', { username: `w${uid().slice(0, 6)}`, password, display_name: 'W', role: 'agent', queues: [] });
      assert.equal(r.status, 400, JSON.stringify(password));
      assert.equal(r.json.error.code, 'password_too_weak');
    }

    // The audit log holds who did what, never a secret or a password.
    const audit = await server.admin('GET', '/api/v1/audit');
    assert.equal(audit.status, 200);
    const actions = audit.json.entries.map((e) => e.action);
    for (const a of ['connection.create', 'connection.read_secret', 'connection.rotate_secret', 'user.create'])
      assert.ok(actions.includes(a), `${a} in ${actions}`);
    const text = JSON.stringify(audit.json);
    assert.ok(!text.includes(created.json.jwt_secret), 'no JWT secret in the audit log');
    assert.ok(!text.includes('aaaaaaaaaaaa'), 'no password in the audit log');
    const agent = await createAgent(server, { queues: [] });
    assert.equal((await agent.api('GET', '/api/v1/audit')).status, 403, 'agents cannot read it');
  } finally {
    await env.close();
  }
});

test('agents cannot send javascript: links', async () => {
  const env = await startRouting();
  try {
    const { server, hook, direct } = env;
    const ann = await readyAgent(server, { queues: ['default'] });
    const customer = `js-${uid()}`;
    await server.send(direct, textEvent(customer, 'hi'));
    const offer = await ann.event(ann.of('conversation.offered'));
    const id = offer.conversation.id;
    await ann.ok('POST', `/api/v1/conversations/${id}/accept`);
    const bodies = [
      { type: 'link_button', title: 't', label: 'l', url: 'javascript:alert(document.cookie)' },
      { type: 'link_button', title: 't', label: 'l', url: 'JAVASCRIPT:alert(1)' },
      { type: 'carousel', items: [{ title: 'x', buttons: [{ text: 'b', url: 'javascript:alert(1)' }] }] },
      { type: 'carousel', items: [{ title: 'x', image_url: 'data:text/html,<script>alert(1)</script>' }] },
    ];
    for (const body of bodies) {
      const r = await ann.api('POST', `/api/v1/conversations/${id}/messages`, body);
      assert.equal(r.status, 400, JSON.stringify(body));
      assert.equal(r.json.error.code, 'invalid_url');
    }
    await ann.ok('POST', `/api/v1/conversations/${id}/messages`, { type: 'link_button', title: 't', label: 'l', url: 'https://example.com/help' }, 202);
    await waitFor(() => hook.deliveredTo(direct, customer).some((e) => e.type === 'link_button'));
    assert.ok(!hook.deliveredTo(direct, customer).some((e) => JSON.stringify(e).toLowerCase().includes('javascript:')));
  } finally {
    await env.close();
  }
});
