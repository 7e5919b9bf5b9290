// Deliveries survive a graceful restart: SIGTERM while the webhook is down, start again on
// the same database, and every reply arrives in order once the webhook is back.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { Server, Receiver, uid, waitFor, textEvent, range } from './harness.mjs';

let server, hook;

after(async () => {
  await server?.cleanup();
  await hook?.close();
});

test('a restart with deliveries pending loses nothing and keeps the order', async () => {
  hook = await Receiver.start('restart');
  server = await Server.start({ args: ['--retry-initial-ms', '20', '--retry-max-ms', '200'] });
  const conn = await server.createConnection({ webhook: hook.url, bot: 'echo' });
  hook.trust(conn);

  // one delivered reply before the outage, so seq continues across the restart
  const customers = range(3).map((i) => `r${i}-${uid()}`);
  for (const c of customers) await server.send(conn, textEvent(c, `${c} #1`));
  await waitFor(() => customers.every((c) => hook.deliveredTo(conn, c).length === 1), { message: 'first echoes' });

  await hook.down();
  for (let i = 2; i <= 5; i++) for (const c of customers) await server.send(conn, textEvent(c, `${c} #${i}`));
  await waitFor(async () => (await server.deliveries(conn, 'failed')).length >= customers.length, {
    timeout: 5000,
    message: 'the server trying the dead webhook',
  });
  const pendingBefore = await server.deliveries(conn, 'pending');
  const failedBefore = await server.deliveries(conn, 'failed');
  const queued = new Set([...pendingBefore, ...failedBefore].map((d) => d.event_id));
  assert.equal(queued.size, 12, `12 replies queued: ${JSON.stringify(pendingBefore)}`);
  for (const d of failedBefore) {
    assert.ok(d.attempts > 0, 'failed deliveries were attempted');
    assert.ok(d.last_error, 'and say why they failed');
    assert.equal(d.seq, 2, 'only the head of each conversation is attempted');
  }

  // a secret rotated before the restart: the grace period and the new secret survive it
  const rotated = await server.admin('POST', `/api/v1/connections/${conn.connection_id}/rotate-secret`);
  assert.equal(rotated.status, 200, rotated.text);
  const fresh = rotated.json.jwt_secret;

  const stopped = await server.stop();
  assert.equal(stopped.code, 0);
  assert.ok(stopped.ms < 10000, `graceful exit took ${stopped.ms} ms`);

  await server.start();
  const old = await server.post(conn, { type: 'typing_indicator', customer_id: customers[0] }, { secret: conn.jwt_secret });
  assert.equal(old.status, 200, `the previous secret after a restart, inside the grace period: ${old.text}`);
  const neu = await server.post(conn, { type: 'typing_indicator', customer_id: customers[0] }, { secret: fresh });
  assert.equal(neu.status, 200, `the new secret after a restart: ${neu.text}`);
  hook.trust(conn, fresh); // what is delivered from now on must be signed with the new secret
  const pendingAfter = await server.deliveries(conn, 'pending');
  const failedAfter = await server.deliveries(conn, 'failed');
  assert.deepEqual(
    new Set([...pendingAfter, ...failedAfter].map((d) => d.event_id)),
    queued,
    'the same deliveries are queued after the restart',
  );
  await hook.up();
  await waitFor(() => customers.every((c) => hook.deliveredTo(conn, c).length >= 5), {
    timeout: 10000,
    message: () => `all echoes after restart: ${customers.map((c) => hook.deliveredTo(conn, c).length)}`,
  });
  for (const c of customers) {
    const got = hook.deliveredTo(conn, c);
    assert.deepEqual(got.map((e) => e.seq), range(5), c);
    assert.deepEqual(got.map((e) => e.text[0]), range(5).map((i) => `${c} #${i}`), c);
    assert.ok(got.slice(1).every((e) => queued.has(e.event_id)), 'the event_ids queued before the restart');
  }
  assert.deepEqual(hook.orderViolations(), []);
  assert.equal(hook.rejected.length, 0);

  // the transcript survived too
  const [conv] = await server.conversationsOf(conn, customers[0]);
  const t = (await server.conversation(conv.id)).transcript;
  assert.equal(t.filter((e) => e.direction === 'in').length, 5);
  assert.equal(t.filter((e) => e.direction === 'out').length, 5);

  // idempotency survives the restart
  const firstMessage = hook.deliveredTo(conn, customers[0])[0];
  assert.ok(firstMessage);
  const inbound = t.find((e) => e.direction === 'in');
  const dup = await server.post(conn, { type: 'text', customer_id: customers[0], message_id: inbound.message_id, text: ['again'] });
  assert.deepEqual(dup.json, { status: 'duplicate' }, 'a message_id seen before the restart');

  const again = await server.stop();
  assert.equal(again.code, 0);
});

test('SIGTERM under load: exit 0 within 10 s, and every acknowledged message survives', async () => {
  const hook2 = await Receiver.start('sigterm');
  const s = new Server({ args: ['--retry-initial-ms', '20', '--retry-max-ms', '200'] });
  try {
    await s.start();
    const conn = await s.createConnection({ webhook: hook2.url, bot: 'echo' });
    hook2.trust(conn);
    const acked = [];
    const run = uid().slice(0, 8);
    let stop = false;
    let sent = 0;
    const poster = async (p) => {
      for (let n = 0; !stop; n++) {
        const ev = textEvent(`g${p}-${n % 3}-${run}`, `g${p} m${n}`);
        let r;
        try {
          r = await s.post(conn, ev, { timeout: 5000 });
        } catch {
          return; // the server closed: not acknowledged
        }
        sent++;
        if (r.status === 200) acked.push(ev);
        else assert.equal(r.status, 503, `while shutting down: ${r.status} ${r.text}`);
      }
    };
    const posters = range(4).map(poster);
    await waitFor(() => sent >= 100, { message: 'load' });
    const stopped = await s.stop();
    stop = true;
    await Promise.all(posters);
    assert.equal(stopped.code, 0);
    assert.ok(stopped.ms < 10000, `exit took ${stopped.ms} ms`);

    await s.start();
    const inbound = new Set();
    for (const c of await s.conversations(undefined, { connectionId: conn.connection_id })) {
      for (const e of (await s.conversation(c.id)).transcript) if (e.direction === 'in') inbound.add(e.message_id);
    }
    const lost = acked.filter((ev) => !inbound.has(ev.message_id));
    assert.deepEqual(lost.map((ev) => ev.text[0]), [], `acknowledged before SIGTERM but not stored`);
    const echoed = () => new Set(hook2.delivered().map((e) => e.text[0]));
    await waitFor(() => acked.every((ev) => echoed().has(ev.text[0])), {
      timeout: 15000,
      message: () => `echoes after the restart: ${acked.filter((ev) => echoed().has(ev.text[0])).length}/${acked.length}`,
    });
    await s.stop();
  } finally {
    await s.cleanup();
    await hook2.close();
  }
});
