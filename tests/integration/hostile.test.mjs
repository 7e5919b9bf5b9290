// Hostile load against the real binary (issue 17): 10,000 idle sockets, JSON nested 10,000 deep,
// a 100,000-item array, a WebSocket client that never reads, a webhook that answers 1 GiB or
// never ends its body. Each case asserts that the server refuses or cuts off the hostile party
// and keeps serving everyone else; the server's peak memory (VmHWM) is printed as a figure for
// docs/performance.md, not asserted.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import { test } from 'node:test';
import WebSocket from 'ws';
import { readyAgent, startRouting } from './agent_support.mjs';
import { Receiver, startFixture, textEvent, uid, waitFor } from './harness.mjs';

function memoryOf(server) {
  const status = fs.readFileSync(`/proc/${server.child.pid}/status`, 'utf8');
  const kb = (name) => Number((new RegExp(`^${name}:\\s+(\\d+)`, 'm').exec(status) || [])[1] || 0);
  return { rss_mb: Math.round(kb('VmRSS') / 1024), peak_mb: Math.round(kb('VmHWM') / 1024) };
}

function figure(name, values) {
  console.log(`# hostile ${name}: ${JSON.stringify(values)}`);
}

test('JSON nested 10,000 deep and a 100,000-item array are refused; the server keeps serving', async () => {
  const fixture = await startFixture({ receiver: 'hostile-json' });
  try {
    const { server, hook, conn } = fixture;
    const before = memoryOf(server);
    const deep = '['.repeat(10000) + ']'.repeat(10000);
    const nestedText = `{"type":"text","customer_id":"c","message_id":"m","text":${deep}}`;
    let t0 = Date.now();
    const r1 = await server.post(conn, null, { raw: nestedText });
    const deepMs = Date.now() - t0;
    assert.equal(r1.status, 400, r1.text);
    const r2 = await server.request('POST', '/api/v1/connections', {
      headers: { 'content-type': 'application/json', authorization: `Bearer ${server.adminToken}` },
      raw: deep,
    });
    assert.equal(r2.status, 400, r2.text);
    const items = `{"type":"text","customer_id":"c","message_id":"m2","text":[${Array(100000).fill('"x"').join(',')}]}`;
    t0 = Date.now();
    const r3 = await server.post(conn, null, { raw: items });
    const arrayMs = Date.now() - t0;
    assert.equal(r3.status, 413, 'over max_body_bytes');
    // Everyone else is served.
    const customer = `ok-${uid()}`;
    await server.send(conn, textEvent(customer, 'still here'));
    await waitFor(() => hook.deliveredTo(conn, customer).length > 0, { message: 'echo after the hostile bodies' });
    figure('json', { deep_ms: deepMs, array_ms: arrayMs, array_bytes: items.length, before, after: memoryOf(server) });
  } finally {
    await fixture.close();
  }
});

test('10,000 idle sockets: the server keeps answering others, then cuts the idle ones off', async () => {
  const fixture = await startFixture({ receiver: 'hostile-idle', server: { args: ['--header-timeout-ms', '15000'] } });
  const sockets = [];
  try {
    const { server, hook, conn } = fixture;
    const before = memoryOf(server);
    const t0 = Date.now();
    await Promise.all(
      Array.from({ length: 10000 }, () =>
        new Promise((resolve) => {
          const s = net.connect(server.port, '127.0.0.1');
          s.on('error', () => resolve());
          s.on('close', () => resolve());
          s.once('connect', () => {
            sockets.push(s);
            resolve();
          });
        }),
      ),
    );
    const openMs = Date.now() - t0;
    const during = memoryOf(server);
    // max_connections is 10,000: some of ours may be refused, but a request must still get in
    // once the idle ones are cut off; health is answered quickly when there is room.
    const c = `idle-${uid()}`;
    const t1 = Date.now();
    await waitFor(async () => {
      try {
        return (await server.post(conn, textEvent(c, 'hello'), { timeout: 3000 })).status === 200;
      } catch {
        return false;
      }
    }, { timeout: 30000, message: 'a message among 10,000 idle sockets' });
    const servedMs = Date.now() - t1;
    await waitFor(() => hook.deliveredTo(conn, c).length > 0, { timeout: 20000 });
    const closed = await waitFor(() => sockets.filter((s) => !s.destroyed && s.readyState === 'open').length === 0, {
      timeout: 30000,
      message: 'idle sockets cut off by the header timeout',
    });
    assert.ok(closed);
    figure('idle-sockets', { opened: sockets.length, open_ms: openMs, served_ms: servedMs, before, during, after: memoryOf(server) });
  } finally {
    for (const s of sockets) s.destroy();
    await fixture.close();
  }
});

test('a WebSocket client that never reads is closed (1013); another agent keeps its events', async () => {
  const env = await startRouting({ max_body_bytes: 65536 });
  try {
    const { server, direct } = env;
    const slow = await readyAgent(server, { queues: ['default'], max_chats: 20 });
    const fine = await readyAgent(server, { queues: ['default'], max_chats: 20 });
    // The slow agent takes a chat, then stops reading its socket.
    const customer = `slow-${uid()}`;
    await server.send(direct, textEvent(customer, 'hi'));
    const offer = await waitFor(() => slow.frames.find(slow.of('conversation.offered')) || fine.frames.find(fine.of('conversation.offered')));
    const owner = slow.frames.includes(offer) ? slow : fine;
    await owner.ok('POST', `/api/v1/conversations/${offer.conversation.id}/accept`);
    if (owner !== slow) {
      await owner.ok('POST', `/api/v1/conversations/${offer.conversation.id}/transfer`, { agent: slow.username });
    }
    await slow.event((f) => f.type === 'conversation.assigned' && f.conversation.id === offer.conversation.id);
    const closed = new Promise((resolve) => slow.ws.once('close', (code) => resolve(code)));
    slow.ws._socket.pause(); // never reads again
    const before = memoryOf(server);
    const big = 'y'.repeat(60000);
    let sent = 0;
    let code = null;
    closed.then((c) => (code = c));
    for (let i = 0; i < 400 && code === null; i++) {
      await server.send(direct, textEvent(customer, big));
      sent++;
    }
    slow.ws._socket.resume();
    assert.equal(await closed, 1013, `closed after ${sent} messages of 60 kB`);
    // The other agent still gets its events.
    const other = `fine-${uid()}`;
    const mark = fine.frames.length;
    await server.send(direct, textEvent(other, 'hello'));
    await fine.event((f) => f.type === 'conversation.offered' || f.type === 'queue.updated', { from: mark });
    figure('ws-never-reads', { messages_before_close: sent, message_bytes: big.length, before, after: memoryOf(server) });
  } finally {
    await env.close();
  }
});

// A webhook that promises 1 GiB and sends it slowly, or never ends its body.
async function hostileWebhook(kind) {
  const sockets = new Set();
  const server = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      if (kind === 'gib') {
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': String(1 << 30) });
      } else {
        res.writeHead(200, { 'content-type': 'application/json' }); // chunked, never ended
      }
      const chunk = Buffer.alloc(64 * 1024, 'a');
      const timer = setInterval(() => {
        if (res.destroyed) return clearInterval(timer);
        res.write(chunk);
      }, 5);
      res.on('close', () => clearInterval(timer));
    });
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${server.address().port}/hook`,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

for (const kind of ['gib', 'endless']) {
  test(`a webhook that ${kind === 'gib' ? 'answers 1 GiB' : 'never ends its body'}: the attempt fails, others are delivered`, async () => {
    const bad = await hostileWebhook(kind);
    const fixture = await startFixture({ receiver: `hostile-${kind}`, server: { args: ['--webhook-timeout-ms', '2000'] } });
    try {
      const { server, hook, conn } = fixture;
      const victim = await server.createConnection({ webhook: bad.url });
      const before = memoryOf(server);
      const c = `victim-${uid()}`;
      await server.send(victim, textEvent(c, 'hello'));
      const failed = await waitFor(async () => {
        const all = await server.deliveries(victim);
        return all.find((d) => d.attempts >= 1 && d.last_error);
      }, { timeout: 20000, message: 'a failed attempt with its error' });
      const other = `other-${uid()}`;
      await server.send(conn, textEvent(other, 'hi'));
      await waitFor(() => hook.deliveredTo(conn, other).length > 0, { message: 'the other connection is served' });
      figure(`webhook-${kind}`, { last_error: failed.last_error, before, after: memoryOf(server) });
      assert.ok(memoryOf(server).peak_mb < before.peak_mb + 512, 'no 1 GiB buffered');
    } finally {
      await fixture.close();
      await bad.close();
    }
  });
}
