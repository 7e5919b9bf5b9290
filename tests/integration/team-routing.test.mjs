// Issue 16's routing through the real binary: "Let pass" (decline) moves an offer on at once and
// keeps the agent available, a console reload finds its offers again, a connection names the
// queue its customers wait in and defaults to no bot rather than Echo, nobody there means the
// no-agents text rather than an estimate, a transfer note belongs to its transfer, and the agents
// of a queue can be listed to transfer to. Issue 20: offers declined in /metrics.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createAgent, readyAgent, startRouting, textsTo } from './agent_support.mjs';
import { Receiver, Server, textEvent, uid, waitFor } from './harness.mjs';

const NO_AGENTS = (n) => `All our agents are busy right now. You are number ${n} in the queue.`;

test('decline: the offer moves on at once, the decliner stays available; only a ring-out sets away', async () => {
  const env = await startRouting({ offer_timeout_s: 30 });
  try {
    const { server, direct } = env;
    const ann = await readyAgent(server, { display_name: 'Ann' });
    const bob = await readyAgent(server, { display_name: 'Bob' });
    const customer = `dec-${uid()}`;
    await server.send(direct, textEvent(customer, 'hi'));
    const first = await waitFor(async () => {
      for (const a of [ann, bob]) {
        const offers = (await a.ok('GET', '/api/v1/agents/me/offers')).offers;
        if (offers.length) return { agent: a, offer: offers[0] };
      }
      return undefined;
    }, { message: 'an offer' });
    const { agent: decliner, offer } = first;
    const other = decliner === ann ? bob : ann;
    assert.equal(offer.offered_to, decliner.username);
    assert.ok(Date.parse(offer.expires_at) > Date.now(), 'expires_at ahead');
    // Nobody but the one it rings for may decline it.
    const wrong = await other.api('POST', `/api/v1/conversations/${offer.id}/decline`, {});
    assert.equal(wrong.status, 409);
    assert.equal(wrong.json.error.code, 'not_offered');
    const bad = await decliner.api('POST', `/api/v1/conversations/${offer.id}/decline`, { reason: 7 });
    assert.equal(bad.status, 400);
    assert.equal(bad.json.error.code, 'invalid_reason');
    const unknown = await decliner.api('POST', `/api/v1/conversations/${offer.id}/decline`, { why: 'x' });
    assert.equal(unknown.status, 400);
    assert.equal(unknown.json.error.code, 'unknown_field');
    assert.equal((await decliner.ok('GET', '/api/v1/agents/me/offers')).offers.length, 1, 'a refused decline changes nothing');

    const seq = decliner.lastSeq();
    const declined = await decliner.ok('POST', `/api/v1/conversations/${offer.id}/decline`, { reason: 'On a call' });
    // At once (the offer timeout is 30 s): the other agent has it now.
    assert.equal(declined.offered_to, other.username);
    await other.event((f) => f.type === 'conversation.offered' && f.conversation.id === offer.id, { message: 'offer moved on' });
    const removed = await decliner.event((f) => f.seq > seq && f.type === 'conversation.removed' && f.conversation.id === offer.id);
    assert.equal(removed.reason, 'declined');
    const me = await decliner.ok('GET', '/api/v1/agents/me');
    assert.equal(me.status, 'available');
    assert.equal(me.offers, 0);
    assert.deepEqual((await decliner.ok('GET', '/api/v1/agents/me/offers')).offers, []);
    // The reason is in the transcript for agents, never sent to the customer.
    const full = await server.conversation(offer.id);
    const note = full.transcript.find((e) => e.direction === 'note');
    assert.equal(note.from, 'system');
    assert.match(note.payload.text, /On a call/);
    assert.ok(!textsTo(env.hook, direct, customer).some((t) => t.includes('On a call')));
    // Declining again: it no longer rings for them.
    const again = await decliner.api('POST', `/api/v1/conversations/${offer.id}/decline`);
    assert.equal(again.status, 409);
    assert.equal(again.json.error.code, 'not_offered');

    const metrics = (await server.request('GET', '/metrics')).text;
    assert.match(metrics, /^parley_queue_offers_declined_total\{queue="default"\} 1$/m);
    assert.match(metrics, /^parley_queue_offers_rung_out_total\{queue="default"\} 0$/m);
    await ann.disconnect();
    await bob.disconnect();
  } finally {
    await env.close();
  }
});

test('an offer that rings out sets the agent away; the reload list of offers follows it', async () => {
  const env = await startRouting({ offer_timeout_s: 1 });
  try {
    const { server, direct } = env;
    const ann = await readyAgent(server, { display_name: 'Ann' });
    await server.send(direct, textEvent(`ring-${uid()}`, 'hi'));
    const offered = await ann.event(ann.of('conversation.offered'));
    const listed = (await ann.ok('GET', '/api/v1/agents/me/offers')).offers;
    assert.deepEqual(listed.map((o) => [o.id, o.expires_at]), [[offered.conversation.id, offered.expires_at]]);
    const removed = await ann.event(ann.of('conversation.removed', offered.conversation.id));
    assert.equal(removed.reason, 'offer_expired');
    await waitFor(async () => (await ann.ok('GET', '/api/v1/agents/me')).status === 'away', { message: 'ann away' });
    assert.deepEqual((await ann.ok('GET', '/api/v1/agents/me/offers')).offers, []);
    // The static admin token is nobody: no offers.
    const admin = await server.admin('GET', '/api/v1/agents/me/offers');
    assert.equal(admin.status, 403);
    await ann.disconnect();
  } finally {
    await env.close();
  }
});

test('nobody there: the no-agents text instead of an estimate, then the estimate once someone is', async () => {
  const env = await startRouting({ wait_time_interval_s: 1 });
  try {
    const { server, hook, direct } = env;
    const first = `na1-${uid()}`;
    const second = `na2-${uid()}`;
    await server.send(direct, textEvent(first, 'hi'));
    await server.send(direct, textEvent(second, 'hi'));
    await waitFor(() => textsTo(hook, direct, second).includes(NO_AGENTS(2)), {
      message: () => `no-agents text; got ${JSON.stringify(textsTo(hook, direct, second))}`,
    });
    assert.ok(!hook.deliveredTo(direct, second).some((e) => e.type === 'wait_time'), 'no estimate while nobody is there');
    // A queue's own text, with the place filled in.
    const patched = await server.admin('PATCH', '/api/v1/queues/default', { no_agents_text: 'Nobody is in; you are {position}.' });
    assert.equal(patched.status, 200);
    assert.equal(patched.json.no_agents_text, 'Nobody is in; you are {position}.');
    const bad = await server.admin('PATCH', '/api/v1/queues/default', { no_agents_text: '' });
    assert.equal(bad.status, 400);
    assert.equal(bad.json.error.code, 'invalid_no_agents_text');
    const third = `na3-${uid()}`;
    await server.send(direct, textEvent(third, 'hi'));
    await waitFor(() => textsTo(hook, direct, third).includes('Nobody is in; you are 3.'), { message: 'queue text' });
    // An agent comes and takes the first: the others get an estimate.
    const ann = await readyAgent(server, { display_name: 'Ann', max_chats: 1 });
    const offer = await ann.event(ann.of('conversation.offered'));
    await ann.ok('POST', `/api/v1/conversations/${offer.conversation.id}/accept`);
    await waitFor(() => hook.deliveredTo(direct, second).some((e) => e.type === 'wait_time'), { timeout: 10000, message: 'estimate once someone is there' });
    await ann.disconnect();
  } finally {
    await env.close();
  }
});

test('a connection names its queue; without a bot its customers wait there; the default bot is never Echo', async () => {
  const env = await startRouting();
  try {
    const { server, hook } = env;
    await server.admin('POST', '/api/v1/queues', { name: 'vip', display_name: 'VIP' });
    const created = await server.admin('POST', '/api/v1/connections', { name: `vip-${uid()}`, client_webhook: hook.url, bot: 'none', queue: 'vip' });
    assert.equal(created.status, 201, created.text);
    assert.equal(created.json.queue, 'vip');
    hook.trust(created.json);
    const customer = `vip-${uid()}`;
    await server.send(created.json, textEvent(customer, 'hi'));
    const conv = await waitFor(async () => (await server.conversationsOf(created.json, customer))[0], { message: 'conversation' });
    assert.equal(conv.queue, 'vip');
    assert.equal(conv.state, 'queued');
    // One bot loaded from a file (bank): it is the default, not Echo.
    const plain = await server.admin('POST', '/api/v1/connections', { name: `plain-${uid()}`, client_webhook: hook.url });
    assert.equal(plain.status, 201);
    assert.equal(plain.json.bot, 'bank');
    assert.equal(plain.json.queue, 'default');
    const moved = await server.admin('PATCH', `/api/v1/connections/${plain.json.connection_id}`, { queue: 'vip' });
    assert.equal(moved.status, 200);
    assert.equal(moved.json.queue, 'vip');
    for (const queue of ['', 'Not A Name', 7]) {
      const r = await server.admin('PATCH', `/api/v1/connections/${plain.json.connection_id}`, { queue });
      assert.equal(r.status, 400, `queue ${JSON.stringify(queue)}`);
      assert.ok(['invalid_queue', 'invalid_field'].includes(r.json.error.code));
    }
    assert.equal((await server.admin('GET', `/api/v1/connections/${plain.json.connection_id}`)).json.queue, 'vip');
  } finally {
    await env.close();
  }
});

test('with no bot loaded from a file, a new connection has no bot', async () => {
  const hook = await Receiver.start('nobot');
  const server = await Server.start();
  try {
    const r = await server.admin('POST', '/api/v1/connections', { name: `n-${uid()}`, client_webhook: hook.url });
    assert.equal(r.status, 201);
    assert.equal(r.json.bot, 'none');
  } finally {
    await server.stop();
    await server.cleanup();
    await hook.close();
  }
});

test('a transfer note is cleared when the conversation is next accepted and stays in the transcript', async () => {
  const env = await startRouting();
  try {
    const { server, direct } = env;
    await server.admin('POST', '/api/v1/queues', { name: 'second', display_name: 'Second line' });
    const ann = await readyAgent(server, { display_name: 'Ann', queues: ['default'] });
    const bob = await readyAgent(server, { display_name: 'Bob', queues: ['second'] });
    await server.send(direct, textEvent(`tn-${uid()}`, 'hi'));
    const offer = await ann.event(ann.of('conversation.offered'));
    const id = offer.conversation.id;
    await ann.ok('POST', `/api/v1/conversations/${id}/accept`);
    // The agents of a queue, to pick whom to transfer to (agents may list one queue).
    const listed = await ann.ok('GET', '/api/v1/agents?queue=second');
    assert.deepEqual(listed.agents.map((a) => [a.username, a.display_name, a.status, a.chats, a.max_chats]), [[bob.username, 'Bob', 'available', 0, 3]]);
    assert.equal((await ann.api('GET', '/api/v1/agents')).status, 403);
    assert.equal((await ann.api('GET', '/api/v1/agents?queue=nope')).json.error.code, 'queue_not_found');

    await ann.ok('POST', `/api/v1/conversations/${id}/transfer`, { agent: bob.username, note: 'Wants a refund' });
    const moved = await bob.event(bob.of('conversation.offered', id));
    assert.equal(moved.conversation.transfer_note, 'Wants a refund');
    const taken = await bob.ok('POST', `/api/v1/conversations/${id}/accept`);
    assert.equal(taken.transfer_note, null);
    const full = await server.conversation(id);
    assert.equal(full.transfer_note, null);
    const notes = full.transcript.filter((e) => e.direction === 'note').map((e) => e.payload.text);
    assert.deepEqual(notes, ['Transfer note from Ann: Wants a refund']);
    await ann.disconnect();
    await bob.disconnect();
  } finally {
    await env.close();
  }
});
