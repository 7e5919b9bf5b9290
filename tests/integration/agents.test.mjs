// Human agents through the real binary: escalation, offers, accept, the conversation in both
// directions, transfer, release, end, capacity, ring-no-answer, reconnect replay (also across a
// kill -9), timers and delivery failures — with real WebSockets and a real webhook receiver.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { Agent, createAgent, startRouting, textsTo } from './agent_support.mjs';
import { textEvent, uid, waitFor } from './harness.mjs';

let env;
before(async () => {
  env = await startRouting();
});
after(() => env?.close());

test('escalate → offer → accept → system text → both directions → transfer to an agent → end', async () => {
  const { server, hook, bank } = env;
  const ann = await createAgent(server, { display_name: 'Ann', queues: ['cards'] });
  const bob = await createAgent(server, { display_name: 'Bob', queues: ['cards', 'general'] });
  await ann.connect();
  await bob.connect();
  await ann.available();
  const customer = `c-${uid()}`;
  await server.send(bank, textEvent(customer, 'hello'));
  await server.send(bank, textEvent(customer, '', { text: [], postback: 'action:escalate' }));
  await server.send(bank, textEvent(customer, '', { text: [], postback: 'queue:cards' }));
  // The customer is told how long the wait is, at once.
  await waitFor(() => hook.deliveredTo(bank, customer).some((e) => e.type === 'wait_time'), { message: 'wait_time' });
  const wait = hook.deliveredTo(bank, customer).find((e) => e.type === 'wait_time');
  assert.equal(wait.queue_position, 1);
  assert.ok(Number.isInteger(wait.waitTime) && wait.waitTime >= 0);
  assert.equal(wait.from, 'system');

  // Ann is the only one available: she gets the offer; Bob (away) does not.
  const offer = await ann.event(ann.of('conversation.offered'), { message: 'offer' });
  const id = offer.conversation.id;
  assert.equal(offer.conversation.state, 'queued');
  assert.equal(offer.conversation.queue, 'cards');
  assert.ok(offer.expires_at);
  assert.ok(!bob.frames.some((f) => f.type === 'conversation.offered'));

  // A message sent while queued is kept and shown on assignment.
  await server.send(bank, textEvent(customer, 'are you there?'));
  const accepted = await ann.ok('POST', `/api/v1/conversations/${id}/accept`);
  assert.equal(accepted.state, 'active');
  assert.equal(accepted.agent, ann.username);
  await ann.event(ann.of('conversation.assigned', id));
  await waitFor(() => textsTo(hook, bank, customer).includes('You are now chatting with Ann.'), { message: 'system text' });
  const sys = hook.deliveredTo(bank, customer).find((e) => e.type === 'text' && e.text[0] === 'You are now chatting with Ann.');
  assert.equal(sys.from, 'system');

  // The agent reads the whole transcript, the bot part included.
  const full = await ann.ok('GET', `/api/v1/conversations/${id}`);
  const froms = new Set(full.transcript.map((e) => e.from));
  for (const f of ['customer', 'bot', 'system']) assert.ok(froms.has(f), `transcript has ${f}`);
  assert.ok(full.transcript.some((e) => e.from === 'customer' && e.payload.text?.[0] === 'are you there?'));

  // Agent → customer, through the same ordered outbox, with csr_name.
  const sent = await ann.ok('POST', `/api/v1/conversations/${id}/messages`, { type: 'text', text: ['Hi, Ann here.'] }, 202);
  assert.ok(sent.event_id && sent.seq > 0);
  await waitFor(() => hook.deliveredTo(bank, customer).some((e) => e.event_id === sent.event_id), { message: 'agent text delivered' });
  const out = hook.deliveredTo(bank, customer).find((e) => e.event_id === sent.event_id);
  assert.equal(out.from, 'csr');
  assert.equal(out.csr_name, 'Ann');
  assert.equal(out.seq, sent.seq);
  // The agent sees their own message and its delivery.
  await ann.event((f) => f.type === 'conversation.message' && f.entry?.event_id === sent.event_id);
  await ann.event((f) => f.type === 'conversation.delivery' && f.event_id === sent.event_id && f.delivery_status === 'delivered');
  // A menu from the agent, exactly as PROTOCOL.md §4.
  const menu = await ann.ok('POST', `/api/v1/conversations/${id}/messages`, { type: 'menu', title: 'Pick', items: [{ text: 'A', payload: 'a' }] }, 202);
  await waitFor(() => hook.deliveredTo(bank, customer).some((e) => e.event_id === menu.event_id && e.type === 'menu'));

  // Customer → agent, never to the bot.
  const before = hook.deliveredTo(bank, customer).length;
  await server.send(bank, textEvent(customer, 'my card is lost'));
  const msg = await ann.event((f) => f.type === 'conversation.message' && f.entry?.from === 'customer' && f.entry.payload.text?.[0] === 'my card is lost');
  assert.equal(msg.conversation.id, id);
  await server.send(bank, { type: 'typing_indicator', customer_id: customer });
  await ann.event(ann.of('conversation.typing', id));
  assert.equal(hook.deliveredTo(bank, customer).filter((e) => e.from === 'bot').length,
    hook.deliveredTo(bank, customer).slice(0, before).filter((e) => e.from === 'bot').length, 'the bot stays silent');

  // Transfer to Bob (available) with a note: the customer is told, Ann loses it, Bob is offered it.
  await bob.available();
  const t = await ann.ok('POST', `/api/v1/conversations/${id}/transfer`, { agent: bob.username, note: 'lost card, verified' });
  assert.equal(t.offered_to, bob.username);
  await ann.event((f) => f.type === 'conversation.removed' && f.conversation.id === id && f.reason === 'transferred');
  const offered = await bob.event(bob.of('conversation.offered', id));
  assert.equal(offered.conversation.transfer_note, 'lost card, verified');
  await waitFor(() => textsTo(hook, bank, customer).includes('Transferring you to Bob.'), { message: 'transfer text' });
  // Ann can no longer act on it.
  const denied = await ann.api('POST', `/api/v1/conversations/${id}/messages`, { type: 'text', text: ['still me'] });
  assert.equal(denied.status, 403);
  await bob.ok('POST', `/api/v1/conversations/${id}/accept`);
  await waitFor(() => textsTo(hook, bank, customer).includes('You are now chatting with Bob.'));
  // The transcript and seqs carry on.
  const seqs = hook.deliveredTo(bank, customer).map((e) => e.seq);
  assert.deepEqual(seqs, [...seqs].sort((a, b) => a - b));

  // Bob ends it: csr_end_session to the customer, conversation.ended to Bob; then 409.
  const ended = await bob.ok('POST', `/api/v1/conversations/${id}/end`);
  assert.equal(ended.state, 'ended');
  await bob.event((f) => f.type === 'conversation.ended' && f.conversation.id === id && f.by === 'agent');
  await waitFor(() => hook.deliveredTo(bank, customer).some((e) => e.type === 'csr_end_session'), { message: 'csr_end_session' });
  const again = await bob.api('POST', `/api/v1/conversations/${id}/messages`, { type: 'text', text: ['hello?'] });
  assert.equal(again.status, 409);
  assert.equal(again.json.error.code, 'conversation_ended');
  assert.deepEqual(hook.orderViolations(), []);
  await ann.disconnect();
  await bob.disconnect();
});

test('capacity: an agent at max_chats is offered nothing more; FIFO when a chat ends', async () => {
  const { server, direct } = env;
  const queue = `q${uid().slice(0, 6)}`;
  assert.equal((await server.admin('POST', '/api/v1/queues', { name: queue, display_name: 'Capacity' })).status, 201);
  const dup = await server.admin('POST', '/api/v1/queues', { name: queue, display_name: 'Again' });
  assert.equal(dup.status, 409);
  assert.equal(dup.json.error.code, 'queue_exists');
  const cat = await createAgent(server, { queues: [queue], max_chats: 1 });
  await cat.connect();
  await cat.available();
  // Route the direct connection's customers to this queue by transferring from the default
  // queue is indirect; instead a helper agent of "default" accepts and transfers to `queue`.
  const helper = await createAgent(server, { queues: ['default'], max_chats: 5 });
  await helper.connect();
  await helper.available();
  const ids = [];
  for (const name of ['first', 'second']) {
    const customer = `${name}-${uid()}`;
    await server.send(direct, textEvent(customer, 'hi'));
    const o = await helper.event((f) => f.type === 'conversation.offered' && !ids.includes(f.conversation.id) && f.conversation.customer_id === customer);
    await helper.ok('POST', `/api/v1/conversations/${o.conversation.id}/accept`);
    await helper.ok('POST', `/api/v1/conversations/${o.conversation.id}/transfer`, { queue });
    ids.push(o.conversation.id);
  }
  const first = await cat.event(cat.of('conversation.offered', ids[0]));
  assert.ok(first);
  await cat.ok('POST', `/api/v1/conversations/${ids[0]}/accept`);
  // At capacity: the second waits, and pulling it is refused.
  const pull = await cat.api('POST', `/api/v1/conversations/${ids[1]}/accept`);
  assert.equal(pull.status, 409);
  assert.equal(pull.json.error.code, 'at_capacity');
  const queues = await cat.ok('GET', '/api/v1/queues');
  const q = queues.queues.find((x) => x.name === queue);
  assert.equal(q.waiting, 1);
  assert.equal(typeof q.estimated_wait_s, 'number');
  assert.equal(q.agents_available, 0);
  // Deleting a queue with someone waiting is refused.
  const del = await server.admin('DELETE', `/api/v1/queues/${queue}`);
  assert.equal(del.status, 409);
  assert.equal(del.json.error.code, 'queue_not_empty');
  // Ending the first frees room: the second is offered.
  await cat.ok('POST', `/api/v1/conversations/${ids[0]}/end`);
  await cat.event(cat.of('conversation.offered', ids[1]));
  await cat.ok('POST', `/api/v1/conversations/${ids[1]}/accept`);
  await cat.ok('POST', `/api/v1/conversations/${ids[1]}/release`);
  await cat.event((f) => f.type === 'conversation.removed' && f.conversation.id === ids[1] && f.reason === 'released');
  await cat.disconnect();
  await helper.disconnect();
});

test('release hands the conversation back to the bot', async () => {
  const { server, hook, bank } = env;
  const dee = await createAgent(server, { display_name: 'Dee', queues: ['general'] });
  await dee.connect();
  await dee.available();
  const customer = `r-${uid()}`;
  await server.send(bank, textEvent(customer, 'hello'));
  await server.send(bank, textEvent(customer, '', { text: [], postback: 'action:escalate' }));
  await server.send(bank, textEvent(customer, '', { text: [], postback: 'queue:general' }));
  const offer = await dee.event(dee.of('conversation.offered'));
  const id = offer.conversation.id;
  await dee.ok('POST', `/api/v1/conversations/${id}/accept`);
  const released = await dee.ok('POST', `/api/v1/conversations/${id}/release`);
  assert.equal(released.state, 'bot');
  await waitFor(() => textsTo(hook, bank, customer).includes('You are back with the assistant.'));
  const botBefore = hook.deliveredTo(bank, customer).filter((e) => e.from === 'bot').length;
  await server.send(bank, textEvent(customer, 'what are your opening hours'));
  await waitFor(() => hook.deliveredTo(bank, customer).filter((e) => e.from === 'bot').length > botBefore, { message: 'the bot answers again' });
  const denied = await dee.api('POST', `/api/v1/conversations/${id}/end`);
  assert.equal(denied.status, 403);
  await dee.disconnect();
});

test('an offer that rings out moves to the next agent and sets the first away', async () => {
  const fast = await startRouting({ offer_timeout_s: 1 });
  try {
    const { server, direct } = fast;
    const eve = await createAgent(server, { queues: ['default'] });
    await eve.connect();
    await eve.available();
    await server.send(direct, textEvent(`ring-${uid()}`, 'anyone?'));
    const offer = await eve.event(eve.of('conversation.offered'));
    const id = offer.conversation.id;
    const fay = await createAgent(server, { queues: ['default'] });
    await fay.connect();
    await fay.available();
    await eve.event((f) => f.type === 'conversation.removed' && f.conversation.id === id && f.reason === 'offer_expired', { timeout: 8000 });
    const status = await eve.ok('GET', '/api/v1/agents/me');
    assert.equal(status.status, 'away');
    await fay.event(fay.of('conversation.offered', id), { timeout: 8000 });
    const agents = await server.admin('GET', '/api/v1/agents');
    assert.equal(agents.status, 200);
    assert.equal(agents.json.agents.find((a) => a.username === eve.username).status, 'away');
    const forbidden = await eve.api('GET', '/api/v1/agents');
    assert.equal(forbidden.status, 403);
    await eve.disconnect();
    await fay.disconnect();
  } finally {
    await fast.close();
  }
});

test('reconnect with after replays what was missed, also after kill -9; assignments stand', async () => {
  const own = await startRouting();
  try {
    const { server, hook, direct } = own;
    const gus = await createAgent(server, { queues: ['default'] });
    await gus.connect();
    await gus.available();
    const customer = `re-${uid()}`;
    await server.send(direct, textEvent(customer, 'first'));
    const offer = await gus.event(gus.of('conversation.offered'));
    const id = offer.conversation.id;
    await gus.ok('POST', `/api/v1/conversations/${id}/accept`);
    await gus.event(gus.of('conversation.assigned', id));
    // The assigned text reaches the agent too, in the same commit: wait for it, so that `seen`
    // never depends on whether its frame had arrived yet.
    await gus.event((f) => f.type === 'conversation.message' && f.entry?.payload.text?.[0]?.startsWith('You are now chatting'));
    const seen = gus.lastSeq();
    await gus.disconnect();
    await server.send(direct, textEvent(customer, 'while you were away 1'));
    await server.send(direct, textEvent(customer, 'while you were away 2'));
    await server.kill9();
    await server.start();
    // The assignment stands after the restart.
    const conv = await gus.ok('GET', `/api/v1/conversations/${id}`);
    assert.equal(conv.state, 'active');
    assert.equal(conv.agent, gus.username);
    gus.frames = [];
    await gus.connect({ after: seen });
    await gus.event((f) => f.type === 'conversation.message' && f.entry?.payload.text?.[0] === 'while you were away 2');
    const texts = gus.frames.filter((f) => f.type === 'conversation.message').map((f) => f.entry.payload.text[0]);
    assert.deepEqual(texts.slice(0, 2), ['while you were away 1', 'while you were away 2']);
    const seqs = gus.frames.filter((f) => typeof f.seq === 'number').map((f) => f.seq);
    assert.equal(seqs[0], seen + 1, 'the replay starts right after the last seen seq');
    for (let i = 1; i < seqs.length; i++) assert.equal(seqs[i], seqs[i - 1] + 1, 'seq increases by one, nothing doubled');
    // Live events keep coming on the same stream.
    await server.send(direct, textEvent(customer, 'live again'));
    await gus.event((f) => f.type === 'conversation.message' && f.entry?.payload.text?.[0] === 'live again');
    // A resume point the server never had answers reset.
    const stale = new Agent(server, gus.username, gus.displayName);
    stale.token = gus.token;
    await stale.connect({ after: 10_000_000 });
    await stale.event((f) => f.type === 'reset');
    await stale.disconnect();
    await gus.ok('POST', `/api/v1/conversations/${id}/end`);
    await waitFor(() => hook.deliveredTo(direct, customer).some((e) => e.type === 'csr_end_session'));
    await gus.disconnect();
  } finally {
    await own.close();
  }
});

test('customer ends: while queued it leaves the queue; with an agent the agent is told', async () => {
  const { server, direct } = env;
  const queue = 'default';
  const hal = await createAgent(server, { queues: [queue] });
  await hal.connect();
  // Away: the customer waits.
  const waiting = `w-${uid()}`;
  await server.send(direct, textEvent(waiting, 'hi'));
  let q = (await hal.ok('GET', '/api/v1/queues')).queues.find((x) => x.name === queue);
  const count = q.waiting;
  assert.ok(count >= 1);
  await server.send(direct, { type: 'customer_end_session', customer_id: waiting });
  q = (await hal.ok('GET', '/api/v1/queues')).queues.find((x) => x.name === queue);
  assert.equal(q.waiting, count - 1);
  // With an agent.
  await hal.available();
  const talking = `t-${uid()}`;
  await server.send(direct, textEvent(talking, 'hi'));
  const offer = await hal.event((f) => f.type === 'conversation.offered' && f.conversation.customer_id === talking);
  await hal.ok('POST', `/api/v1/conversations/${offer.conversation.id}/accept`);
  await server.send(direct, { type: 'customer_end_session', customer_id: talking });
  const ended = await hal.event((f) => f.type === 'conversation.ended' && f.conversation.id === offer.conversation.id);
  assert.equal(ended.by, 'customer');
  await hal.ok('PUT', '/api/v1/agents/me/status', { status: 'away' });
  await hal.disconnect();
});

test('every auth refusal: 401 without a token, 403 for what is not yours, bad input 400', async () => {
  const { server } = env;
  const noToken = await server.request('GET', '/api/v1/queues');
  assert.equal(noToken.status, 401);
  const badToken = await server.request('GET', '/api/v1/agents/me', { headers: { authorization: 'Bearer nope' } });
  assert.equal(badToken.status, 401);
  const ivy = await createAgent(server, { queues: ['cards'] });
  const adminOnly = await ivy.api('POST', '/api/v1/queues', { name: 'nope' });
  assert.equal(adminOnly.status, 403);
  const listAll = await ivy.api('GET', '/api/v1/conversations');
  assert.equal(listAll.status, 403);
  const mine = await ivy.api('GET', '/api/v1/conversations?mine=true');
  assert.equal(mine.status, 200);
  const badStatus = await ivy.api('PUT', '/api/v1/agents/me/status', { status: 'sleeping' });
  assert.equal(badStatus.status, 400);
  assert.equal(badStatus.json.error.code, 'invalid_status');
  const missing = await ivy.api('POST', `/api/v1/conversations/${uid()}/accept`);
  assert.equal(missing.status, 404);
  const ws = new Agent(server, ivy.username, '');
  ws.token = 'wrong';
  await assert.rejects(ws.connect(), /401/);
  // Cookie without the CSRF header: 403.
  const login = await server.request('POST', '/api/v1/auth/login', {
    headers: { 'content-type': 'application/json' },
    body: { username: ivy.username, password: 'correct-horse-battery' },
  });
  const cookie = login.headers.get('set-cookie').split(';')[0];
  const noCsrf = await server.request('PUT', '/api/v1/agents/me/status', { headers: { cookie, 'content-type': 'application/json' }, body: { status: 'away' } });
  assert.equal(noCsrf.status, 403);
  const withCsrf = await server.request('PUT', '/api/v1/agents/me/status', {
    headers: { cookie, 'content-type': 'application/json', 'x-parley-csrf': login.json.csrf },
    body: { status: 'away' },
  });
  assert.equal(withCsrf.status, 200);
});

test('agent assist: the bot recognises the customer text and suggests that intent\'s replies', async () => {
  const { server, bank } = env;
  const kim = await createAgent(server, { queues: ['cards'] });
  await kim.connect();
  await kim.available();
  const customer = `as-${uid()}`;
  await server.send(bank, textEvent(customer, 'hello'));
  await server.send(bank, textEvent(customer, '', { text: [], postback: 'action:escalate' }));
  await server.send(bank, textEvent(customer, '', { text: [], postback: 'queue:cards' }));
  const offer = await kim.event(kim.of('conversation.offered'));
  const id = offer.conversation.id;
  await kim.ok('POST', `/api/v1/conversations/${id}/accept`);
  const hours = await kim.ok('POST', `/api/v1/conversations/${id}/assist`, { text: 'what time do you open on saturday' });
  assert.equal(hours.understood, true);
  assert.equal(hours.intent, 'opening_hours');
  assert.ok(hours.confidence > 0 && hours.confidence <= 1);
  assert.ok(hours.suggestions.length >= 1);
  assert.equal(typeof hours.suggestions[0].type, 'string');
  const gibberish = await kim.ok('POST', `/api/v1/conversations/${id}/assist`, { text: 'zxqv plorb wimble' });
  assert.equal(gibberish.understood, false);
  assert.deepEqual(gibberish.suggestions, []);
  const bad = await kim.api('POST', `/api/v1/conversations/${id}/assist`, { words: 'x' });
  assert.equal(bad.status, 400);
  await kim.ok('POST', `/api/v1/conversations/${id}/end`);
  await kim.disconnect();
});
