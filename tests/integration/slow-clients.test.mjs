// Slow clients time out (header and body deadlines) and do not stop the server serving others.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startFixture, uid, waitFor, textEvent, rawConnect, waitClosed, delay, range } from './harness.mjs';

// Long enough that a server blocked by a stalled client would show in the healthz latency.
const HEADER_MS = 1500;
const BODY_MS = 1500;
const QUICK_MS = 1000;
let fixture, server, hook, conn;

before(async () => {
  fixture = await startFixture({ receiver: 'slow-clients', server: {
    args: ['--header-timeout-ms', String(HEADER_MS), '--body-timeout-ms', String(BODY_MS)],
  } });
  ({ server, hook, conn } = fixture);
});

after(() => fixture?.close());

async function healthyQuickly() {
  const t0 = Date.now();
  const r = await server.request('GET', '/healthz', { timeout: 3000 });
  assert.equal(r.status, 200);
  return Date.now() - t0;
}

test('half a header then silence: closed after the header timeout; others are served meanwhile', async () => {
  const s = await rawConnect(server.port);
  s.write('POST /messages HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Ty');
  const closed = waitClosed(s, 5000);
  const ms = await healthyQuickly();
  assert.ok(ms < QUICK_MS, `healthz took ${ms} ms while a client stalls`);
  const after = await closed;
  assert.ok(after >= HEADER_MS - 100, `closed after ${after} ms (not before the deadline)`);
  assert.ok(after < HEADER_MS + 2000, `closed after ${after} ms`);
  assert.ok(s.received === '' || /^HTTP\/1\.1 408/.test(s.received), `answer: ${s.received}`);
});

test('a header trickled one byte at a time is closed by the header deadline too', async () => {
  const s = await rawConnect(server.port);
  const closed = waitClosed(s, 8000);
  const head = 'POST /messages HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Padding: ' + 'a'.repeat(400);
  let stop = false;
  closed.finally(() => (stop = true));
  (async () => {
    for (const ch of head) {
      if (stop || s.destroyed) return;
      s.write(ch);
      await delay(50);
    }
  })();
  const after = await closed;
  assert.ok(after < HEADER_MS + 2000, `closed after ${after} ms although bytes kept coming`);
});

test('a body that stalls is closed after the body timeout', async () => {
  const s = await rawConnect(server.port);
  const body = JSON.stringify(textEvent(`stall-${uid()}`, 'never finished'));
  s.write(
    `POST /messages HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nconnection_id: ${conn.connection_id}\r\n` +
      `Content-Length: ${body.length}\r\n\r\n${body.slice(0, 10)}`,
  );
  const after = await waitClosed(s, 8000);
  assert.ok(after < BODY_MS + 2000, `closed after ${after} ms`);
});

test('fifty stalled sockets do not stop the server; all are closed', async () => {
  const sockets = await Promise.all(range(50).map(() => rawConnect(server.port)));
  for (const s of sockets) s.write('GET /healthz HTTP/1.1\r\nHo');
  const closed = sockets.map((s) => waitClosed(s, 10000));
  const ms = await healthyQuickly();
  assert.ok(ms < QUICK_MS, `healthz took ${ms} ms with 50 stalled sockets`);
  const cid = `busy-${uid()}`;
  await server.send(conn, textEvent(cid, 'served'));
  await waitFor(() => hook.deliveredTo(conn, cid).length === 1, { message: 'an echo while sockets stall' });
  await Promise.all(closed);
});

test('pipelined requests on one socket are all answered, in order', async () => {
  const s = await rawConnect(server.port);
  const closed = waitClosed(s, 5000);
  const one = 'GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n';
  const last = 'GET /readyz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n';
  s.write(one + one + last);
  await closed;
  const statuses = s.received.match(/HTTP\/1\.1 \d{3}/g) ?? [];
  assert.deepEqual(statuses, ['HTTP/1.1 200', 'HTTP/1.1 200', 'HTTP/1.1 200'], s.received);
});

test('a keep-alive connection serves several requests', async () => {
  const s = await rawConnect(server.port);
  s.received = '';
  s.on('data', (d) => (s.received += d.toString()));
  for (let i = 0; i < 3; i++) {
    s.write('GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n');
    await waitFor(() => (s.received.match(/HTTP\/1\.1 200/g) ?? []).length === i + 1, {
      timeout: 3000,
      message: `response ${i + 1} on the same socket`,
    });
  }
  s.destroy();
});

test('a huge header is refused or the socket closed, and the server keeps serving', async () => {
  const s = await rawConnect(server.port);
  const closed = waitClosed(s, 8000);
  s.write(`GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: ${'b'.repeat(256 * 1024)}\r\n\r\n`);
  await closed;
  assert.ok(s.received === '' || /^HTTP\/1\.1 (4\d\d)/.test(s.received), `answer: ${s.received.slice(0, 100)}`);
  assert.ok(!/^HTTP\/1\.1 200/.test(s.received), 'not served');
  assert.ok((await healthyQuickly()) < QUICK_MS);
});

test('a thousand pipelined requests: answered in order or cut off, and the server keeps serving', async () => {
  const s = await rawConnect(server.port);
  const closed = waitClosed(s, 15000);
  s.on('error', () => {});
  const one = 'GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n';
  s.write(one.repeat(999) + 'GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n');
  await closed;
  const statuses = s.received.match(/HTTP\/1\.1 \d{3}/g) ?? [];
  assert.ok(statuses.length > 0, 'some answers');
  assert.ok(statuses.every((x) => x === 'HTTP/1.1 200'), `statuses ${[...new Set(statuses)]}`);
  assert.ok((await healthyQuickly()) < QUICK_MS);
});
