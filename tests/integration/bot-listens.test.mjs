// Issue 18 through the real binary and POST /messages: the bank bot takes slots from the
// customer's words, does not greet again after "Release to bot", agent assist agrees with what
// the bot did, bots/bank.test.yaml is not loaded as a bot, and a connection's `capabilities`
// turn menus, carousels and link buttons into text that still works ("2" picks item 2) for the
// bot, agents and the system alike.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { createAgent, startRouting, textsTo } from './agent_support.mjs';
import { textEvent, uid, waitFor } from './harness.mjs';

let env;
before(async () => {
  env = await startRouting();
});
after(() => env?.close());

const ALL = ['menu', 'carousel', 'link_button', 'typing_indicator'];
const delivered = (conn, customer) => env.hook.deliveredTo(conn, customer);

// Sends and waits until `n` more events reached the customer; returns those.
async function say(conn, customer, text, n, extra = {}) {
  const before = delivered(conn, customer).length;
  await env.server.send(conn, textEvent(customer, text, extra));
  await waitFor(() => delivered(conn, customer).length >= before + n, { message: `${n} replies to "${text}"` });
  return delivered(conn, customer).slice(before);
}

async function connection(capabilities) {
  const body = { name: `cap-${uid()}`, client_webhook: env.hook.url, bot: 'bank' };
  if (capabilities !== undefined) body.capabilities = capabilities;
  const r = await env.server.admin('POST', '/api/v1/connections', body);
  assert.equal(r.status, 201, r.text);
  env.hook.trust(r.json);
  return r.json;
}

test('the test file beside bots/bank.yaml is not loaded as a bot', async () => {
  const r = await env.server.admin('GET', '/api/v1/bots');
  assert.equal(r.status, 200);
  const names = r.json.bots.map((b) => b.name);
  assert.ok(names.includes('bank'), names.join());
  assert.ok(!names.some((n) => n.includes('test')), names.join());
});

test('slots come from the first sentence and from an answer that holds more than the value', async () => {
  const { bank } = env;
  const c = `slots-${uid()}`;
  await say(bank, c, 'hello', 2);
  const branch = await say(bank, c, 'is there a branch in manchester?', 3);
  assert.equal(branch[0].type, 'carousel');
  assert.equal(branch[0].items[0].title, 'Parley Bank Deansgate');
  assert.ok(!textsTo(env.hook, bank, c).includes('Which city are you in?'));

  const card = await say(bank, c, 'i lost my card', 1);
  assert.deepEqual(card[0].text, ['What are the last four digits of the card?']);
  const confirm = await say(bank, c, 'it ends 4321', 1);
  assert.equal(confirm[0].type, 'menu');
  assert.equal(confirm[0].title, 'Block the card ending 4321?');
  assert.ok(!textsTo(env.hook, bank, c).includes('Just the four digits, please.'));
});

test('after "Release to bot" the customer is not greeted again, and assist agrees with the bot', async () => {
  const { server, bank } = env;
  const dee = await createAgent(server, { display_name: 'Dee', queues: ['cards'] });
  await dee.connect();
  await dee.available();
  const c = `rel-${uid()}`;
  await say(bank, c, 'hello', 2);
  await say(bank, c, 'i lost my card', 1);
  await say(bank, c, '4321', 1);
  await say(bank, c, 'No, keep it', 1);
  await server.send(bank, textEvent(c, '', { text: [], postback: 'action:escalate' }));
  await server.send(bank, textEvent(c, '', { text: [], postback: 'queue:cards' }));
  const offer = await dee.event(dee.of('conversation.offered'));
  const id = offer.conversation.id;
  await dee.ok('POST', `/api/v1/conversations/${id}/accept`);

  // Agent assist: what the bot did, not a guess from the words alone.
  const digits = await dee.ok('POST', `/api/v1/conversations/${id}/assist`, { text: '4321' });
  assert.equal(digits.kind, 'answer');
  assert.equal(digits.understood, true);
  assert.equal(digits.label, 'answered the question "What are the last four digits of the card?" (last4: 4321)');
  const keep = await dee.ok('POST', `/api/v1/conversations/${id}/assist`, { text: 'No, keep it' });
  assert.equal(keep.kind, 'answer');
  assert.notEqual(keep.intent, 'thanks');
  // An intent whose reply is a flow still gets suggestions: its first question.
  const fresh = await dee.ok('POST', `/api/v1/conversations/${id}/assist`, { text: 'i want to check my account balance' });
  assert.equal(fresh.understood, true);
  assert.equal(fresh.intent, 'balance');
  assert.ok(fresh.suggestions.some((s) => s.type === 'text' && s.text[0] === 'Which account?'), JSON.stringify(fresh.suggestions));
  const bad = await dee.api('POST', `/api/v1/conversations/${id}/assist`, { text: 'x', position: 'two' });
  assert.equal(bad.status, 400);
  assert.equal(bad.json.error.code, 'invalid_position');

  await dee.ok('POST', `/api/v1/conversations/${id}/release`);
  await waitFor(() => textsTo(env.hook, bank, c).includes('You are back with the assistant.'));
  const greetings = () => textsTo(env.hook, bank, c).filter((t) => t.startsWith('Hi ')).length;
  assert.equal(greetings(), 1);
  const answer = await say(bank, c, 'what are your opening hours', 1);
  assert.ok(answer[0].text[0].startsWith('Our branches are open'), JSON.stringify(answer));
  assert.equal(greetings(), 1);
  assert.ok(!answer.some((e) => e.type === 'menu'));
  await dee.disconnect();
});

test('capabilities: accepted by POST and PATCH, refused clearly, shown, all by default', async () => {
  const { server } = env;
  const dflt = await connection();
  assert.deepEqual(dflt.capabilities, ALL);
  for (const bad of [['menus'], 'menu', [1], { menu: true }]) {
    const r = await server.admin('POST', '/api/v1/connections', { name: `bad-${uid()}`, client_webhook: env.hook.url, capabilities: bad });
    assert.equal(r.status, 400, JSON.stringify(bad));
    assert.equal(r.json.error.code, 'invalid_capabilities');
  }
  const named = await server.admin('POST', '/api/v1/connections', { name: `bad-${uid()}`, client_webhook: env.hook.url, capabilities: ['buttons'] });
  assert.match(named.json.error.message, /'buttons' is not one of them/);
  const patched = await server.admin('PATCH', `/api/v1/connections/${dflt.connection_id}`, { capabilities: ['link_button', 'menu'] });
  assert.equal(patched.status, 200, patched.text);
  assert.deepEqual(patched.json.capabilities, ['menu', 'link_button']);
  const refused = await server.admin('PATCH', `/api/v1/connections/${dflt.connection_id}`, { capabilities: ['menu', 'emoji'] });
  assert.equal(refused.status, 400);
  assert.equal(refused.json.error.code, 'invalid_capabilities');
  const shown = await server.admin('GET', `/api/v1/connections/${dflt.connection_id}`);
  assert.deepEqual(shown.json.capabilities, ['menu', 'link_button']);
  const listed = await server.admin('GET', '/api/v1/connections');
  assert.deepEqual(listed.json.connections.find((c) => c.connection_id === dflt.connection_id).capabilities, ['menu', 'link_button']);
});

test('a text-only channel: the bot menu as numbered lines and "2" picks item 2', async () => {
  const conn = await connection([]);
  const c = `txt-${uid()}`;
  const greeting = await say(conn, c, 'hello', 2);
  assert.equal(greeting[1].type, 'text');
  assert.deepEqual(greeting[1].text.slice(0, 3), ['What can I help you with?', '1. Check my balance', '2. Block a card']);
  assert.equal(greeting[1].choices[1].payload, 'flow:block_card');
  const asked = await say(conn, c, '2', 1);
  assert.deepEqual(asked[0].text, ['What are the last four digits of the card?']);
  const confirm = await say(conn, c, '9876', 1);
  assert.deepEqual(confirm[0].text, ['Block the card ending 9876?', '1. Yes, block it', '2. No, keep it']);
  const kept = await say(conn, c, 'no, keep it', 1);
  assert.deepEqual(kept[0].text, ['OK, I left the card ending 9876 active.']);
  const link = await say(conn, c, 'how do i log in to online banking', 1);
  assert.deepEqual(link[0].text, ['Manage your accounts online, any time.', 'Open online banking: https://online.parley-bank.example/login']);
  // A carousel as one text per card, its URL buttons as "label: url".
  const london = await say(conn, c, 'find a branch in london', 5);
  assert.deepEqual(london[0].text, ['Our branches in London']);
  assert.equal(london[1].text[0], 'Parley Bank Moorgate');
  assert.ok(london[1].text.includes('Directions: https://maps.example/?q=1+Moorgate+London'), JSON.stringify(london[1]));
  assert.ok(london[1].text.includes('1. Opening hours'), JSON.stringify(london[1]));
  assert.ok(london[2].text.includes('2. Talk to a person'), JSON.stringify(london[2]));
  // The main menu said with it continues the numbering.
  const menu = london.find((e) => e.text[0] === 'What can I help you with?');
  assert.ok(menu, JSON.stringify(london));
  assert.equal(menu.text[1], '3. Check my balance');
  assert.ok(delivered(conn, c).every((e) => ['text'].includes(e.type)));
});

test("a text-only channel: an agent's menu as text, the customer's number as a postback, no typing", async () => {
  const { server } = env;
  const conn = await connection(['carousel']);
  const eve = await createAgent(server, { display_name: 'Eve', queues: ['general'] });
  await eve.connect();
  await eve.available();
  const c = `agent-${uid()}`;
  await say(conn, c, 'hello', 2);
  await server.send(conn, textEvent(c, '', { text: [], postback: 'action:escalate' }));
  await server.send(conn, textEvent(c, '', { text: [], postback: 'queue:general' }));
  const offer = await eve.event(eve.of('conversation.offered'));
  const id = offer.conversation.id;
  await eve.ok('POST', `/api/v1/conversations/${id}/accept`);
  const before = delivered(conn, c).length;
  await eve.ok('POST', `/api/v1/conversations/${id}/messages`, {
    type: 'menu',
    title: 'Which card?',
    items: [
      { text: 'Debit card', payload: 'debit' },
      { text: 'Credit card', payload: 'credit' },
    ],
  }, 202);
  // The accept's own system message is delivered on its own time and may arrive after this
  // point: only the agent's messages count here.
  const fromAgent = () => delivered(conn, c).slice(before).filter((e) => e.from === 'csr');
  await waitFor(() => fromAgent().length > 0);
  const sent = fromAgent();
  assert.equal(sent[0].type, 'text');
  assert.equal(sent[0].from, 'csr');
  assert.deepEqual(sent[0].text, ['Which card?', '1. Debit card', '2. Credit card']);
  const typing = await eve.ok('POST', `/api/v1/conversations/${id}/typing`, { on: true }, 202);
  assert.equal(typing.sent, false);
  await server.send(conn, textEvent(c, '2'));
  const msg = await eve.event((f) => f.type === 'conversation.message' && f.entry?.from === 'customer' && f.entry?.payload?.text?.[0] === '2');
  assert.equal(msg.entry.payload.postback, 'credit');
  await eve.disconnect();
});
