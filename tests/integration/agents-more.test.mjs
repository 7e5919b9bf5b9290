// More of the agents through the real binary: delivery failures of agents' messages, queues
// that close (max_wait_s) and auto-accept, pulling a waiting chat, transfer to a queue with a
// note, wait_time and queue.updated events, a stream that never reads, and nothing lost while a
// stream reconnects. Each test has its own server, so no test sees another's queues.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createAgent, escalate, readyAgent, startRouting, textsTo } from './agent_support.mjs';
import { range, seqsOf, textEvent, uid, waitFor } from './harness.mjs';

async function withRouting(settings, fn) {
  const env = await startRouting(settings);
  try {
    await fn(env);
  } finally {
    await env.close();
  }
}

// A direct customer whose conversation `agent` (available, in "default") accepts; resolves
// with the conversation id once the customer was told who they are talking to.
async function chatWith(env, agent, customer) {
  const { server, hook, direct } = env;
  await server.send(direct, textEvent(customer, 'hi'));
  const offer = await agent.event((f) => f.type === 'conversation.offered' && f.conversation.customer_id === customer);
  const id = offer.conversation.id;
  await agent.ok('POST', `/api/v1/conversations/${id}/accept`);
  await waitFor(() => textsTo(hook, direct, customer).some((t) => t.startsWith('You are now chatting with')), {
    message: 'assigned text',
  });
  return id;
}

const entryOf = async (agent, id, eventId) =>
  (await agent.ok('GET', `/api/v1/conversations/${id}`)).transcript.find((e) => e.event_id === eventId);

test('delivery failures of an agent message: pending with last_error, then delivered; dead, then replayed', async () => {
  await withRouting({ retry_initial_ms: 200, retry_max_ms: 300, retry_for_seconds: 2 }, async (env) => {
    const { server, hook, direct } = env;
    const ann = await readyAgent(server, { queues: ['default'] });
    const customer = `dl-${uid()}`;
    const id = await chatWith(env, ann, customer);

    // Two failed attempts, then the receiver recovers.
    hook.failNext(2);
    const sent = await ann.ok('POST', `/api/v1/conversations/${id}/messages`, { type: 'text', text: ['first try'] }, 202);
    const pending = await ann.event((f) => f.type === 'conversation.delivery' && f.event_id === sent.event_id && f.delivery_status === 'pending');
    assert.equal(pending.conversation.id, id);
    assert.equal(pending.message_seq, sent.seq);
    assert.ok(pending.attempts >= 1);
    assert.match(pending.last_error, /500/);
    const delivered = await ann.event((f) => f.type === 'conversation.delivery' && f.event_id === sent.event_id && f.delivery_status === 'delivered');
    assert.equal(delivered.attempts, 3);
    const entry = await entryOf(ann, id, sent.event_id);
    assert.equal(entry.delivery_status, 'delivered');
    assert.equal(entry.attempts, 3);
    assert.equal(hook.deliveredTo(direct, customer).filter((e) => e.event_id === sent.event_id).length, 1);

    // The receiver refuses for longer than retry_for_seconds: dead, shown in the transcript.
    hook.mode = { status: 503 };
    const doomed = await ann.ok('POST', `/api/v1/conversations/${id}/messages`, { type: 'text', text: ['lost'] }, 202);
    const failing = await ann.event((f) => f.type === 'conversation.delivery' && f.event_id === doomed.event_id && f.delivery_status === 'pending');
    assert.match(failing.last_error, /503/);
    // The transcript shows it pending while it is retried.
    const mid = await entryOf(ann, id, doomed.event_id);
    assert.ok(['pending', 'dead'].includes(mid.delivery_status), mid.delivery_status);
    const dead = await ann.event((f) => f.type === 'conversation.delivery' && f.event_id === doomed.event_id && f.delivery_status === 'dead', {
      timeout: 8000,
    });
    assert.match(dead.last_error, /503/);
    const deadEntry = await entryOf(ann, id, doomed.event_id);
    assert.equal(deadEntry.delivery_status, 'dead');
    assert.match(deadEntry.last_error, /503/);
    // Recovered: an admin replays it; the agent sees it delivered.
    hook.mode = { status: 200 };
    const replay = await server.admin('POST', `/api/v1/deliveries/${doomed.event_id}/replay`);
    assert.equal(replay.status, 202);
    await ann.event((f) => f.type === 'conversation.delivery' && f.event_id === doomed.event_id && f.delivery_status === 'delivered');
    await waitFor(() => hook.deliveredTo(direct, customer).some((e) => e.event_id === doomed.event_id), { message: 'replayed' });
    assert.equal((await entryOf(ann, id, doomed.event_id)).delivery_status, 'delivered');
    await ann.disconnect();
  });
});

test('a queue with max_wait_s and nobody signed in is closed: closed_text, the bot stays; it opens when an agent signs in', async () => {
  await withRouting({}, async ({ server, hook, bank }) => {
    const closedText = 'Our team is away; try again tomorrow.';
    // The bank bot's queues exist from the start; an admin sets a limit.
    const changed = await server.admin('PATCH', '/api/v1/queues/general', { max_wait_s: 600, closed_text: closedText });
    assert.equal(changed.status, 200, changed.text);
    assert.equal(changed.json.max_wait_s, 600);
    const general = async () => (await server.admin('GET', '/api/v1/queues')).json.queues.find((q) => q.name === 'general');
    assert.equal((await general()).accepting, false);

    const early = `mw-${uid()}`;
    await escalate(server, bank, early, 'general');
    await waitFor(() => textsTo(hook, bank, early).includes(closedText), { message: 'closed_text' });
    const [conv] = await server.conversationsOf(bank, early);
    assert.equal(conv.state, 'bot');
    assert.equal((await general()).waiting, 0);
    // Still with the bot: it answers.
    const botBefore = hook.deliveredTo(bank, early).filter((e) => e.from === 'bot').length;
    await server.send(bank, textEvent(early, 'what are your opening hours'));
    await waitFor(() => hook.deliveredTo(bank, early).filter((e) => e.from === 'bot').length > botBefore, { message: 'bot answers' });

    // An agent of the queue signs in and becomes available: the queue opens.
    const gil = await createAgent(server, { queues: ['general'] });
    await gil.connect();
    await gil.signedIn();
    await gil.available();
    await waitFor(async () => (await general()).accepting === true, { message: 'accepting' });
    const late = `mw2-${uid()}`;
    await escalate(server, bank, late, 'general');
    const offer = await gil.event(gil.of('conversation.offered'));
    assert.equal(offer.conversation.customer_id, late);
    assert.ok(!textsTo(hook, bank, late).includes(closedText));
    await gil.disconnect();
  });
});

test('auto_accept queue: assigned at once, no offer', async () => {
  await withRouting({}, async ({ server, hook, bank }) => {
    const changed = await server.admin('PATCH', '/api/v1/queues/cards', { auto_accept: true });
    assert.equal(changed.status, 200, changed.text);
    const ivy = await readyAgent(server, { display_name: 'Ivy', queues: ['cards'] });
    const customer = `aa-${uid()}`;
    await escalate(server, bank, customer, 'cards');
    const assigned = await ivy.event(ivy.of('conversation.assigned'));
    assert.equal(assigned.conversation.customer_id, customer);
    assert.equal(assigned.conversation.state, 'active');
    assert.equal(assigned.conversation.agent, ivy.username);
    assert.ok(!ivy.frames.some((f) => f.type === 'conversation.offered'), 'no offer on an auto_accept queue');
    await waitFor(() => textsTo(hook, bank, customer).includes('You are now chatting with Ivy.'));
    // It is hers: she can write.
    await ivy.ok('POST', `/api/v1/conversations/${assigned.conversation.id}/messages`, { type: 'text', text: ['Hello'] }, 202);
    assert.equal((await ivy.ok('GET', '/api/v1/agents/me')).chats, 1);
    await ivy.disconnect();
  });
});

test('pull: an agent takes a waiting conversation from the queued list of their queue', async () => {
  await withRouting({}, async ({ server, hook, direct }) => {
    const jo = await createAgent(server, { display_name: 'Jo', queues: ['default'] });
    await jo.connect();
    await jo.signedIn(); // away: offered nothing
    const customers = [`p1-${uid()}`, `p2-${uid()}`];
    for (const c of customers) await server.send(direct, textEvent(c, 'anyone?'));
    const list = await jo.ok('GET', '/api/v1/conversations?queue=default&state=queued');
    assert.deepEqual(list.conversations.map((c) => c.customer_id).sort(), [...customers].sort());
    assert.ok(list.conversations.every((c) => c.state === 'queued' && c.queue === 'default'));
    // Not the oldest: pulling picks any waiting one.
    const pick = list.conversations.find((c) => c.customer_id === customers[1]);
    const taken = await jo.ok('POST', `/api/v1/conversations/${pick.id}/accept`);
    assert.equal(taken.state, 'active');
    assert.equal(taken.agent, jo.username);
    await jo.event(jo.of('conversation.assigned', pick.id));
    await waitFor(() => textsTo(hook, direct, customers[1]).includes('You are now chatting with Jo.'));
    const rest = await jo.ok('GET', '/api/v1/conversations?queue=default&state=queued');
    assert.deepEqual(rest.conversations.map((c) => c.customer_id), [customers[0]]);
    // A queue that is not theirs cannot be listed.
    const other = await jo.api('GET', '/api/v1/conversations?queue=cards&state=queued');
    assert.equal(other.status, 403);
    // Taking it twice is refused.
    const kim = await createAgent(server, { queues: ['default'] });
    const twice = await kim.api('POST', `/api/v1/conversations/${pick.id}/accept`);
    assert.equal(twice.status, 409, twice.text);
    await jo.disconnect();
  });
});

test('transfer to a queue with a note: 404 unknown queue, 409 offline agent; the note, transcript and seqs carry on', async () => {
  await withRouting({}, async (env) => {
    const { server, hook, direct } = env;
    assert.equal((await server.admin('PATCH', '/api/v1/queues/cards', { display_name: 'Cards' })).status, 200);
    const ann = await readyAgent(server, { display_name: 'Ann', queues: ['default'] });
    const customer = `tr-${uid()}`;
    const id = await chatWith(env, ann, customer);
    await server.send(direct, textEvent(customer, 'my card is lost'));
    await ann.event((f) => f.type === 'conversation.message' && f.entry?.payload.text?.[0] === 'my card is lost');
    await ann.ok('POST', `/api/v1/conversations/${id}/messages`, { type: 'text', text: ['Let me pass you on.'] }, 202);

    const unknown = await ann.api('POST', `/api/v1/conversations/${id}/transfer`, { queue: 'nope' });
    assert.equal(unknown.status, 404);
    assert.equal(unknown.json.error.code, 'queue_not_found');
    const offline = await createAgent(server, { queues: ['cards'] }); // never opened a stream
    const away = await ann.api('POST', `/api/v1/conversations/${id}/transfer`, { agent: offline.username });
    assert.equal(away.status, 409);
    assert.equal(away.json.error.code, 'agent_unavailable');
    // Refusals change nothing.
    assert.equal((await ann.ok('GET', `/api/v1/conversations/${id}`)).agent, ann.username);

    const bob = await readyAgent(server, { display_name: 'Bob', queues: ['cards'] });
    const t = await ann.ok('POST', `/api/v1/conversations/${id}/transfer`, { queue: 'cards', note: 'card lost, identity checked' });
    assert.equal(t.queue, 'cards');
    await ann.event((f) => f.type === 'conversation.removed' && f.conversation.id === id && f.reason === 'transferred');
    const offer = await bob.event(bob.of('conversation.offered', id));
    assert.equal(offer.conversation.transfer_note, 'card lost, identity checked');
    await waitFor(() => textsTo(hook, direct, customer).includes('Transferring you to Cards.'), { message: 'transfer text' });
    await bob.ok('POST', `/api/v1/conversations/${id}/accept`);
    await waitFor(() => textsTo(hook, direct, customer).includes('You are now chatting with Bob.'));
    const bobSays = await bob.ok('POST', `/api/v1/conversations/${id}/messages`, { type: 'text', text: ['Bob here.'] }, 202);
    await waitFor(() => hook.deliveredTo(direct, customer).some((e) => e.event_id === bobSays.event_id));

    // One conversation; Bob reads what came before; the customer's seqs are 1..n, no gaps.
    assert.equal((await server.conversationsOf(direct, customer)).length, 1);
    const full = await bob.ok('GET', `/api/v1/conversations/${id}`);
    assert.ok(full.transcript.some((e) => e.payload.text?.[0] === 'my card is lost'));
    assert.ok(full.transcript.some((e) => e.csr_name === 'Ann' && e.payload.text?.[0] === 'Let me pass you on.'));
    const delivered = hook.deliveredTo(direct, customer);
    assert.deepEqual(seqsOf(delivered), range(delivered.length));
    const outSeqs = full.transcript.filter((e) => e.direction === 'outbound').map((e) => e.seq);
    assert.deepEqual(outSeqs, range(outSeqs.length));
    assert.deepEqual(hook.orderViolations(), []);
    // Ann no longer owns it.
    assert.equal((await ann.api('POST', `/api/v1/conversations/${id}/end`)).status, 403);
    await ann.disconnect();
    await bob.disconnect();
  });
});

test('wait_time: when the first waiting customer is taken the second is told queue_position 1', async () => {
  await withRouting({ wait_time_interval_s: 0 }, async ({ server, hook, direct }) => {
    const lee = await createAgent(server, { queues: ['default'], max_chats: 1 });
    await lee.connect();
    await lee.signedIn();
    const [first, second] = [`wt1-${uid()}`, `wt2-${uid()}`];
    await server.send(direct, textEvent(first, 'one'));
    await server.send(direct, textEvent(second, 'two'));
    const waits = (c) => hook.deliveredTo(direct, c).filter((e) => e.type === 'wait_time');
    const texts = (c) => hook.deliveredTo(direct, c).filter((e) => e.type === 'text' && e.from === 'system').map((e) => e.text.join(' '));
    // Lee is signed in but away: nobody is there, so no estimate, their place instead.
    await waitFor(() => texts(second).length >= 1, { message: 'the no-agents text' });
    assert.deepEqual(texts(first), ['All our agents are busy right now. You are number 1 in the queue.']);
    assert.deepEqual(texts(second), ['All our agents are busy right now. You are number 2 in the queue.']);
    assert.deepEqual(waits(second), []);
    await lee.available();
    const offer = await lee.event(lee.of('conversation.offered'));
    assert.equal(offer.conversation.customer_id, first);
    await lee.ok('POST', `/api/v1/conversations/${offer.conversation.id}/accept`);
    const update = await waitFor(() => waits(second).find((e) => e.queue_position === 1), {
      timeout: 5000,
      message: () => `wait_time position 1 for the second; got ${JSON.stringify(waits(second))}`,
    });
    assert.ok(Number.isInteger(update.waitTime) && update.waitTime >= 0);
    assert.equal(update.from, 'system');
    assert.ok(!waits(second).some((e) => e.queue_position > 2));
    assert.deepEqual(hook.orderViolations(), []);
    await lee.disconnect();
  });
});

test('queue.updated reaches the agents of the queue when its counts change, not others', async () => {
  await withRouting({}, async ({ server, direct }) => {
    const mo = await createAgent(server, { queues: ['default'] });
    await mo.connect();
    await mo.signedIn();
    const ned = await createAgent(server, { queues: ['cards'] });
    await ned.connect();
    await ned.signedIn();
    const updated = (pred) => (f) => f.type === 'queue.updated' && f.queue?.name === 'default' && pred(f.queue);
    const mark = mo.frames.length;
    await server.send(direct, textEvent(`qu-${uid()}`, 'hi'));
    const joined = await mo.event(updated((q) => q.waiting === 1), { from: mark, message: 'waiting 1' });
    assert.equal(joined.queue.active, 0);
    await mo.available();
    const offer = await mo.event(mo.of('conversation.offered'));
    await mo.ok('POST', `/api/v1/conversations/${offer.conversation.id}/accept`);
    const taken = await mo.event(updated((q) => q.waiting === 0 && q.active === 1), { message: 'active 1' });
    assert.ok(taken.seq > joined.seq);
    await mo.ok('POST', `/api/v1/conversations/${offer.conversation.id}/end`);
    await mo.event(updated((q) => q.active === 0), { from: mo.frames.indexOf(taken) + 1, message: 'active 0' });
    assert.ok(!ned.frames.some((f) => f.type === 'queue.updated' && f.queue?.name === 'default'), 'not to agents of other queues');
    await mo.disconnect();
    await ned.disconnect();
  });
});

test('a stream that never reads does not slow the server; it is closed and a reconnect with after catches up', async () => {
  await withRouting({}, async (env) => {
    const { server } = env;
    const oz = await readyAgent(server, { queues: ['default'] });
    const customer = `slow-${uid()}`;
    const id = await chatWith(env, oz, customer);
    await oz.event(oz.of('conversation.assigned', id));
    const ws = oz.ws;
    let closeCode = null;
    ws.on('close', (code) => (closeCode = code));
    ws.pause(); // the socket is no longer read: the kernel buffers fill, then the server's queue
    const big = 'x'.repeat(48 * 1024);
    const n = 150; // ~7 MB of events, far past the 1 MiB bound and the socket buffers
    let slowest = 0;
    for (let i = 0; i < n; i++) {
      const t0 = Date.now();
      await server.send(env.direct, textEvent(customer, [`big ${i}`, big]));
      slowest = Math.max(slowest, Date.now() - t0);
    }
    assert.ok(slowest < 3000, `the slowest POST /messages took ${slowest} ms`);
    // Other requests answer at once too.
    const t0 = Date.now();
    await oz.ok('GET', '/api/v1/queues');
    assert.ok(Date.now() - t0 < 3000);
    // Reading again, the client finds the stream closed by the server.
    ws.resume();
    await waitFor(() => closeCode !== null, { timeout: 15000, message: 'the server closes the stalled stream' });
    assert.ok([1013, 1006].includes(closeCode), `close code ${closeCode}`);
    const got = oz.frames.filter((f) => typeof f.seq === 'number').map((f) => f.seq);
    for (let i = 1; i < got.length; i++) assert.equal(got[i], got[i - 1] + 1, 'what arrived before the close is in order');
    const texts = () => oz.frames.filter((f) => f.type === 'conversation.message' && f.entry?.from === 'customer').map((f) => f.entry.payload.text[0]);
    assert.ok(texts().length < n + 1, 'the stream was cut before everything arrived');
    // The client reconnects with after (again whenever the server closes a page of replay)
    // until it has everything.
    let reconnects = 0;
    while (!texts().includes(`big ${n - 1}`)) {
      assert.ok(++reconnects <= 30, `caught up within 30 reconnects; ${texts().length} texts, last ${texts().at(-1)}`);
      const before = texts().length;
      await oz.connect({ after: oz.lastSeq() });
      oz.ws.on('error', () => {});
      const closed = new Promise((resolve) => oz.ws.once('close', resolve));
      await Promise.race([closed, waitFor(() => texts().includes(`big ${n - 1}`), { timeout: 15000, message: 'caught up' })]);
      assert.ok(texts().length > before, 'each reconnect makes progress');
    }
    const all = texts().filter((t) => t.startsWith('big '));
    assert.deepEqual(all, range(n, 0).map((i) => `big ${i}`), 'each message once, in order');
    await oz.disconnect();
  });
});

test('nothing is ever lost: 50 customer messages while the agent stream reconnects twice', async () => {
  await withRouting({}, async (env) => {
    const { server, direct } = env;
    const pat = await readyAgent(server, { queues: ['default'] });
    const customer = `nl-${uid()}`;
    const id = await chatWith(env, pat, customer);
    const n = 50;
    const customerTexts = () =>
      pat.frames.filter((f) => f.type === 'conversation.message' && f.entry?.from === 'customer').map((f) => f.entry.payload.text[0]);
    let sentCount = 0;
    const sending = (async () => {
      for (let i = 0; i < n; i++) {
        await server.send(direct, textEvent(customer, `m${i}`));
        sentCount = i + 1;
      }
    })();
    // First drop: a clean close after some messages arrived; second: the socket just dies.
    await waitFor(() => customerTexts().includes('m10'), { message: 'm10' });
    await pat.disconnect();
    await waitFor(() => sentCount >= 20, { message: '20 sent' });
    await pat.connect({ after: pat.lastSeq() });
    pat.ws.on('error', () => {});
    await waitFor(() => customerTexts().includes('m25'), { message: 'm25' });
    const dying = pat.ws;
    const died = new Promise((resolve) => dying.once('close', resolve));
    dying.terminate();
    await died;
    await waitFor(() => sentCount >= 35, { message: '35 sent' });
    await pat.connect({ after: pat.lastSeq() });
    pat.ws.on('error', () => {});
    await sending;
    await waitFor(() => customerTexts().includes(`m${n - 1}`), { message: 'the last message' });

    const want = range(n, 0).map((i) => `m${i}`);
    assert.deepEqual(customerTexts().filter((t) => /^m\d+$/.test(t)), want, 'the agent got each message once, in order');
    const seqs = pat.frames.filter((f) => typeof f.seq === 'number').map((f) => f.seq);
    for (let i = 1; i < seqs.length; i++) assert.equal(seqs[i], seqs[i - 1] + 1, `stream seq ${seqs[i - 1]} then ${seqs[i]}`);
    const transcript = (await pat.ok('GET', `/api/v1/conversations/${id}`)).transcript
      .filter((e) => e.from === 'customer')
      .map((e) => e.payload.text[0])
      .filter((t) => /^m\d+$/.test(t));
    assert.deepEqual(transcript, want, 'the transcript holds each message once, in order');
    await pat.disconnect();
  });
});
