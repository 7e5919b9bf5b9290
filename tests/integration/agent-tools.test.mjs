// Canned responses (/api/v1/responses) and internal notes (/api/v1/conversations/{id}/notes)
// through the real binary, with a real webhook receiver: a note is in the transcript for agents
// and admins and never reaches the customer.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { createAgent, escalate, startRouting } from './agent_support.mjs';
import { uid, waitFor } from './harness.mjs';

let env;
before(async () => {
  env = await startRouting();
});
after(() => env?.close());

test('a note: in the transcript for agents and admins, marked as a note, never delivered', async () => {
  const { server, hook, bank } = env;
  const ann = await createAgent(server, { display_name: 'Ann Note', queues: ['cards'] });
  const outsider = await createAgent(server, { display_name: 'Out Sider', queues: ['general'] });
  await ann.connect();
  const customer = `c-${uid()}`;
  await escalate(server, bank, customer, 'cards');
  const [conv] = await server.conversationsOf(bank, customer);
  await ann.ok('POST', `/api/v1/conversations/${conv.id}/accept`);
  await ann.ok('POST', `/api/v1/conversations/${conv.id}/messages`, { type: 'text', text: ['Hello from Ann'] }, 202);

  const note = await ann.ok('POST', `/api/v1/conversations/${conv.id}/notes`, { text: 'Customer sounds upset; card 4321.' }, 201);
  assert.equal(note.direction, 'note');
  assert.equal(note.type, 'note');
  assert.equal(note.from, 'csr');
  assert.equal(note.csr_name, 'Ann Note');
  assert.equal(note.payload.text, 'Customer sounds upset; card 4321.');
  assert.ok(!('delivery_status' in note), 'a note has no delivery');
  // The owning agent hears of it live, like any entry.
  const live = await ann.event((f) => f.type === 'conversation.message' && f.entry?.direction === 'note', { message: 'the note live' });
  assert.equal(live.entry.position, note.position);

  // Something sent after the note still reaches the customer, and the note never does.
  const after = await ann.ok('POST', `/api/v1/conversations/${conv.id}/messages`, { type: 'text', text: ['After the note'] }, 202);
  await waitFor(() => hook.deliveredTo(bank, customer).some((e) => e.event_id === after.event_id), { message: 'the later message' });
  const delivered = hook.deliveredTo(bank, customer);
  assert.ok(!JSON.stringify(delivered).includes('sounds upset'), 'the note never reached the webhook');
  const seqs = delivered.map((e) => e.seq);
  assert.deepEqual(seqs, [...seqs].sort((a, b) => a - b));
  assert.equal(new Set(seqs).size, seqs.length, 'no gap or repeat caused by the note');
  for (let i = 1; i < seqs.length; i++) assert.equal(seqs[i], seqs[i - 1] + 1, 'seq has no hole');

  // In the transcript for the agent and for an admin, in place.
  for (const reader of [ann, null]) {
    const full = reader ? await reader.ok('GET', `/api/v1/conversations/${conv.id}`) : (await server.admin('GET', `/api/v1/conversations/${conv.id}`)).json;
    const n = full.transcript.find((e) => e.direction === 'note');
    assert.equal(n?.payload.text, 'Customer sounds upset; card 4321.');
    const positions = full.transcript.map((e) => e.position);
    assert.deepEqual(positions, [...positions].sort((a, b) => a - b));
  }
  // Not in the connection's deliveries either.
  const deliveries = (await server.admin('GET', `/api/v1/connections/${bank.connection_id}/deliveries?limit=1000`)).json.deliveries;
  assert.ok(!deliveries.some((x) => x.event_id === note.event_id));

  // An agent who may not read the conversation may not write in it; bad bodies are refused.
  const denied = await outsider.api('POST', `/api/v1/conversations/${conv.id}/notes`, { text: 'x' });
  assert.equal(denied.status, 403);
  assert.equal(denied.json.error.code, 'forbidden');
  for (const body of [{}, { text: '' }, { text: 5 }, { text: 'x', extra: 1 }, { text: 'x'.repeat(4097) }]) {
    const r = await ann.api('POST', `/api/v1/conversations/${conv.id}/notes`, body);
    assert.equal(r.status, 400, JSON.stringify(body));
    assert.equal(r.json.error.code, 'invalid_text');
  }
  const missing = await ann.api('POST', '/api/v1/conversations/nope/notes', { text: 'x' });
  assert.equal(missing.status, 404);
  assert.equal(missing.json.error.code, 'conversation_not_found');
  await ann.disconnect();
});

test('canned responses: admins share, agents keep their own, clear errors', async () => {
  const { server } = env;
  const amy = await createAgent(server, { display_name: 'Amy', queues: ['cards'] });
  const bo = await createAgent(server, { display_name: 'Bo', queues: ['general'] });
  const admin = await createAgent(server, { display_name: 'Adm', role: 'admin', queues: [] });

  const shared = await admin.ok('POST', '/api/v1/responses', { shortcut: 'hello', title: 'Greeting', text: 'Hi {customer_name}, this is {agent_name}.', queues: ['cards'] }, 201);
  assert.equal(shared.shared, true);
  assert.equal(shared.owner, null);
  assert.deepEqual(shared.queues, ['cards']);
  const byToken = await server.admin('POST', '/api/v1/responses', { shortcut: 'bye', title: 'Goodbye', text: 'Thanks for chatting.' });
  assert.equal(byToken.status, 201, byToken.text);
  assert.equal(byToken.json.shared, true);

  const mine = await amy.ok('POST', '/api/v1/responses', { shortcut: 'card-lost', title: 'Lost card', text: 'I have blocked your card.' }, 201);
  assert.equal(mine.shared, false);
  assert.equal(mine.owner, amy.username);

  // Each sees the shared ones and their own, by shortcut.
  const amyList = (await amy.ok('GET', '/api/v1/responses')).responses.map((r) => r.shortcut);
  assert.deepEqual(amyList, ['bye', 'card-lost', 'hello']);
  const boList = (await bo.ok('GET', '/api/v1/responses')).responses.map((r) => r.shortcut);
  assert.deepEqual(boList, ['bye', 'hello']);

  // An agent may not make or change shared ones; nobody sees or changes another's own.
  let r = await amy.api('POST', '/api/v1/responses', { shortcut: 'x', title: 'X', text: 'x', shared: true });
  assert.equal(r.status, 403);
  r = await amy.api('PATCH', `/api/v1/responses/${shared.id}`, { text: 'changed' });
  assert.equal(r.status, 403);
  assert.equal(r.json.error.code, 'forbidden');
  r = await bo.api('PATCH', `/api/v1/responses/${mine.id}`, { text: 'mine now' });
  assert.equal(r.status, 404);
  assert.equal(r.json.error.code, 'response_not_found');
  r = await bo.api('DELETE', `/api/v1/responses/${mine.id}`);
  assert.equal(r.status, 404);

  // The owner changes and deletes their own; admins change shared ones.
  const changed = await amy.ok('PATCH', `/api/v1/responses/${mine.id}`, { text: 'Your card is blocked.' });
  assert.equal(changed.text, 'Your card is blocked.');
  assert.equal(changed.shortcut, 'card-lost');
  const sharedChanged = await admin.ok('PATCH', `/api/v1/responses/${shared.id}`, { queues: [] });
  assert.deepEqual(sharedChanged.queues, []);

  // Clear errors, nothing changed.
  const bad = [
    [{ title: 'T', text: 't' }, 'missing_shortcut'],
    [{ shortcut: 'Bad Name', title: 'T', text: 't' }, 'invalid_shortcut'],
    [{ shortcut: 'ok', title: '', text: 't' }, 'invalid_title'],
    [{ shortcut: 'ok', title: 'T', text: 't'.repeat(4097) }, 'invalid_text'],
    [{ shortcut: 'ok', title: 'T', text: 't', queues: ['nope'] }, 'unknown_queue'],
    [{ shortcut: 'ok', title: 'T', text: 't', colour: 'red' }, 'unknown_field'],
  ];
  for (const [body, code] of bad) {
    const x = await amy.api('POST', '/api/v1/responses', body);
    assert.equal(x.status, 400, JSON.stringify(body));
    assert.equal(x.json.error.code, code, JSON.stringify(x.json));
  }
  const dup = await amy.api('POST', '/api/v1/responses', { shortcut: 'card-lost', title: 'Again', text: 'x' });
  assert.equal(dup.status, 409);
  assert.equal(dup.json.error.code, 'response_exists');
  // The same shortcut as a shared one is fine for one's own (one's own comes first in the picker).
  await bo.ok('POST', '/api/v1/responses', { shortcut: 'hello', title: 'My hello', text: 'Hey!' }, 201);

  await amy.ok('DELETE', `/api/v1/responses/${mine.id}`);
  assert.deepEqual((await amy.ok('GET', '/api/v1/responses')).responses.map((x) => x.shortcut), ['bye', 'hello']);
  const unauth = await server.request('GET', '/api/v1/responses');
  assert.equal(unauth.status, 401);
});

test('responses survive a restart (migration 0009)', async () => {
  const { server } = env;
  const before = (await server.admin('GET', '/api/v1/responses')).json.responses;
  assert.ok(before.length >= 1);
  await server.restart();
  const after = (await server.admin('GET', '/api/v1/responses')).json.responses;
  assert.deepEqual(after.map((r) => r.id), before.map((r) => r.id));
});

test('the agent ending a chat hears that the end was delivered (conversation.delivery after the end)', async () => {
  const { server, hook, bank } = env;
  const eve = await createAgent(server, { display_name: 'Eve', queues: ['general'] });
  await eve.connect();
  const customer = `c-${uid()}`;
  await escalate(server, bank, customer, 'general');
  const [conv] = await server.conversationsOf(bank, customer);
  await eve.ok('POST', `/api/v1/conversations/${conv.id}/accept`);
  await eve.ok('POST', `/api/v1/conversations/${conv.id}/end`);
  await waitFor(() => hook.deliveredTo(bank, customer).some((e) => e.type === 'csr_end_session'), { message: 'csr_end_session delivered' });
  const end = hook.deliveredTo(bank, customer).find((e) => e.type === 'csr_end_session');
  const told = await eve.event((f) => f.type === 'conversation.delivery' && f.event_id === end.event_id && f.delivery_status === 'delivered', {
    message: 'the delivery of the end',
  });
  assert.equal(told.conversation.state, 'ended');
  const full = await eve.ok('GET', `/api/v1/conversations/${conv.id}`);
  assert.equal(full.last_agent, eve.username);
  assert.equal(full.transcript.find((e) => e.event_id === end.event_id).delivery_status, 'delivered');
  await eve.disconnect();
});
