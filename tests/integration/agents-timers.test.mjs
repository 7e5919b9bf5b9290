// The routing timers through the real binary, with small settings: idle customers get a
// reminder and then an end (with an agent and with the bot); an agent whose stream stays closed
// past agent_offline_after_s goes offline and their chat goes back to the head of its queue,
// while one who comes back within the grace keeps theirs.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createAgent, readyAgent, startRouting, textsTo } from './agent_support.mjs';
import { delay, textEvent, uid, waitFor } from './harness.mjs';

const REMINDER = 'Are you still there? This chat will close soon.';
const IDLE_END = 'This chat was closed because it was inactive.';
const REQUEUE = 'Your agent had to leave; the next available agent will join you.';

test('idle customers: reminder, then the end text and csr_end_session; with an agent and with the bot', async () => {
  const env = await startRouting({ customer_idle_reminder_s: 2, customer_idle_end_s: 4 });
  try {
    const { server, hook, bank, direct } = env;
    // With an agent.
    const ann = await readyAgent(server, { queues: ['default'] });
    const withAgent = `idle-a-${uid()}`;
    await server.send(direct, textEvent(withAgent, 'hi'));
    const offer = await ann.event(ann.of('conversation.offered'));
    const id = offer.conversation.id;
    await ann.ok('POST', `/api/v1/conversations/${id}/accept`);
    // With the bot: a customer who greets the bank bot and then says nothing.
    const withBot = `idle-b-${uid()}`;
    await server.send(bank, textEvent(withBot, 'hello'));
    const botConv = await waitFor(async () => (await server.conversationsOf(bank, withBot))[0], { message: 'bot conversation' });
    assert.equal(botConv.state, 'bot');

    for (const [conn, customer] of [[direct, withAgent], [bank, withBot]]) {
      await waitFor(() => hook.deliveredTo(conn, customer).some((e) => e.type === 'csr_end_session'), {
        timeout: 10000,
        message: () => `csr_end_session to ${customer}; texts ${JSON.stringify(textsTo(hook, conn, customer))}`,
      });
      const events = hook.deliveredTo(conn, customer);
      const reminder = events.findIndex((e) => e.type === 'text' && e.text[0] === REMINDER);
      const end = events.findIndex((e) => e.type === 'text' && e.text[0] === IDLE_END);
      const csrEnd = events.findIndex((e) => e.type === 'csr_end_session');
      assert.ok(reminder >= 0 && end > reminder && csrEnd > end, `reminder < end text < csr_end_session for ${customer}`);
      assert.equal(events[reminder].from, 'system');
      assert.equal(events.filter((e) => e.type === 'text' && e.text[0] === REMINDER).length, 1, 'one reminder');
      // The reminder came about 2 s after the customer's last message, the end about 4 s after.
      const attempts = hook.attemptsFor(conn, customer).filter((a) => a.outcome === 'ok');
      const gap = attempts[csrEnd].t - attempts[reminder].t;
      assert.ok(gap >= 1000 && gap <= 4500, `end ${gap} ms after the reminder`);
    }
    assert.deepEqual(hook.orderViolations(), []);
    // The agent is told the customer timed out, and the conversation is ended for good.
    const ended = await ann.event((f) => f.type === 'conversation.ended' && f.conversation.id === id);
    assert.equal(ended.by, 'timeout');
    assert.equal((await server.conversation(id)).state, 'ended');
    assert.equal((await server.conversation(botConv.id)).state, 'ended');
    const late = await ann.api('POST', `/api/v1/conversations/${id}/messages`, { type: 'text', text: ['still there?'] });
    assert.equal(late.status, 409);
    // The agent's chat count is back to zero.
    assert.equal((await ann.ok('GET', '/api/v1/agents/me')).chats, 0);
    await ann.disconnect();
  } finally {
    await env.close();
  }
});

test('an agent whose stream stays closed goes offline; their chat goes back to the head of the queue', async () => {
  const env = await startRouting({ agent_offline_after_s: 2 });
  try {
    const { server, hook, direct } = env;
    const boss = await createAgent(server, { role: 'admin', queues: [] });
    await boss.connect();
    await boss.signedIn();
    const ann = await readyAgent(server, { display_name: 'Ann', queues: ['default'], max_chats: 1 });
    const bob = await createAgent(server, { display_name: 'Bob', queues: ['default'], max_chats: 1 });
    await bob.connect(); // signed in but away
    await bob.signedIn();
    const first = `off-1-${uid()}`;
    await server.send(direct, textEvent(first, 'hi'));
    const offer = await ann.event(ann.of('conversation.offered'));
    const id = offer.conversation.id;
    await ann.ok('POST', `/api/v1/conversations/${id}/accept`);
    await waitFor(() => textsTo(hook, direct, first).includes('You are now chatting with Ann.'));
    // A second customer waits behind: Ann is full, Bob away.
    const second = `off-2-${uid()}`;
    await server.send(direct, textEvent(second, 'me too'));
    const secondId = (await waitFor(async () => (await server.conversationsOf(direct, second))[0])).id;
    assert.equal((await server.conversation(secondId)).state, 'queued');

    const seen = ann.lastSeq();
    const closedAt = Date.now();
    const mark = boss.frames.length;
    await ann.disconnect();
    // The admin's stream sees Ann go offline, after the grace and not long after it.
    const status = await boss.event((f) => f.type === 'agent.status' && f.agent?.username === ann.username && f.agent.status === 'offline', {
      from: mark,
      timeout: 8000,
      message: 'ann offline',
    });
    const after = Date.now() - closedAt;
    assert.ok(after >= 1500, `offline after ${after} ms, not before the 2 s grace`);
    assert.equal(status.agent.chats, 0);
    const agents = await server.admin('GET', '/api/v1/agents');
    assert.equal(agents.json.agents.find((a) => a.username === ann.username).status, 'offline');
    assert.equal(agents.json.agents.find((a) => a.username === bob.username).status, 'away');
    // Her chat is queued again, the customer is told.
    await waitFor(() => textsTo(hook, direct, first).includes(REQUEUE), { message: 'requeue text' });
    const requeued = await server.conversation(id);
    assert.equal(requeued.state, 'queued');
    assert.equal(requeued.agent ?? null, null);
    // At the head: the first agent to become available is offered it, before the second customer.
    await bob.available();
    const next = await bob.event(bob.of('conversation.offered'));
    assert.equal(next.conversation.id, id, 'the requeued chat comes first');
    await bob.ok('POST', `/api/v1/conversations/${id}/accept`);
    await waitFor(() => textsTo(hook, direct, first).includes('You are now chatting with Bob.'));
    // The customer's events went out in order, one conversation throughout.
    assert.deepEqual(hook.orderViolations(), []);
    assert.equal((await server.conversationsOf(direct, first)).length, 1);
    // Ann, back, replays that she lost it.
    ann.frames = [];
    await ann.connect({ after: seen });
    const removed = await ann.event((f) => f.type === 'conversation.removed' && f.conversation.id === id);
    assert.equal(removed.reason, 'offline');
    await boss.event((f) => f.type === 'agent.status' && f.agent?.username === ann.username && f.agent.status !== 'offline', {
      from: boss.frames.indexOf(status) + 1,
      message: 'ann online again',
    });
    await ann.disconnect();
    await bob.disconnect();
    await boss.disconnect();
  } finally {
    await env.close();
  }
});

test('an agent who reconnects within agent_offline_after_s keeps their chats', async () => {
  const env = await startRouting({ agent_offline_after_s: 2 });
  try {
    const { server, hook, direct } = env;
    const cat = await readyAgent(server, { display_name: 'Cat', queues: ['default'] });
    const customer = `grace-${uid()}`;
    await server.send(direct, textEvent(customer, 'hi'));
    const offer = await cat.event(cat.of('conversation.offered'));
    const id = offer.conversation.id;
    await cat.ok('POST', `/api/v1/conversations/${id}/accept`);
    const seen = cat.lastSeq();
    // Drop the stream and come back at once, twice, as a flaky network does.
    for (let i = 0; i < 2; i++) {
      await cat.disconnect();
      await cat.connect({ after: seen });
      cat.ws.on('error', () => {});
      await cat.signedIn();
    }
    // Stay connected past the grace: nothing may happen (a negative check needs the wait).
    await delay(3500);
    const conv = await server.conversation(id);
    assert.equal(conv.state, 'active');
    assert.equal(conv.agent, cat.username);
    const me = await cat.ok('GET', '/api/v1/agents/me');
    assert.equal(me.status, 'available');
    assert.equal(me.chats, 1);
    assert.ok(!textsTo(hook, direct, customer).includes(REQUEUE), 'no requeue text');
    assert.ok(!cat.frames.some((f) => f.type === 'conversation.removed'), 'not removed');
    // And the chat works both ways.
    await server.send(direct, textEvent(customer, 'still with me?'));
    await cat.event((f) => f.type === 'conversation.message' && f.entry?.payload.text?.[0] === 'still with me?');
    const sent = await cat.ok('POST', `/api/v1/conversations/${id}/messages`, { type: 'text', text: ['yes'] }, 202);
    await waitFor(() => hook.deliveredTo(direct, customer).some((e) => e.event_id === sent.event_id));
    await cat.disconnect();
  } finally {
    await env.close();
  }
});
