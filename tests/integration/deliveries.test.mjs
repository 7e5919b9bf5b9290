// The deliveries list (pending, failed, dead, delivered) and the replay of a dead-lettered or
// delivered event. --retry-for-seconds 2 dead-letters fast.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startFixture, uid, waitFor, textEvent } from './harness.mjs';

let fixture, server, hook, conn;

before(async () => {
  fixture = await startFixture({ receiver: 'deliveries', server: {
    args: ['--retry-initial-ms', '50', '--retry-max-ms', '200', '--retry-for-seconds', '2'],
  } });
  ({ server, hook, conn } = fixture);
});

after(() => fixture?.close());

function assertErrorBody(r, what) {
  assert.match(r.json?.error?.code ?? '', /^[a-z][a-z0-9_]*$/, `${what}: error.code in ${r.text}`);
  assert.ok(r.json?.error?.message, `${what}: error.message in ${r.text}`);
}

const find = (list, id) => list.find((d) => d.event_id === id);

test('a failing event is listed as failed, dead-lettered after retry-for-seconds, and replayed', async () => {
  hook.mode = { status: 500 };
  const cid = `dl-${uid()}`;
  const t0 = Date.now();
  await server.send(conn, textEvent(cid, 'first'));
  await waitFor(() => hook.attemptsFor(conn, cid).length >= 2, { message: 'two failed attempts' });
  const eventId = hook.attemptsFor(conn, cid)[0].event.event_id;

  // outcomes are recorded just after each attempt
  const d = await waitFor(async () => find(await server.deliveries(conn, 'failed'), eventId), {
    timeout: 5000,
    message: 'the event in the failed list',
  });
  assert.equal(d.customer_id, cid);
  assert.equal(d.seq, 1);
  assert.equal(d.type, 'text');
  assert.equal(typeof d.conversation_id, 'string');
  assert.ok(d.attempts >= 1, `attempts ${d.attempts}`);
  assert.equal(typeof d.last_error, 'string');
  assert.ok(d.last_error.length > 0, 'last_error says why');
  assert.ok(!Number.isNaN(Date.parse(d.next_attempt_at)), `next_attempt_at ${d.next_attempt_at}`);
  assert.ok(!Number.isNaN(Date.parse(d.created_at)), `created_at ${d.created_at}`);
  assert.ok(d.delivered_at == null, 'not delivered');
  const [conv] = await server.conversationsOf(conn, cid);
  assert.equal(d.conversation_id, conv.id);
  assert.ok(find(await server.deliveries(conn, 'pending'), eventId), 'a failed event is still pending');
  assert.ok(!find(await server.deliveries(conn, 'dead'), eventId));

  const early = await server.admin('POST', `/api/v1/deliveries/${eventId}/replay`);
  assert.equal(early.status, 409, `replay of a pending event: ${early.status} ${early.text}`);
  assertErrorBody(early, 'replay pending');

  const dead = await waitFor(async () => find(await server.deliveries(conn, 'dead'), eventId), {
    timeout: 10000,
    message: 'the event in the dead list',
  });
  const deadAfter = Date.now() - t0;
  assert.ok(deadAfter >= 1800, `dead-lettered after ${deadAfter} ms, before the 2 s retry window ended`);
  assert.equal(dead.status, 'dead');
  assert.ok(!find(await server.deliveries(conn, 'pending'), eventId));
  assert.ok(!find(await server.deliveries(conn, 'failed'), eventId));
  const triesWhenDead = hook.attemptsFor(conn, cid).length;

  // the conversation goes on: the next reply is not stuck behind the dead one
  hook.mode = { status: 200 };
  await server.send(conn, textEvent(cid, 'second'));
  const [second] = await waitFor(() => hook.deliveredTo(conn, cid).length && hook.deliveredTo(conn, cid), {
    message: 'the next reply after a dead-lettered one',
  });
  assert.equal(second.seq, 2);
  assert.deepEqual(second.text, ['second']);
  assert.equal(hook.attemptsFor(conn, cid).filter((a) => a.event.event_id === eventId).length, triesWhenDead, 'no more tries of a dead event');

  const replay = await server.admin('POST', `/api/v1/deliveries/${eventId}/replay`);
  assert.equal(replay.status, 202, `replay of a dead event: ${replay.status} ${replay.text}`);
  const again = await waitFor(() => hook.deliveredTo(conn, cid).find((e) => e.event_id === eventId), {
    message: 'the replayed event at the webhook',
  });
  assert.equal(again.seq, 1, 'replayed with its own seq');
  assert.deepEqual(again.text, ['first']);
  const delivered = await waitFor(async () => find(await server.deliveries(conn, 'delivered'), eventId), {
    message: 'the replayed event listed as delivered',
  });
  assert.ok(!Number.isNaN(Date.parse(delivered.delivered_at)), `delivered_at ${delivered.delivered_at}`);
  assert.ok(!find(await server.deliveries(conn, 'dead'), eventId), 'no longer dead');
  assert.ok(find(await server.deliveries(conn, 'delivered'), second.event_id), 'seq 2 delivered too');

  // a delivered event can be sent again
  const resend = await server.admin('POST', `/api/v1/deliveries/${eventId}/replay`);
  assert.equal(resend.status, 202, `replay of a delivered event: ${resend.status} ${resend.text}`);
  await waitFor(() => hook.deliveredTo(conn, cid).filter((e) => e.event_id === eventId).length === 2, {
    message: 'the event sent again',
  });
  assert.equal(hook.rejected.length, 0);
});

test('replay of an unknown event is 404; a bad status filter is 400', async () => {
  const r = await server.admin('POST', `/api/v1/deliveries/${uid()}/replay`);
  assert.equal(r.status, 404, r.text);
  assertErrorBody(r, 'unknown event');
  const bad = await server.admin('GET', `/api/v1/connections/${conn.connection_id}/deliveries?status=bogus`);
  assert.equal(bad.status, 400, bad.text);
  assertErrorBody(bad, 'bad status');
  const unknown = await server.admin('GET', `/api/v1/connections/${uid()}/deliveries`);
  assert.equal(unknown.status, 404, unknown.text);
});
