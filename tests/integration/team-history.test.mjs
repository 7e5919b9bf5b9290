// Issue 16 through the real binary: an agent's own history (the console's History),
// GET /api/v1/agents/me/conversations: their ended chats, newest first, with the wrap-up code,
// paged, never another agent's; and each opens with GET /api/v1/conversations/{id}.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { readyAgent, startRouting } from './agent_support.mjs';
import { textEvent, uid } from './harness.mjs';

// A customer writes on `conn`; `agent` gets the offer, accepts and ends it with `body`.
async function handleChat(server, conn, agent, customer, body) {
  await server.send(conn, textEvent(customer, 'hi'));
  const offer = await agent.event((f) => f.type === 'conversation.offered' && f.conversation.customer_id === customer, { message: `offered ${customer}` });
  const id = offer.conversation.id;
  await agent.ok('POST', `/api/v1/conversations/${id}/accept`);
  const ended = await agent.ok('POST', `/api/v1/conversations/${id}/end`, body);
  assert.equal(ended.state, 'ended');
  return id;
}

test("an agent's history: their own ended chats, newest first, with wrap-up codes, paged; nobody else's", async () => {
  const env = await startRouting();
  try {
    const { server, direct } = env;
    await server.admin('POST', '/api/v1/queues', { name: 'default', wrap_up_codes: ['resolved', 'callback'] });
    const ann = await readyAgent(server, { display_name: 'Ann' });
    assert.deepEqual(await ann.ok('GET', '/api/v1/agents/me/conversations'), { conversations: [], next: null });

    const first = await handleChat(server, direct, ann, `h1-${uid()}`, { wrap_up: 'resolved', note: 'Card unblocked' });
    const second = await handleChat(server, direct, ann, `h2-${uid()}`, undefined);
    // Bob takes the next chat while Ann is away: it is his, not hers.
    await ann.ok('PUT', '/api/v1/agents/me/status', { status: 'away' });
    const bob = await readyAgent(server, { display_name: 'Bob' });
    const third = await handleChat(server, direct, bob, `h3-${uid()}`, { wrap_up: 'callback' });
    // An active chat of Ann's is not history.
    await ann.ok('PUT', '/api/v1/agents/me/status', { status: 'available' });
    await bob.ok('PUT', '/api/v1/agents/me/status', { status: 'away' });
    const open = `h4-${uid()}`;
    await server.send(direct, textEvent(open, 'hi'));
    const offer = await ann.event((f) => f.type === 'conversation.offered' && f.conversation.customer_id === open, { message: 'offered the open one' });
    await ann.ok('POST', `/api/v1/conversations/${offer.conversation.id}/accept`);

    const mine = await ann.ok('GET', '/api/v1/agents/me/conversations');
    assert.deepEqual(mine.conversations.map((c) => c.id), [second, first], 'newest first, only her ended chats');
    assert.deepEqual(mine.conversations.map((c) => c.wrap_up), [null, 'resolved']);
    assert.deepEqual(mine.conversations.map((c) => [c.state, c.last_agent]), [['ended', ann.username], ['ended', ann.username]]);
    assert.equal(mine.next, null);
    const his = await bob.ok('GET', '/api/v1/agents/me/conversations?state=ended');
    assert.deepEqual(his.conversations.map((c) => [c.id, c.wrap_up]), [[third, 'callback']]);

    // Paged like GET /api/v1/conversations.
    const page1 = await ann.ok('GET', '/api/v1/agents/me/conversations?limit=1');
    assert.deepEqual(page1.conversations.map((c) => c.id), [second]);
    assert.ok(page1.next);
    const page2 = await ann.ok('GET', `/api/v1/agents/me/conversations?limit=1&after=${encodeURIComponent(page1.next)}`);
    assert.deepEqual(page2.conversations.map((c) => c.id), [first]);
    assert.equal(page2.next, null);
    // Another agent's cursor, or another list's, is refused: it belongs to Ann's history.
    const foreign = await bob.api('GET', `/api/v1/agents/me/conversations?after=${encodeURIComponent(page1.next)}`);
    assert.equal(foreign.status, 400);
    assert.equal(foreign.json.error.code, 'invalid_cursor');

    // Opening one: the transcript, with its wrap-up.
    const read = await ann.ok('GET', `/api/v1/conversations/${first}`);
    assert.deepEqual(read.transcript.filter((e) => e.type === 'wrap_up').map((e) => e.payload), [{ code: 'resolved', note: 'Card unblocked' }]);

    // Bad input: a clear error, nothing listed.
    for (const [query, status, code] of [
      ['?state=active', 400, 'invalid_state'],
      ['?limit=0', 400, 'invalid_limit'],
      ['?after=nonsense', 400, 'invalid_cursor'],
    ]) {
      const r = await ann.api('GET', `/api/v1/agents/me/conversations${query}`);
      assert.equal(r.status, status, query);
      assert.equal(r.json.error.code, code, query);
    }
    const admin = await server.admin('GET', '/api/v1/agents/me/conversations');
    assert.equal(admin.status, 403);
    assert.equal(admin.json.error.code, 'forbidden');
    await ann.disconnect();
    await bob.disconnect();
  } finally {
    await env.close();
  }
});
