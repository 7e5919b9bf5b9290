// Conversations: the transcript of every inbound and outbound event, customer_end_session,
// and a new conversation (seq from 1) for the next message.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startFixture, uid, waitFor, textEvent } from './harness.mjs';

let fixture, server, hook, conn;

before(async () => {
  fixture = await startFixture({
    receiver: 'conversations',
    server: { args: ['--retry-initial-ms', '20', '--retry-max-ms', '200'] },
  });
  ({ server, hook, conn } = fixture);
});

after(() => fixture?.close());

test('the conversations API shows the conversation and its transcript', async () => {
  const cid = `t-${uid()}`;
  const first = textEvent(cid, ['hello', 'there'], { customer_name: 'Ada Lovelace' });
  await server.send(conn, first);
  await server.send(conn, { type: 'typing_indicator', customer_id: cid });
  const second = textEvent(cid, 'again', { customer_name: 'Ada Lovelace' });
  await server.send(conn, second);
  await waitFor(() => hook.deliveredTo(conn, cid).length === 2, { message: 'two echoes' });
  const echoes = hook.deliveredTo(conn, cid);

  const convs = await server.conversationsOf(conn, cid);
  assert.equal(convs.length, 1);
  const c = convs[0];
  assert.equal(typeof c.id, 'string');
  assert.equal(c.connection_id, conn.connection_id);
  assert.equal(c.customer_id, cid);
  assert.equal(c.customer_name, 'Ada Lovelace');
  assert.equal(c.state, 'bot');
  assert.equal(c.owner, 'bot');
  assert.ok(!Number.isNaN(Date.parse(c.created_at)));
  assert.ok(!Number.isNaN(Date.parse(c.updated_at)));
  assert.ok(c.ended_at == null);
  assert.ok((await server.conversations('bot')).some((x) => x.id === c.id), 'listed under state=bot');
  assert.ok(!(await server.conversations('ended')).some((x) => x.id === c.id), 'not under state=ended');

  const full = await server.conversation(c.id);
  assert.equal(full.id, c.id);
  assert.equal(full.customer_id, cid);
  const t = full.transcript;
  assert.equal(t.length, 4, `two in, two out, no typing: ${JSON.stringify(t)}`);
  const positions = t.map((e) => e.position);
  assert.deepEqual(positions, [...positions].sort((a, b) => a - b), 'ordered by position');
  assert.equal(new Set(positions).size, 4);
  const ins = t.filter((e) => e.direction === 'in');
  const outs = t.filter((e) => e.direction === 'out');
  assert.deepEqual(ins.map((e) => e.message_id), [first.message_id, second.message_id]);
  assert.ok(ins.every((e) => e.from === 'customer' && e.type === 'text'));
  assert.deepEqual(ins[0].payload.text, ['hello', 'there']);
  assert.ok(outs.every((e) => e.from === 'bot' && e.type === 'text'));
  assert.deepEqual(outs.map((e) => e.event_id), echoes.map((e) => e.event_id));
  assert.deepEqual(outs.map((e) => e.seq), [1, 2]);
  assert.deepEqual(outs.map((e) => e.payload.text), [['hello', 'there'], ['again']]);
  await waitFor(async () => {
    const tt = (await server.conversation(c.id)).transcript.filter((e) => e.direction === 'out');
    return tt.every((e) => e.delivery_status === 'delivered');
  }, { message: 'delivery_status "delivered" on the outbound entries' });
  // each reply follows the message it answers
  assert.ok(t.findIndex((e) => e.event_id === echoes[0].event_id) > t.findIndex((e) => e.message_id === first.message_id));
  assert.ok(t.every((e) => !Number.isNaN(Date.parse(e.created_at))));
  assert.ok(!t.some((e) => e.type === 'typing_indicator'), 'typing is not in the transcript');

  const missing = await server.admin('GET', `/api/v1/conversations/${uid()}`);
  assert.equal(missing.status, 404);
  const badState = await server.admin('GET', '/api/v1/conversations?state=sleeping');
  assert.equal(badState.status, 400, badState.text);
});

test('customer_end_session ends the conversation; the next message opens a new one with seq 1', async () => {
  const cid = `e-${uid()}`;
  await server.send(conn, textEvent(cid, 'one'));
  await server.send(conn, textEvent(cid, 'two'));
  await waitFor(() => hook.deliveredTo(conn, cid).length === 2, { message: 'two echoes' });
  const [old] = await server.conversationsOf(conn, cid);

  const end = await server.post(conn, { type: 'customer_end_session', customer_id: cid });
  assert.equal(end.status, 200, end.text);
  const ended = await server.conversation(old.id);
  assert.equal(ended.state, 'ended');
  assert.ok(!Number.isNaN(Date.parse(ended.ended_at)), `ended_at ${ended.ended_at}`);
  assert.ok((await server.conversations('ended')).some((x) => x.id === old.id));
  assert.ok(!(await server.conversations('bot')).some((x) => x.id === old.id));

  await server.send(conn, textEvent(cid, 'new start'));
  const reply = await waitFor(() => hook.deliveredTo(conn, cid).find((e) => e.text?.[0] === 'new start'), {
    message: 'the echo in the new conversation',
  });
  assert.equal(reply.seq, 1, 'seq starts again at 1 in a new conversation');
  const convs = await server.conversationsOf(conn, cid);
  assert.equal(convs.length, 2);
  const fresh = convs.find((x) => x.id !== old.id);
  assert.equal(fresh.state, 'bot');
  const t = (await server.conversation(fresh.id)).transcript;
  assert.deepEqual(t.filter((e) => e.direction === 'in').map((e) => e.payload?.text), [['new start']]);
  const oldIn = (await server.conversation(old.id)).transcript.filter((e) => e.direction === 'in');
  assert.deepEqual(oldIn.filter((e) => e.type === 'text').map((e) => e.payload.text), [['one'], ['two']]);
  assert.ok(oldIn.length <= 3, 'at most the end of session besides the two texts');

  // ending a customer with no open conversation changes nothing and is not an error
  const again = await server.post(conn, { type: 'customer_end_session', customer_id: `nobody-${uid()}` });
  assert.equal(again.status, 200, again.text);
});

test('typing_indicator alone does not open a conversation that shows up with a transcript entry', async () => {
  const cid = `typing-${uid()}`;
  const r = await server.post(conn, { type: 'typing_indicator', customer_id: cid });
  assert.equal(r.status, 200, r.text);
  for (const c of await server.conversationsOf(conn, cid)) {
    assert.deepEqual((await server.conversation(c.id)).transcript, []);
  }
});

test('history search: customer (part of id or name, any case), created_from/created_before, agent; bad dates refused', async () => {
  const tag = uid().slice(0, 8);
  await server.send(conn, textEvent(`hist-${tag}-a`, 'one', { customer_name: 'Grace HOPPER' }));
  await server.send(conn, textEvent(`hist-${tag}-b`, 'two', { customer_name: 'Alan Turing' }));
  const list = async (q) => {
    const r = await server.admin('GET', `/api/v1/conversations?${q}`);
    assert.equal(r.status, 200, r.text);
    return r.json.conversations.map((c) => c.customer_id).filter((id) => id.includes(tag)).sort();
  };
  assert.deepEqual(await list(`customer=${tag}`), [`hist-${tag}-a`, `hist-${tag}-b`]);
  assert.deepEqual(await list('customer=grace%20hopper'), [`hist-${tag}-a`]);
  assert.deepEqual(await list(`customer=${tag}-B`), [`hist-${tag}-b`]);
  const today = new Date().toISOString().slice(0, 10);
  const tomorrow = new Date(Date.now() + 86400000).toISOString().slice(0, 10);
  assert.deepEqual(await list(`customer=${tag}&created_from=${today}`), [`hist-${tag}-a`, `hist-${tag}-b`]);
  assert.deepEqual(await list(`customer=${tag}&created_from=${tomorrow}`), []);
  assert.deepEqual(await list(`customer=${tag}&created_before=${today}`), []);
  assert.deepEqual(await list(`customer=${tag}&created_before=${new Date(Date.now() + 60000).toISOString()}`), [`hist-${tag}-a`, `hist-${tag}-b`]);
  assert.deepEqual(await list(`customer=${tag}&agent=nobody`), []);
  for (const [q, code] of [['created_from=2026-13-01', 'invalid_created_from'], ['created_before=soon', 'invalid_created_before'], ['created_from=2026-11-25T10:00', 'invalid_created_from']]) {
    const r = await server.admin('GET', `/api/v1/conversations?${q}`);
    assert.equal(r.status, 400, q);
    assert.equal(r.json.error.code, code);
  }
});
