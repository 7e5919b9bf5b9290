// Issue 16 through the real binary: wrap-up codes and notes when a chat ends (required, unknown,
// after the customer ended it, once, within 10 minutes), after-chat work (no offers until
// ready_at or Ready), and the customer context beside a transcript with the earlier
// conversations of the same customer.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { readyAgent, startRouting } from './agent_support.mjs';
import { textEvent, uid, waitFor } from './harness.mjs';

test('wrap-up on end: required, known codes only, in the transcript; then after-chat work until Ready', async () => {
  const env = await startRouting();
  try {
    const { server, direct } = env;
    const bad = await server.admin('PATCH', '/api/v1/queues/default', { wrap_up_required: true });
    assert.equal(bad.status, 404); // the queue does not exist yet
    const created = await server.admin('POST', '/api/v1/queues', { name: 'default', wrap_up_codes: ['resolved', 'callback'], wrap_up_required: true, after_chat_work_s: 600 });
    assert.equal(created.status, 201, created.text);
    assert.deepEqual(created.json.wrap_up_codes, ['resolved', 'callback']);
    for (const [body, code] of [
      [{ wrap_up_codes: [] }, 'invalid_wrap_up_required'],
      [{ wrap_up_codes: ['a\nb'] }, 'invalid_wrap_up_codes'],
      [{ after_chat_work_s: -1 }, 'invalid_after_chat_work_s'],
      [{ wrap_up_required: 'yes' }, 'invalid_wrap_up_required'],
    ]) {
      const r = await server.admin('PATCH', '/api/v1/queues/default', body);
      assert.equal(r.status, 400, JSON.stringify(body));
      assert.equal(r.json.error.code, code);
    }
    const ann = await readyAgent(server, { display_name: 'Ann' });
    await server.send(direct, textEvent(`w1-${uid()}`, 'hi'));
    const offer = await ann.event(ann.of('conversation.offered'));
    const id = offer.conversation.id;
    await ann.ok('POST', `/api/v1/conversations/${id}/accept`);
    for (const [body, code] of [
      [undefined, 'wrap_up_required'],
      [{ wrap_up: 'sold' }, 'invalid_wrap_up'],
      [{ wrap_up: 'resolved', note: '' }, 'invalid_note'],
      [{ wrap_up: 'resolved', mood: 'good' }, 'unknown_field'],
    ]) {
      const r = await ann.api('POST', `/api/v1/conversations/${id}/end`, body);
      assert.equal(r.status, 400, JSON.stringify(body));
      assert.equal(r.json.error.code, code);
    }
    assert.equal((await server.conversation(id)).state, 'active', 'a refused end changes nothing');
    const ended = await ann.ok('POST', `/api/v1/conversations/${id}/end`, { wrap_up: 'resolved', note: 'Card blocked' });
    assert.equal(ended.state, 'ended');
    const entry = (await server.conversation(id)).transcript.find((e) => e.type === 'wrap_up');
    assert.deepEqual([entry.direction, entry.from, entry.csr_name, entry.payload], ['note', 'csr', 'Ann', { code: 'resolved', note: 'Card blocked' }]);
    // The history finds it by its code, and only it.
    const found = await server.admin('GET', '/api/v1/conversations?wrap_up=resolved');
    assert.deepEqual(found.json.conversations.map((c) => c.id), [id]);
    assert.deepEqual((await server.admin('GET', '/api/v1/conversations?wrap_up=callback')).json.conversations, []);

    // After-chat work: a new customer is not offered to Ann until she is ready.
    const me = await ann.ok('GET', '/api/v1/agents/me');
    assert.equal(me.status, 'after_chat');
    assert.ok(Date.parse(me.ready_at) > Date.now() + 500_000, `ready_at ${me.ready_at}`);
    await server.send(direct, textEvent(`w2-${uid()}`, 'hi'));
    const waiting = await waitFor(async () => (await server.conversations('queued'))[0], { message: 'the second waits' });
    assert.equal(waiting.offered_to, null);
    const ready = await ann.ok('PUT', '/api/v1/agents/me/status', { status: 'available' });
    assert.equal(ready.status, 'available');
    assert.equal(ready.ready_at, null);
    const next = await ann.event((f) => f.type === 'conversation.offered' && f.conversation.id === waiting.id, { message: 'offered once ready' });
    assert.equal(next.conversation.id, waiting.id);
    await ann.disconnect();
  } finally {
    await env.close();
  }
});

test('a chat the customer ended: its agent wraps it up afterwards, once; nobody else can', async () => {
  const env = await startRouting();
  try {
    const { server, direct } = env;
    await server.admin('POST', '/api/v1/queues', { name: 'default', wrap_up_codes: ['resolved'] });
    const ann = await readyAgent(server, { display_name: 'Ann' });
    const bob = await readyAgent(server, { display_name: 'Bob' });
    const customer = `w3-${uid()}`;
    await server.send(direct, textEvent(customer, 'hi'));
    const conv = await waitFor(async () => (await server.conversationsOf(direct, customer))[0]?.offered_to && (await server.conversationsOf(direct, customer))[0], { message: 'offered' });
    const owner = conv.offered_to === ann.username ? ann : bob;
    const other = owner === ann ? bob : ann;
    await owner.ok('POST', `/api/v1/conversations/${conv.id}/accept`);
    await server.send(direct, { type: 'customer_end_session', customer_id: customer });
    await waitFor(async () => (await server.conversation(conv.id)).state === 'ended', { message: 'ended by the customer' });
    // Without a wrap-up an ended chat is just ended.
    assert.equal((await owner.api('POST', `/api/v1/conversations/${conv.id}/end`)).json.error.code, 'conversation_ended');
    const stranger = await other.api('POST', `/api/v1/conversations/${conv.id}/end`, { wrap_up: 'resolved' });
    assert.equal(stranger.status, 403);
    const late = await owner.ok('POST', `/api/v1/conversations/${conv.id}/end`, { note: 'Customer left; sent the form by mail' });
    assert.equal(late.state, 'ended');
    const twice = await owner.api('POST', `/api/v1/conversations/${conv.id}/end`, { wrap_up: 'resolved' });
    assert.equal(twice.status, 409);
    assert.equal(twice.json.error.code, 'already_wrapped_up');
    const entries = (await server.conversation(conv.id)).transcript.filter((e) => e.type === 'wrap_up');
    assert.deepEqual(entries.map((e) => e.payload), [{ code: null, note: 'Customer left; sent the form by mail' }]);
    await ann.disconnect();
    await bob.disconnect();
  } finally {
    await env.close();
  }
});

test('the customer context: channel, queue, wait, why the bot handed over, what it collected, earlier conversations', async () => {
  const env = await startRouting();
  try {
    const { server, bank } = env;
    const ann = await readyAgent(server, { display_name: 'Ann', queues: ['cards'] });
    const customer = `ctx-${uid()}`;
    // A first conversation, ended by the customer.
    await server.send(bank, textEvent(customer, 'hello', { context_data: { plan: 'gold' } }));
    await waitFor(async () => (await server.conversationsOf(bank, customer)).length === 1, { message: 'first conversation' });
    await server.send(bank, { type: 'customer_end_session', customer_id: customer });
    // The second asks for a person and picks the cards queue.
    await server.send(bank, textEvent(customer, 'hello again', { context_data: { plan: 'gold' } }));
    await server.send(bank, textEvent(customer, '', { text: [], postback: 'action:escalate' }));
    await server.send(bank, textEvent(customer, 'Cards', { postback: 'queue:cards' }));
    const offer = await ann.event(ann.of('conversation.offered'));
    const id = offer.conversation.id;
    const ctx = await ann.ok('GET', `/api/v1/conversations/${id}/context`);
    assert.equal(ctx.customer.id, customer);
    assert.equal(ctx.customer.name, 'Test Customer');
    assert.equal(ctx.connection.id, bank.connection_id);
    assert.equal(ctx.connection.bot, 'bank');
    assert.equal(ctx.queue, 'cards');
    assert.ok(Number.isInteger(ctx.waited_s) && ctx.waited_s >= 0);
    assert.equal(ctx.handover.reason, 'asked_for_person');
    assert.equal(ctx.collected.context.plan, 'gold');
    assert.equal(ctx.previous.length, 1);
    assert.equal(ctx.previous[0].state, 'ended');
    // The earlier conversation was never in Ann's queue: she reads it through the current one.
    const earlier = ctx.previous[0].id;
    assert.equal((await ann.api('GET', `/api/v1/conversations/${earlier}`)).status, 403);
    const read = await ann.ok('GET', `/api/v1/conversations/${earlier}?via=${id}`);
    assert.ok(read.transcript.some((e) => e.from === 'customer' && e.payload.text?.includes('hello')));
    // Not for someone who may not read the current one.
    const cy = await readyAgent(server, { display_name: 'Cy', queues: ['general'] });
    assert.equal((await cy.api('GET', `/api/v1/conversations/${id}/context`)).status, 403);
    assert.equal((await cy.api('GET', `/api/v1/conversations/${earlier}?via=${id}`)).status, 403);
    await ann.disconnect();
    await cy.disconnect();
  } finally {
    await env.close();
  }
});
