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

test('a WebSocket client that never reads is cut off; another agent keeps its events', async () => {
  const env = await startRouting();
  try {
    const { server, direct } = env;
    const slow = await readyAgent(server, { queues: ['default'], max_chats: 20 });
    const customer = `slow-${uid()}`;
    await server.send(direct, textEvent(customer, 'hi'));
    const offer = await slow.event(slow.of('conversation.offered'));
    await slow.ok('POST', `/api/v1/conversations/${offer.conversation.id}/accept`);
    await slow.ok('PUT', '/api/v1/agents/me/status', { status: 'away' }); // the next chat is fine's
    const fine = await readyAgent(server, { queues: ['default'], max_chats: 20 });
    const closed = new Promise((resolve) => slow.ws.once('close', (code) => resolve(code)));
    slow.ws._socket.pause(); // never reads again: the kernel buffers fill, then the server's queue
    const before = memoryOf(server);
    // Each customer message is a conversation.message event of about 60 kB to the slow agent:
    // 250 of them (15 MB) are more than the loopback buffers and the 1 MiB bound together.
    const big = 'y'.repeat(60000);
    const t0 = Date.now();
    for (let i = 0; i < 250; i++) await server.send(direct, textEvent(customer, big));
    const sendMs = Date.now() - t0;
    const during = memoryOf(server);
    // The other agent is served meanwhile.
    const other = `fine-${uid()}`;
    await server.send(direct, textEvent(other, 'hello'));
    await fine.event(fine.of('conversation.offered'));
    slow.ws._socket.resume();
    const code = await closed;
    assert.ok([1013, 1006].includes(code), `the slow reader is closed (1013, or 1006 when the close frame could not reach it), got ${code}`);
    figure('ws-never-reads', { messages: 250, message_bytes: big.length, send_ms: sendMs, close_code: code, before, during, after: memoryOf(server) });
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
  test(`a webhook that ${kind === 'gib' ? 'answers 1 GiB' : 'never ends its body'}: its attempt ends at 64 KiB of body, others are delivered`, async () => {
    const bad = await hostileWebhook(kind);
    const fixture = await startFixture({ receiver: `hostile-${kind}`, server: { args: ['--webhook-timeout-ms', '2000'] } });
    try {
      const { server, hook, conn } = fixture;
      const victim = await server.createConnection({ webhook: bad.url });
      const before = memoryOf(server);
      const c = `victim-${uid()}`;
      const t0 = Date.now();
      await server.send(victim, textEvent(c, 'hello'));
      // The client reads at most 64 KiB of an answer's body (max_response_body): the status
      // line counts, so the 200 is a delivery, reached without reading the rest; a body that
      // never ends cannot hold the attempt past the webhook timeout either.
      const failed = await waitFor(async () => {
        const all = await server.deliveries(victim);
        return all.find((d) => d.status === 'delivered' || (d.attempts >= 1 && d.last_error));
      }, { timeout: 20000, message: 'the attempt to finish' });
      const attemptMs = Date.now() - t0;
      assert.ok(attemptMs < 10000, `the attempt took ${attemptMs} ms`);
      const other = `other-${uid()}`;
      await server.send(conn, textEvent(other, 'hi'));
      await waitFor(() => hook.deliveredTo(conn, other).length > 0, { message: 'the other connection is served' });
      figure(`webhook-${kind}`, { status: failed.status, last_error: failed.last_error, attempt_ms: attemptMs, before, after: memoryOf(server) });
      assert.ok(memoryOf(server).peak_mb < before.peak_mb + 512, 'no 1 GiB buffered');
    } finally {
      await fixture.close();
      await bad.close();
    }
  });
}
