// A webhook that is down or slow delays only its own conversations; after it recovers,
// everything it missed arrives in order.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Server, Receiver, uid, waitFor, textEvent, range } from './harness.mjs';

const TIMEOUT_MS = 400;
let server;
const receivers = [];

before(async () => {
  server = await Server.start({
    args: ['--retry-initial-ms', '20', '--retry-max-ms', '200', '--webhook-timeout-ms', String(TIMEOUT_MS)],
  });
});

after(async () => {
  try {
    await server?.stop();
  } finally {
    await server?.cleanup();
    for (const r of receivers) await r.close();
  }
});

async function pair(name) {
  const hook = await Receiver.start(name);
  receivers.push(hook);
  const conn = await server.createConnection({ webhook: hook.url, bot: 'echo' });
  hook.trust(conn);
  return { hook, conn };
}

// Posts one message per customer and resolves with the latency of each echo at the webhook.
async function echoLatencies(hook, conn, customers, deadline) {
  const sent = new Map();
  for (const c of customers) {
    sent.set(c, Date.now());
    await server.send(conn, textEvent(c, `fast ${c}`));
  }
  await waitFor(() => customers.every((c) => hook.deliveredTo(conn, c).length >= 1), {
    timeout: deadline,
    message: () => `echoes on the healthy webhook: ${customers.filter((c) => hook.deliveredTo(conn, c).length).length}/${customers.length}`,
  });
  return customers.map((c) => hook.attemptsFor(conn, c).find((a) => a.outcome === 'ok').t - sent.get(c));
}

test('one webhook down does not delay another connection; after recovery all arrives in order', async () => {
  const down = await pair('down');
  const up = await pair('up');
  await down.hook.down();
  const customers = range(3).map((i) => `down${i}-${uid()}`);
  for (let i = 1; i <= 4; i++) {
    for (const c of customers) await server.send(down.conn, textEvent(c, `${c} #${i}`));
  }
  // the server is trying (and failing) to reach the dead webhook
  await waitFor(async () => (await server.deliveries(down.conn, 'failed')).length >= customers.length, {
    timeout: 5000,
    message: 'failed deliveries on the dead webhook',
  });
  const lat1 = await echoLatencies(up.hook, up.conn, range(5).map((i) => `up${i}-${uid()}`), 3000);
  assert.ok(Math.max(...lat1) < 1500, `healthy webhook latencies ${lat1} ms`);
  // still fine after the dead webhook has been failing for a while
  await waitFor(async () => (await server.deliveries(down.conn, 'failed')).every((d) => d.attempts >= 3), {
    timeout: 5000,
    message: 'several attempts on the dead webhook',
  });
  const lat2 = await echoLatencies(up.hook, up.conn, range(5).map((i) => `up2-${i}-${uid()}`), 3000);
  assert.ok(Math.max(...lat2) < 1500, `healthy webhook latencies ${lat2} ms`);

  await down.hook.up();
  await waitFor(() => customers.every((c) => down.hook.deliveredTo(down.conn, c).length >= 4), {
    timeout: 10000,
    message: 'all echoes after the webhook came back',
  });
  for (const c of customers) {
    const got = down.hook.deliveredTo(down.conn, c);
    assert.deepEqual(got.map((e) => e.seq), [1, 2, 3, 4], c);
    assert.deepEqual(got.map((e) => e.text[0]), range(4).map((i) => `${c} #${i}`), c);
  }
  assert.deepEqual(down.hook.orderViolations(), []);
  // outcomes are recorded just after the webhook answers
  await waitFor(async () => (await server.deliveries(down.conn, 'pending')).length === 0, {
    timeout: 5000,
    message: 'nothing left pending',
  });
  const delivered = await server.deliveries(down.conn, 'delivered');
  assert.equal(delivered.length, 12);
  assert.ok(delivered.every((d) => d.status === 'delivered' && d.delivered_at), 'delivered with a time');
  assert.equal(down.hook.rejected.length + up.hook.rejected.length, 0);
});

test('a slow webhook (> timeout) delays only its own conversations and is retried with the same event_id', async () => {
  const slow = await pair('slow');
  const fast = await pair('fast');
  slow.hook.mode = { status: 200, delayMs: 2500 };
  const slowCustomers = range(10).map((i) => `slow${i}-${uid()}`);
  const posted = Date.now();
  await Promise.all(slowCustomers.map((c) => server.send(slow.conn, textEvent(c, `slow ${c}`))));
  await waitFor(() => slowCustomers.every((c) => slow.hook.attemptsFor(slow.conn, c).length >= 1), {
    timeout: 5000,
    message: 'requests in flight at the slow webhook',
  });
  const lat = await echoLatencies(fast.hook, fast.conn, range(5).map((i) => `fast${i}-${uid()}`), 3000);
  assert.ok(Math.max(...lat) < 1500, `fast webhook latencies while the slow one hangs: ${lat} ms`);

  // the server gives up after --webhook-timeout-ms and tries again, long before the slow
  // answer would have come
  const c0 = slowCustomers[0];
  await waitFor(() => slow.hook.attemptsFor(slow.conn, c0).length >= 2, {
    timeout: 5000,
    message: 'a second attempt after the timeout',
  });
  const [a1, a2] = slow.hook.attemptsFor(slow.conn, c0);
  assert.ok(a2.t - a1.t < 2000, `the second attempt came ${a2.t - a1.t} ms after the first`);
  // the timeout also covers connecting, so measure from the post, before which no attempt began
  assert.ok(a2.t - posted >= TIMEOUT_MS, `the second attempt came ${a2.t - posted} ms after the post`);

  slow.hook.mode = { status: 200 };
  await waitFor(() => slowCustomers.every((c) => slow.hook.deliveredTo(slow.conn, c).length >= 1), {
    timeout: 10000,
    message: 'the slow webhook, now fast, gets everything',
  });
  for (const c of slowCustomers) {
    const tries = slow.hook.attemptsFor(slow.conn, c);
    assert.equal(new Set(tries.map((a) => a.event.event_id)).size, 1, `${c}: one event_id over ${tries.length} tries`);
    assert.equal(slow.hook.deliveredTo(slow.conn, c)[0].seq, 1);
  }
});

test('pointing a connection at a new webhook during an outage delivers what was pending there, in order', async () => {
  const broken = await pair('broken');
  await broken.hook.down();
  const customers = range(2).map((i) => `moved${i}-${uid()}`);
  for (let i = 1; i <= 3; i++) for (const c of customers) await server.send(broken.conn, textEvent(c, `${c} #${i}`));
  await waitFor(async () => (await server.deliveries(broken.conn, 'failed')).length >= customers.length, {
    timeout: 5000,
    message: 'failed deliveries on the dead webhook',
  });
  const fixed = await Receiver.start('fixed');
  receivers.push(fixed);
  fixed.trust(broken.conn);
  const r = await server.admin('PATCH', `/api/v1/connections/${broken.conn.connection_id}`, { client_webhook: fixed.url });
  assert.equal(r.status, 200, r.text);
  await waitFor(() => customers.every((c) => fixed.deliveredTo(broken.conn, c).length >= 3), {
    timeout: 10000,
    message: () => `deliveries at the new webhook: ${customers.map((c) => fixed.deliveredTo(broken.conn, c).length)}`,
  });
  for (const c of customers) {
    assert.deepEqual(fixed.deliveredTo(broken.conn, c).map((e) => e.seq), [1, 2, 3], c);
  }
  assert.deepEqual(fixed.orderViolations(), []);
});
