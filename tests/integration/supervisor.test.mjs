// Issue 19, supervisors, through the real binary: the role's permissions (everything an agent
// may, plus every queue, agent and conversation and the overview; never connections, users or
// bots), away reasons, and each action on a live chat — monitor (its events reach the
// supervisor's stream until unmonitor), whisper (never reaches the customer's webhook), join
// (the supervisor's messages go out from csr with their own csr_name), take over and reassign,
// force away, sign out — each written to the transcript as a system entry.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { PASSWORD, createAgent, readyAgent, startRouting, textsTo } from './agent_support.mjs';
import { textEvent, uid, waitFor } from './harness.mjs';

// A customer of the no-bot connection, taken by `agent`: returns the conversation.
async function liveChat(env, agent, customer = `sup-${uid()}`) {
  const { server, direct } = env;
  await server.send(direct, textEvent(customer, 'I need help'));
  const offered = await agent.event((f) => f.type === 'conversation.offered' && f.conversation.customer_id === customer, { message: 'offer' });
  const conv = await agent.ok('POST', `/api/v1/conversations/${offered.conversation.id}/accept`);
  return { conv, customer };
}

const systemNotes = (full) => full.transcript.filter((e) => e.direction === 'note' && e.from === 'system').map((e) => e.payload.text);

test('a supervisor sees every queue, agent and conversation, but no connections, users or bots', async () => {
  const env = await startRouting();
  try {
    const { server } = env;
    const sue = await createAgent(server, { role: 'supervisor', display_name: 'Sue', queues: [] });
    const agent = await createAgent(server, { display_name: 'Al' });
    assert.equal((await server.admin('GET', `/api/v1/users/${sue.username}`)).json.role, 'supervisor');
    const overview = await sue.ok('GET', '/api/v1/overview');
    assert.ok(Array.isArray(overview.queues) && Array.isArray(overview.agents));
    assert.ok(overview.agents.some((a) => a.username === agent.username));
    assert.ok((await sue.ok('GET', '/api/v1/agents')).agents.some((a) => a.username === agent.username));
    await sue.ok('GET', '/api/v1/conversations?state=active');
    await sue.ok('GET', `/api/v1/conversations?agent=${agent.username}`);
    for (const [method, path, body] of [
      ['GET', '/api/v1/connections'],
      ['POST', '/api/v1/connections', { name: 'x', client_webhook: 'https://example.com/hook' }],
      ['GET', '/api/v1/users'],
      ['POST', '/api/v1/users', { username: 'zz', password: PASSWORD, display_name: 'Z', role: 'agent', queues: [] }],
      ['GET', '/api/v1/bots'],
      ['POST', '/api/v1/bots/bank/reload'],
      ['GET', '/api/v1/audit'],
      ['POST', '/api/v1/queues', { name: 'nope' }],
    ]) {
      const r = await sue.api(method, path, body);
      assert.equal(r.status, 403, `${method} ${path}: ${r.status}`);
      assert.equal(r.json.error.code, 'forbidden');
    }
    // An agent gets none of the supervisor's reads or actions.
    for (const [method, path] of [
      ['GET', '/api/v1/overview'],
      ['GET', '/api/v1/agents'],
      ['POST', `/api/v1/agents/${sue.username}/sign-out`],
      ['POST', '/api/v1/conversations/00000000-0000-4000-8000-000000000000/monitor'],
    ]) {
      const r = await agent.api(method, path);
      assert.equal(r.status, 403, `${method} ${path}`);
    }
    // A bad role is refused with the roles named.
    const bad = await server.admin('POST', '/api/v1/users', { username: `b${uid().slice(0, 6)}`, password: PASSWORD, display_name: 'B', role: 'boss', queues: [] });
    assert.equal(bad.status, 400);
    assert.equal(bad.json.error.code, 'invalid_role');
    assert.match(bad.json.error.message, /supervisor/);
  } finally {
    await env.close();
  }
});

test('away reasons: a configured reason is kept and shown, anything else is a 400; time in each status is recorded', async () => {
  const env = await startRouting({ away_reasons: ['break', 'lunch', 'coaching'] });
  try {
    const { server } = env;
    const ann = await readyAgent(server, { display_name: 'Ann' });
    const me = await ann.ok('GET', '/api/v1/agents/me');
    assert.deepEqual(me.away_reasons, ['break', 'lunch', 'coaching']);
    const away = await ann.ok('PUT', '/api/v1/agents/me/status', { status: 'away', reason: 'coaching' });
    assert.equal(away.status, 'away');
    assert.equal(away.away_reason, 'coaching');
    assert.ok(Date.parse(away.status_since) <= Date.now());
    for (const body of [{ status: 'away', reason: 'meeting' }, { status: 'away', reason: 7 }, { status: 'available', reason: 'lunch' }]) {
      const r = await ann.api('PUT', '/api/v1/agents/me/status', body);
      assert.equal(r.status, 400, JSON.stringify(body));
      assert.equal(r.json.error.code, 'invalid_reason');
    }
    assert.equal((await ann.ok('GET', '/api/v1/agents/me')).away_reason, 'coaching', 'a refusal changes nothing');
    const listed = (await server.admin('GET', '/api/v1/agents')).json.agents.find((a) => a.username === ann.username);
    assert.equal(listed.away_reason, 'coaching');
    const back = await ann.available();
    assert.equal(back.away_reason, null);
    await ann.disconnect();
  } finally {
    await env.close();
  }
});

test('monitor: the chat\'s events reach the supervisor\'s stream until unmonitor; a whisper never reaches the customer', async () => {
  const env = await startRouting();
  try {
    const { server, direct, hook } = env;
    const ann = await readyAgent(server, { display_name: 'Ann' });
    const sue = await createAgent(server, { role: 'supervisor', display_name: 'Sue', queues: [] });
    await sue.connect();
    const { conv, customer } = await liveChat(env, ann);

    const watched = await sue.ok('POST', `/api/v1/conversations/${conv.id}/monitor`);
    assert.equal(watched.id, conv.id);
    const from = sue.frames.length;
    await server.send(direct, textEvent(customer, 'is anyone there?'));
    const seen = await sue.event((f) => f.type === 'conversation.message' && f.conversation.id === conv.id && f.entry?.from === 'customer', { from, message: 'customer message while monitored' });
    assert.equal(seen.monitoring, true);
    assert.deepEqual(seen.entry.payload.text, ['is anyone there?']);

    const whisper = await sue.api('POST', `/api/v1/conversations/${conv.id}/whisper`, { text: 'Offer the fee refund' });
    assert.equal(whisper.status, 201);
    assert.equal(whisper.json.direction, 'note');
    assert.equal(whisper.json.type, 'whisper');
    assert.equal(whisper.json.csr_name, 'Sue');
    await ann.event((f) => f.type === 'conversation.message' && f.entry?.type === 'whisper', { message: 'the agent reads the whisper' });
    // The agent's message after it is delivered; the whisper never is.
    await ann.ok('POST', `/api/v1/conversations/${conv.id}/messages`, { type: 'text', text: ['Here to help'] }, 202);
    await waitFor(() => textsTo(hook, direct, customer).includes('Here to help'), { message: 'agent message delivered' });
    assert.ok(!textsTo(hook, direct, customer).some((t) => t.includes('fee refund')), 'the whisper reached the customer');
    assert.ok(!hook.deliveredTo(direct, customer).some((e) => JSON.stringify(e).includes('fee refund')));
    const bad = await sue.api('POST', `/api/v1/conversations/${conv.id}/whisper`, { text: '' });
    assert.equal(bad.status, 400);

    await sue.ok('POST', `/api/v1/conversations/${conv.id}/unmonitor`);
    const after = sue.frames.length;
    await server.send(direct, textEvent(customer, 'after unmonitor'));
    await ann.event((f) => f.type === 'conversation.message' && f.entry?.payload?.text?.[0] === 'after unmonitor', { message: 'agent still hears' });
    assert.ok(!sue.frames.slice(after).some((f) => f.conversation?.id === conv.id && f.entry?.payload?.text?.[0] === 'after unmonitor'));
    const again = await sue.api('POST', `/api/v1/conversations/${conv.id}/unmonitor`);
    assert.equal(again.status, 409);
    assert.equal(again.json.error.code, 'not_monitoring');

    const notes = systemNotes(await server.conversation(conv.id));
    assert.ok(notes.includes('Sue is monitoring this chat.'), notes.join(' | '));
    assert.ok(notes.includes('Sue stopped monitoring this chat.'));
    const missing = await sue.api('POST', `/api/v1/conversations/${uid()}/monitor`);
    assert.equal(missing.status, 404);
    await ann.disconnect();
    await sue.disconnect();
  } finally {
    await env.close();
  }
});

test('join: the supervisor writes to the customer as csr with their own name and the agent keeps the chat', async () => {
  const env = await startRouting();
  try {
    const { server, direct, hook } = env;
    const ann = await readyAgent(server, { display_name: 'Ann' });
    const sue = await createAgent(server, { role: 'supervisor', display_name: 'Sue Visor', queues: [] });
    const { conv, customer } = await liveChat(env, ann);
    const before = await sue.api('POST', `/api/v1/conversations/${conv.id}/messages`, { type: 'text', text: ['too early'] });
    assert.equal(before.status, 403);
    await sue.ok('POST', `/api/v1/conversations/${conv.id}/join`);
    await sue.ok('POST', `/api/v1/conversations/${conv.id}/messages`, { type: 'text', text: ['Hello, I am the supervisor'] }, 202);
    const sent = await waitFor(() => hook.deliveredTo(direct, customer).find((e) => e.text?.[0] === 'Hello, I am the supervisor'), { message: 'supervisor message delivered' });
    assert.equal(sent.from, 'csr');
    assert.equal(sent.csr_name, 'Sue Visor');
    const full = await server.conversation(conv.id);
    assert.equal(full.state, 'active');
    assert.equal(full.agent, ann.username);
    assert.ok(systemNotes(full).some((t) => t.startsWith('Sue Visor joined the chat')));
    await ann.ok('POST', `/api/v1/conversations/${conv.id}/messages`, { type: 'text', text: ['Ann here too'] }, 202);
    await sue.ok('POST', `/api/v1/conversations/${conv.id}/unmonitor`);
    const left = await sue.api('POST', `/api/v1/conversations/${conv.id}/messages`, { type: 'text', text: ['gone'] });
    assert.equal(left.status, 403);
    await ann.disconnect();
  } finally {
    await env.close();
  }
});

test('transfer by a supervisor: take over any chat, reassign another to a queue', async () => {
  const env = await startRouting();
  try {
    const { server, direct, hook } = env;
    const ann = await readyAgent(server, { display_name: 'Ann' });
    const sue = await readyAgent(server, { role: 'supervisor', display_name: 'Sue', queues: [] });
    const { conv, customer } = await liveChat(env, ann);
    const seq = ann.lastSeq();
    const taken = await sue.ok('POST', `/api/v1/conversations/${conv.id}/transfer`, { agent: sue.username });
    assert.equal(taken.state, 'active');
    assert.equal(taken.agent, sue.username);
    const removed = await ann.event((f) => f.seq > seq && f.type === 'conversation.removed' && f.conversation.id === conv.id);
    assert.equal(removed.reason, 'taken');
    await waitFor(() => textsTo(hook, direct, customer).includes('You are now chatting with Sue.'), { message: 'customer told' });
    assert.ok(systemNotes(await server.conversation(conv.id)).includes('Sue took over the chat from ' + ann.username + '.'));

    // An agent may not move someone else's chat.
    const { conv: other } = await liveChat(env, ann);
    const bob = await readyAgent(server, { display_name: 'Bob' });
    const refused = await bob.api('POST', `/api/v1/conversations/${other.id}/transfer`, { queue: 'default' });
    assert.equal(refused.status, 403);
    const moved = await sue.ok('POST', `/api/v1/conversations/${other.id}/transfer`, { queue: 'default', note: 'Needs a card specialist' });
    assert.notEqual(moved.agent, ann.username);
    const notes = systemNotes(await server.conversation(other.id));
    assert.ok(notes.some((t) => t.startsWith('Sue reassigned the chat to queue default')), notes.join(' | '));
    for (const a of [ann, sue, bob]) await a.disconnect();
  } finally {
    await env.close();
  }
});

test('force away and sign out: the agent is set away with a reason; signed out, their stream closes and their chats go back', async () => {
  const env = await startRouting();
  try {
    const { server, direct, hook } = env;
    const ann = await readyAgent(server, { display_name: 'Ann' });
    const sue = await createAgent(server, { role: 'supervisor', display_name: 'Sue', queues: [] });
    const { conv, customer } = await liveChat(env, ann);

    const away = await sue.ok('PUT', `/api/v1/agents/${ann.username}/status`, { status: 'away', reason: 'meeting' });
    assert.equal(away.status, 'away');
    assert.equal(away.away_reason, 'meeting');
    await ann.event((f) => f.type === 'agent.status' && f.agent.status === 'away', { message: 'agent told' });
    const badReason = await sue.api('PUT', `/api/v1/agents/${ann.username}/status`, { status: 'away', reason: 'nap' });
    assert.equal(badReason.status, 400);
    const nobody = await sue.api('PUT', '/api/v1/agents/nobody-here/status', { status: 'away' });
    assert.equal(nobody.status, 404);
    assert.equal(nobody.json.error.code, 'agent_not_found');

    const closed = new Promise((resolve) => ann.ws.once('close', (code) => resolve(code)));
    const out = await sue.ok('POST', `/api/v1/agents/${ann.username}/sign-out`);
    assert.equal(out.status, 'offline');
    assert.equal(await closed, 1008);
    const after = await ann.api('GET', '/api/v1/agents/me');
    assert.equal(after.status, 401, 'the session ended');
    const back = await server.conversation(conv.id);
    assert.equal(back.state, 'queued');
    await waitFor(() => textsTo(hook, direct, customer).some((t) => t.includes('Your agent had to leave')), { message: 'requeue text' });
    const notes = systemNotes(back);
    assert.ok(notes.includes('Sue set Ann away (meeting).'), notes.join(' | '));
    assert.ok(notes.includes('Sue signed Ann out.'));
  } finally {
    await env.close();
  }
});
