// `parley client webchat` as a black box: a real parley server with the echo bot, the webchat as
// its client webhook, the page's API driven with fetch and its event stream read with `ws`.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import WebSocket from 'ws';
import { sign, uid, waitFor } from './harness.mjs';
import { startWebchat, startWebchatFixture } from './webchat_support.mjs';

let fx;

before(async () => {
  fx = await startWebchatFixture({ bot: 'echo' });
});

after(() => fx?.close());

// A WebSocket on the webchat's /api/events that collects the frames it receives.
function openEvents(customerId, { after = 0, headers } = {}) {
  const url = `${fx.webchat.url.replace('http', 'ws')}/api/events?customer_id=${encodeURIComponent(customerId)}&after=${after}`;
  const ws = new WebSocket(url, { headers });
  const frames = [];
  const state = { ws, frames, closed: null };
  ws.on('message', (data) => frames.push(JSON.parse(data.toString())));
  ws.on('close', (code, reason) => {
    state.closed = { code, reason: reason.toString() };
  });
  state.opened = new Promise((resolve, reject) => {
    ws.once('open', resolve);
    ws.once('error', reject);
    ws.once('unexpected-response', (_req, res) => reject(new Error(`HTTP ${res.statusCode}`)));
  });
  return state;
}

async function api(path, body, { contentType = 'application/json' } = {}) {
  const r = await fetch(`${fx.webchat.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': contentType },
    body: typeof body === 'string' ? body : JSON.stringify(body),
    signal: AbortSignal.timeout(15000),
  });
  const text = await r.text();
  let json = null;
  try {
    json = JSON.parse(text);
  } catch {
    // asserted on by callers
  }
  return { status: r.status, json, text, headers: r.headers };
}

function webhook(body, headers) {
  return fetch(`${fx.webchat.url}/webhook`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(15000),
  });
}

// Parley's texts (the customer's own side is in the backlog too, as from "customer").
const texts = (frames) => frames.filter((f) => f.event.type === 'text' && f.event.from !== 'customer').map((f) => f.event.text.join('\n'));
const mine = (frames) => frames.filter((f) => f.event.from === 'customer');

test('the webchat prints one line on stdout: webchat on http://127.0.0.1:PORT', () => {
  assert.match(fx.webchat.url, /^http:\/\/127\.0\.0\.1:\d+$/);
  assert.deepEqual(fx.webchat.stdoutLines, [`webchat on ${fx.webchat.url}`]);
});

test('a sent text reaches Parley signed and the bot reply comes back over the WebSocket', async () => {
  const customer = `c-${uid()}`;
  const events = openEvents(customer);
  await events.opened;
  const r = await api('/api/send', { customer_id: customer, customer_name: 'Ada', text: 'hello webchat' });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.status, 'accepted');
  assert.equal(typeof r.json.message_id, 'string');
  await waitFor(() => texts(events.frames).includes('hello webchat'), { message: 'the echo frame' });
  // The customer's own message comes first, kept for the page's reloads, with its time.
  const own = events.frames[0];
  assert.equal(own.n, 1);
  assert.deepEqual(own.event, { type: 'text', from: 'customer', message_id: r.json.message_id, text: ['hello webchat'] });
  assert.ok(Math.abs(own.at - Date.now()) < 60000, `at ${own.at}`);
  const frame = events.frames.find((f) => f.event.type === 'text' && f.event.from !== 'customer');
  assert.equal(frame.n, 2);
  assert.equal(typeof frame.at, 'number');
  assert.equal(frame.event.customer_id, customer);
  assert.equal(frame.event.from, 'bot');
  assert.equal(frame.event.seq, 1);
  assert.equal(typeof frame.event.event_id, 'string');
  // Parley saw the customer's name: the conversation is there, under this connection.
  const convs = await fx.server.conversationsOf(fx.conn, customer);
  assert.equal(convs.length, 1);
  events.ws.close();
});

test('a page that reconnects with ?after=N gets only what it missed, in order', async () => {
  const customer = `c-${uid()}`;
  const first = openEvents(customer);
  await first.opened;
  for (const line of ['one', 'two', 'three']) {
    const r = await api('/api/send', { customer_id: customer, text: line });
    assert.equal(r.status, 200, r.text);
  }
  await waitFor(() => texts(first.frames).length === 3, { message: 'three echoes' });
  assert.deepEqual(
    first.frames.map((f) => f.n),
    [1, 2, 3, 4, 5, 6],
  );
  assert.deepEqual(mine(first.frames).map((f) => f.event.text[0]), ['one', 'two', 'three']);
  first.ws.close();
  const again = openEvents(customer, { after: 2 });
  await again.opened;
  await waitFor(() => again.frames.length === 4, { message: 'the backlog after 2' });
  assert.deepEqual(again.frames, first.frames.slice(2));
  again.ws.close();
});

test('a forged webhook call is refused with 401 and pushes nothing', async () => {
  const customer = `c-${uid()}`;
  const events = openEvents(customer);
  await events.opened;
  const event = { type: 'text', customer_id: customer, event_id: uid(), seq: 1, from: 'bot', text: ['forged'] };
  const noAuth = await webhook(event, { connection_id: fx.conn.connection_id });
  assert.equal(noAuth.status, 401);
  const wrongSecret = await webhook(event, {
    authorization: `Bearer ${sign(fx.conn, {}, {}, 'not-the-secret-not-the-secret-0000')}`,
    connection_id: fx.conn.connection_id,
  });
  assert.equal(wrongSecret.status, 401);
  const old = await webhook(event, {
    authorization: `Bearer ${sign(fx.conn, { iat: Math.floor(Date.now() / 1000) - 3600 })}`,
    connection_id: fx.conn.connection_id,
  });
  assert.equal(old.status, 401);
  const otherIssuer = await webhook(event, {
    authorization: `Bearer ${sign({ connection_id: uid(), jwt_secret: fx.conn.jwt_secret })}`,
  });
  assert.equal(otherIssuer.status, 401);
  const noHeader = await webhook(event, { authorization: `Bearer ${sign(fx.conn)}` });
  assert.equal(noHeader.status, 401, 'the connection_id header is required');
  const mismatch = await webhook(event, { authorization: `Bearer ${sign(fx.conn)}`, connection_id: uid() });
  assert.equal(mismatch.status, 401, 'the connection_id header must equal iss');
  const noneAlg = `${Buffer.from('{"alg":"none","typ":"JWT"}').toString('base64url')}.${Buffer.from(
    JSON.stringify({ iss: fx.conn.connection_id, iat: Math.floor(Date.now() / 1000) }),
  ).toString('base64url')}.`;
  const unsigned = await webhook(event, { authorization: `Bearer ${noneAlg}`, connection_id: fx.conn.connection_id });
  assert.equal(unsigned.status, 401, 'alg none is refused');
  // A properly signed call gets through: the refusals above were about the token alone.
  const good = await webhook(event, {
    authorization: `Bearer ${sign(fx.conn)}`,
    connection_id: fx.conn.connection_id,
  });
  assert.equal(good.status, 200);
  await waitFor(() => events.frames.length === 1, { message: 'the genuine event' });
  assert.deepEqual(texts(events.frames), ['forged']);
  events.ws.close();
});

test('a repeated event_id is answered 200 and shown once', async () => {
  const customer = `c-${uid()}`;
  const events = openEvents(customer);
  await events.opened;
  const headers = () => ({ authorization: `Bearer ${sign(fx.conn)}`, connection_id: fx.conn.connection_id });
  const event = { type: 'text', customer_id: customer, event_id: uid(), seq: 1, from: 'bot', text: ['once'] };
  assert.equal((await webhook(event, headers())).status, 200);
  assert.equal((await webhook(event, headers())).status, 200);
  const next = { ...event, event_id: uid(), seq: 2, text: ['twice'] };
  assert.equal((await webhook(next, headers())).status, 200);
  await waitFor(() => events.frames.length >= 2, { message: 'two frames' });
  assert.deepEqual(texts(events.frames), ['once', 'twice']);
  events.ws.close();
});

test('typing and end are relayed; a menu postback is accepted', async () => {
  const customer = `c-${uid()}`;
  assert.equal((await api('/api/send', { customer_id: customer, text: 'hi' })).status, 200);
  const typing = await api('/api/typing', { customer_id: customer });
  assert.equal(typing.status, 200, typing.text);
  const postback = await api('/api/send', { customer_id: customer, text: 'Opening hours', postback: 'intent:opening_hours' });
  assert.equal(postback.status, 200, postback.text);
  const end = await api('/api/end', { customer_id: customer });
  assert.equal(end.status, 200, end.text);
  await waitFor(async () => (await fx.server.conversationsOf(fx.conn, customer)).every((c) => c.state !== 'open'), {
    message: 'the conversation ended',
  });
});

test('bad page requests get readable 4xx errors', async () => {
  const noCustomer = await api('/api/send', { text: 'x' });
  assert.equal(noCustomer.status, 400);
  assert.equal(noCustomer.json.error.code, 'invalid_customer_id');
  const notJson = await api('/api/send', 'customer_id=x', { contentType: 'application/x-www-form-urlencoded' });
  assert.equal(notJson.status, 415);
  const empty = await api('/api/send', { customer_id: 'c' });
  assert.equal(empty.status, 400);
  assert.match(empty.json.error.message, /text/);
  const long = await api('/api/send', { customer_id: 'c', text: 'x'.repeat(5000) });
  assert.equal(long.status, 400);
});

test("Parley's refusal is passed on to the page as a readable error", async () => {
  const wrong = await startWebchat({ parleyUrl: fx.server.url, conn: fx.conn, secret: 'wrong-secret-wrong-secret-wrong-secret' });
  try {
    const r = await fetch(`${wrong.url}/api/send`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ customer_id: `c-${uid()}`, text: 'hi' }),
    });
    const body = await r.json();
    assert.equal(r.status, 401);
    assert.equal(body.error.code, 'parley_refused');
    assert.match(body.error.message, /HTTP 401/);
    // The page's own message is kept, and marked as not sent, for a reload to show.
    const customer = `c-${uid()}`;
    const sent = await fetch(`${wrong.url}/api/send`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ customer_id: customer, text: 'lost', message_id: 'm-lost-1' }),
    });
    assert.equal(sent.status, 401);
    const ws = new WebSocket(`${wrong.url.replace('http', 'ws')}/api/events?customer_id=${customer}&after=0`);
    const frames = [];
    ws.on('message', (d) => frames.push(JSON.parse(d.toString())));
    await waitFor(() => frames.length === 2, { message: 'the message and its failure' });
    ws.close();
    assert.deepEqual(frames.map((f) => f.event), [
      { type: 'text', from: 'customer', message_id: 'm-lost-1', text: ['lost'] },
      { type: 'send_failed', from: 'customer', message_id: 'm-lost-1' },
    ]);
  } finally {
    await wrong.stop();
  }
});

test('the page is served at / with its security headers; HEAD works; a plain GET of /api/events is 426', async () => {
  const page = await fetch(`${fx.webchat.url}/`);
  assert.equal(page.status, 200);
  assert.match(page.headers.get('content-type'), /^text\/html/);
  assert.match(page.headers.get('content-security-policy'), /script-src 'self'/);
  assert.equal(page.headers.get('x-content-type-options'), 'nosniff');
  const html = await page.text();
  assert.match(html, /<script type="module" src="\/main.js"><\/script>/);
  assert.doesNotMatch(html, /<script>|style=/, 'no inline script or style');
  const js = await fetch(`${fx.webchat.url}/main.js`);
  assert.match(js.headers.get('content-type'), /^text\/javascript/);
  const etag = js.headers.get('etag');
  assert.ok(etag);
  await js.text();
  const cached = await fetch(`${fx.webchat.url}/main.js`, { headers: { 'if-none-match': etag } });
  assert.equal(cached.status, 304);
  const head = await fetch(`${fx.webchat.url}/style.css`, { method: 'HEAD' });
  assert.equal(head.status, 200);
  assert.ok(Number(head.headers.get('content-length')) > 100);
  assert.equal(await head.text(), '');
  const plain = await fetch(`${fx.webchat.url}/api/events?customer_id=x`);
  assert.equal(plain.status, 426);
  assert.equal((await plain.json()).error.code, 'upgrade_required');
});

test('an events socket from another origin is refused with 403', async () => {
  const events = openEvents(`c-${uid()}`, { headers: { origin: 'http://evil.example' } });
  await assert.rejects(events.opened, /HTTP 403/);
});

test('parley serve redirects / to /manager/ and serves the compiled-in pages', async () => {
  const root = await fetch(`${fx.server.url}/`, { redirect: 'manual' });
  assert.equal(root.status, 302);
  assert.equal(root.headers.get('location'), '/manager/');
  const manager = await fetch(`${fx.server.url}/manager/`);
  assert.equal(manager.status, 200);
  assert.match(manager.headers.get('content-type'), /^text\/html/);
  assert.match(manager.headers.get('content-security-policy'), /frame-ancestors 'none'/);
  const chat = await fetch(`${fx.server.url}/chat/index.html`);
  assert.equal(chat.status, 404, 'the webchat page is not part of parley serve');
});

test('SIGTERM closes open event sockets with 1001 and the webchat exits 0 promptly', async () => {
  const own = await startWebchat({ parleyUrl: fx.server.url, conn: fx.conn });
  const url = `${own.url.replace('http', 'ws')}/api/events?customer_id=c-${uid()}`;
  const ws = new WebSocket(url);
  await new Promise((resolve, reject) => {
    ws.once('open', resolve);
    ws.once('error', reject);
  });
  const closed = new Promise((resolve) => ws.once('close', (code) => resolve(code)));
  const r = await own.stop();
  assert.equal(r.code, 0);
  assert.ok(r.ms < 5000, `took ${r.ms} ms`);
  assert.equal(await closed, 1001);
});
