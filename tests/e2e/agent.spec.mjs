// Browser tests of the agent console (/agent) against a real `parley serve` with the bank bot.
// Customers are driven as an integration layer drives them: POST /messages signed with the
// connection's secret; what Parley sends them is read at a real webhook receiver.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { REPO, makeTempDir } from '../integration/harness.mjs';
import { Receiver, createQueue, createUser, newPage, screenshots, signIn, startStack, uid, waitFor } from './support.mjs';

const XSS = '<img src=x onerror="window.__pwned=1">';

// One customer of a connection, talking through POST /messages.
function customer(stack, conn, hook, name = 'Ada Lovelace') {
  const id = `cust-${uid().slice(0, 8)}`;
  const send = (body) => stack.server.send(conn, { customer_id: id, ...body });
  return {
    id,
    say: (text, extra = {}) => send({ type: 'text', message_id: uid(), customer_name: name, text: [text], ...extra }),
    tap: (payload, text) => send({ type: 'text', message_id: uid(), customer_name: name, postback: payload, ...(text ? { text: [text] } : {}) }),
    typing: () => send({ type: 'typing_indicator' }),
    received: () => hook.deliveredTo(conn, id),
    async waitFor(pred, message) {
      return waitFor(() => hook.deliveredTo(conn, id).find(pred), { timeout: 15000, message });
    },
  };
}

// The customer greets the bank bot, asks for a person and picks the General queue.
async function intoQueue(c) {
  await c.say('hello');
  await c.waitFor((e) => e.type === 'menu', 'the bot greeting with its menu');
  await c.tap('action:escalate', 'Talk to a person');
  await c.waitFor((e) => e.type === 'menu' && e.items?.some((i) => i.payload === 'queue:general'), 'the queue menu');
  await c.tap('queue:general', 'Something else');
}

// Sets a user's presence through the API (as their console would).
async function setStatus(stack, user, status) {
  const login = await stack.server.request('POST', '/api/v1/auth/login', {
    headers: { 'content-type': 'application/json' },
    body: { username: user.username, password: user.password },
  });
  assert.equal(login.status, 200, login.text);
  const r = await stack.server.request('PUT', '/api/v1/agents/me/status', {
    headers: { authorization: `Bearer ${login.json.token}`, 'content-type': 'application/json' },
    body: { status },
  });
  assert.equal(r.status, 200, r.text);
}

async function goAvailable(page) {
  await page.getByLabel('Available').check();
  await waitFor(async () => (await page.getByLabel('Available').isChecked()), { message: 'Available' });
}

describe('agent console', () => {
  let stack;
  let hook;
  let conn;
  let amy;
  let bob;
  before(async () => {
    hook = await Receiver.start('hook');
    const botsDir = makeTempDir('parley-e2e-bots-');
    fs.copyFileSync(path.join(REPO, 'bots/bank.yaml'), path.join(botsDir, 'bank.yaml'));
    stack = await startStack({
      proxy: true,
      serverArgs: ['--bots', botsDir, '--retry-initial-ms', '100', '--retry-max-ms', '200', '--retry-for-seconds', '3'],
    });
    conn = await stack.server.createConnection({ name: 'Bank chat', webhook: hook.url, bot: 'bank' });
    hook.trust(conn);
    for (const q of ['general', 'cards']) await createQueue(stack.server, { name: q, display_name: q === 'general' ? 'General' : 'Cards' });
    amy = await createUser(stack.server, { username: 'amy', display_name: 'Amy', queues: ['general'], max_chats: 3 });
    bob = await createUser(stack.server, { username: 'bob', display_name: 'Bob', queues: ['general', 'cards'], max_chats: 3 });
  });
  after(async () => {
    await stack?.close();
    await hook?.close();
  });

  test('a customer waiting in the queue: Take next, the bot part, Enter sends, End chat', async () => {
    const c = customer(stack, conn, hook, 'Mary Somerville');
    await intoQueue(c);
    await waitFor(async () => (await stack.server.conversationsOf(conn, c.id)).some((x) => x.state === 'queued'), {
      message: 'the customer queued',
    });

    const page = await newPage(stack);
    await signIn(page, stack.origin(), '/agent', amy);
    await page.getByRole('heading', { name: 'My queues' }).waitFor();
    await page.getByText(/[1-9]\d* waiting/).waitFor();
    await page.getByRole('button', { name: 'Take the next chat from General' }).click();
    const transcript = page.getByRole('list', { name: 'Transcript' });
    await transcript.getByText('hello', { exact: true }).waitFor();
    await transcript.getByText(/virtual assistant/).waitFor();
    await page.getByLabel('Message').fill('Good morning, Mary.');
    await page.getByLabel('Message').press('Enter');
    const sent = await c.waitFor((e) => e.from === 'csr' && e.text?.includes('Good morning, Mary.'), 'the agent message at the webhook');
    assert.equal(sent.csr_name, 'Amy');
    await screenshots(page, 'agent-chat');
    assert.deepEqual(page.errors, []);
    await page.getByRole('button', { name: 'End chat' }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'End chat' }).click();
    await c.waitFor((e) => e.type === 'csr_end_session', 'csr_end_session at the customer');
    // The agent's "Chat ended." is marked delivered, not left on "Sending…".
    const endEntry = transcript.locator('li.entry', { hasText: 'Chat ended.' });
    await endEntry.getByText('Delivered').waitFor();
    // An ended chat stays in the list across a reload, until the agent closes it.
    await page.reload();
    const chats = page.getByRole('region', { name: 'Chats', exact: true }).getByRole('button', { name: /Mary Somerville/ });
    const endedChat = page.getByRole('button', { name: 'Mary Somerville, ended' });
    await endedChat.waitFor();
    await endedChat.click();
    await transcript.getByText('Good morning, Mary.').waitFor();
    await page.getByRole('button', { name: 'Close chat' }).click();
    await endedChat.waitFor({ state: 'detached' });
    await page.reload();
    await page.getByRole('heading', { name: 'My queues' }).waitFor();
    await page.getByText('No chats.', { exact: false }).waitFor();
    assert.equal(await chats.count(), 0, 'a closed chat stays closed after a reload');
    await page.context().close();
  });

  test('canned responses: "/" and a shortcut pick one, names filled in; an internal note stays with the agents', async () => {
    const made = await stack.server.admin('POST', '/api/v1/responses', { shortcut: 'greet', title: 'Greeting', text: 'Hello {customer_name}, {agent_name} here. How can I help?' });
    assert.equal(made.status, 201, made.text);
    const other = await stack.server.admin('POST', '/api/v1/responses', { shortcut: 'cards-only', title: 'Cards', text: 'About cards', queues: ['cards'] });
    assert.equal(other.status, 201, other.text);
    const c = customer(stack, conn, hook, 'Grace Hopper');
    await intoQueue(c);
    await waitFor(async () => (await stack.server.conversationsOf(conn, c.id)).some((x) => x.state === 'queued'), { message: 'the customer queued' });
    const page = await newPage(stack);
    await signIn(page, stack.origin(), '/agent', amy);
    await page.getByRole('button', { name: 'Take the next chat from General' }).click();
    const transcript = page.getByRole('list', { name: 'Transcript' });
    await transcript.getByText(/virtual assistant/).first().waitFor();

    const box = page.getByLabel('Message');
    await box.fill('/');
    await box.pressSequentially('gr');
    const picker = page.getByRole('listbox', { name: 'Canned responses' });
    await picker.getByRole('option', { name: /\/greet/ }).waitFor();
    // A shared response of another queue is not offered in a General chat.
    await box.fill('/');
    await box.pressSequentially('c');
    await picker.getByText('No canned response starts with this.').waitFor();
    await box.fill('/');
    await box.pressSequentially('gre');
    await picker.getByRole('option', { name: /\/greet/ }).waitFor();
    await screenshots(page, 'agent-responses');
    await box.press('Enter');
    assert.equal(await box.inputValue(), 'Hello Grace Hopper, Amy here. How can I help?');
    assert.equal(await picker.isVisible(), false);
    await box.press('Enter');
    await c.waitFor((e) => e.from === 'csr' && e.text?.includes('Hello Grace Hopper, Amy here. How can I help?'), 'the filled-in response at the webhook');

    await page.getByRole('button', { name: 'Note…' }).click();
    const dialog = page.getByRole('dialog', { name: 'Add an internal note' });
    await dialog.getByLabel('Note').fill('Asked about a lost card; double-check the address.');
    await dialog.getByRole('button', { name: 'Add note' }).click();
    const note = transcript.getByRole('listitem', { name: 'Internal note' });
    await note.getByText('Asked about a lost card; double-check the address.').waitFor();
    await note.getByText('Internal note: only agents see this.').waitFor();
    // A later message still goes out, and the note never does.
    await box.fill('One moment please.');
    await box.press('Enter');
    await c.waitFor((e) => e.from === 'csr' && e.text?.includes('One moment please.'), 'the message after the note');
    assert.ok(!JSON.stringify(c.received()).includes('double-check the address'), 'the note never reached the customer');
    // After a reload the note is still in the transcript, marked.
    await page.reload();
    await page.getByRole('button', { name: /Grace Hopper/ }).click();
    await transcript.getByRole('listitem', { name: 'Internal note' }).getByText('double-check the address', { exact: false }).waitFor();
    assert.deepEqual(page.errors, []);
    await page.getByRole('button', { name: 'End chat' }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'End chat' }).click();
    await page.context().close();
  });

  test('My queues: the oldest wait counts on; the empty chat list does not ask an available agent to go Available', async () => {
    const c = customer(stack, conn, hook, 'Caroline Herschel');
    await intoQueue(c);
    await waitFor(async () => (await stack.server.conversationsOf(conn, c.id)).some((x) => x.state === 'queued'), {
      message: 'the customer queued',
    });
    const page = await newPage(stack);
    await signIn(page, stack.origin(), '/agent', bob);
    await page.getByRole('heading', { name: 'My queues' }).waitFor();
    const oldest = page.locator('#queues').getByText(/oldest/).first();
    await oldest.waitFor();
    const seconds = async () => {
      const t = await oldest.textContent();
      const m = /oldest (?:(\d+) min)? ?(?:(\d+) s)?/.exec(t);
      assert.ok(m && (m[1] || m[2]), `"${t}"`);
      return Number(m[1] || 0) * 60 + Number(m[2] || 0);
    };
    const first = await seconds();
    await waitFor(async () => (await seconds()) >= first + 2, { timeout: 5000, message: `oldest counts on from ${first} s` });
    assert.equal(await page.getByText('No chats. Go Available to get offers.').count(), 1, 'away: the hint says go Available');
    await page.getByLabel('Available').check();
    // Bob may get Caroline offered now; the hint must not ask him to go Available either way.
    await waitFor(async () => (await page.getByText('Go Available to get offers').count()) === 0, { message: 'the hint changed' });
    const offer = page.getByRole('group', { name: /New chat: Caroline Herschel/ });
    await offer.getByRole('button', { name: 'Accept' }).click();
    await page.getByRole('list', { name: 'Transcript' }).getByText(/virtual assistant/).first().waitFor();
    await page.getByRole('button', { name: 'End chat' }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'End chat' }).click();
    await c.waitFor((e) => e.type === 'csr_end_session', 'csr_end_session at the customer');
    assert.deepEqual(page.errors, []);
    await page.context().close();
  });

  test('offer, Accept, the bot part, both sides write and type, markup stays text, transfer to a second agent who ends it', async () => {
    const page = await newPage(stack);
    await signIn(page, stack.origin(), '/agent', amy);
    await page.getByRole('heading', { name: 'My queues' }).waitFor();
    await goAvailable(page);

    const c = customer(stack, conn, hook);
    await intoQueue(c);
    const offer = page.getByRole('group', { name: /New chat: Ada Lovelace/ });
    await offer.waitFor();
    await offer.getByText(/Expires in \d+ s/).waitFor();
    await screenshots(page, 'agent-offer');
    await offer.getByRole('button', { name: 'Accept' }).click();

    // The whole transcript: the bot part included, each side labelled.
    const transcript = page.getByRole('list', { name: 'Transcript' });
    await transcript.getByText('hello').waitFor();
    await transcript.getByText(/virtual assistant/).waitFor();
    await transcript.getByText('Bot').first().waitFor();

    // The agent writes; Enter sends; the customer's webhook gets it with the agent's name.
    await page.getByLabel('Message').fill('Hi, I am Amy. How can I help?');
    await page.getByLabel('Message').press('Enter');
    const fromAmy = await c.waitFor((e) => e.from === 'csr' && e.text?.includes('Hi, I am Amy. How can I help?'), 'the agent message at the webhook');
    assert.equal(fromAmy.csr_name, 'Amy');
    assert.equal(await page.getByLabel('Message').inputValue(), '');
    await transcript.getByText('Delivered', { exact: true }).last().waitFor();

    // The customer types, then writes markup: it shows as text and does not run.
    await c.typing();
    await page.getByText('Ada Lovelace is typing…').waitFor();
    await c.say(XSS);
    await transcript.getByText(XSS).waitFor();
    await page.getByText('Ada Lovelace is typing…').waitFor({ state: 'detached' });
    assert.equal(await page.locator('#transcript img').count(), 0);
    assert.equal(await page.evaluate(() => window.__pwned), undefined);
    // Agent assist: what the bank bot recognises beside the message, its replies one click away.
    await c.say('what time do you open on saturday');
    const assist = page.getByRole('group', { name: 'Agent assist' }).last();
    await assist.getByText(/^Bot understood: opening_hours \(\d+ %\)$/).waitFor();
    await assist.getByRole('button', { name: /^Suggest: Our branches are open/ }).click();
    assert.match(await page.getByLabel('Message').inputValue(), /^Our branches are open/);
    await screenshots(page, 'agent-chat-live');
    await page.getByLabel('Message').fill('');

    // Transfer to Bob with a note; Bob takes it and ends it; the customer sees the end.
    const bobPage = await newPage(stack);
    await signIn(bobPage, stack.origin(), '/agent', bob);
    await bobPage.getByRole('heading', { name: 'My queues' }).waitFor();
    await goAvailable(bobPage);
    await page.getByRole('button', { name: 'Transfer' }).click();
    const dialog = page.getByRole('dialog');
    // The dialog lists the queue's agents with their status; Bob is available with room.
    await dialog.getByRole('option', { name: 'Bob (available, 0 of 3 chats)' }).waitFor({ state: 'attached' });
    await dialog.getByLabel('Agent', { exact: true }).selectOption('bob');
    await dialog.getByLabel('Note').fill('Lost card, wants it blocked');
    await dialog.getByRole('button', { name: 'Transfer' }).click();
    await dialog.waitFor({ state: 'detached' });

    const bobOffer = bobPage.getByRole('group', { name: /New chat: Ada Lovelace/ });
    const bobChat = bobPage.getByRole('button', { name: /^Ada Lovelace/ });
    await waitFor(async () => (await bobOffer.count()) > 0 || (await bobChat.count()) > 0, { message: 'the transfer at Bob' });
    if (await bobOffer.count()) await bobOffer.getByRole('button', { name: 'Accept' }).click();
    await bobChat.click();
    // The note belonged to the transfer: once Bob has the chat it is a system note in the
    // transcript, not a label that would follow the customer into later chats.
    await bobPage.getByRole('list', { name: 'Transcript' }).getByText('Transfer note from Amy: Lost card, wants it blocked').waitFor();
    assert.equal(await bobPage.getByText('Transfer note: Lost card, wants it blocked').count(), 0);
    await bobPage.getByRole('list', { name: 'Transcript' }).getByText('Hi, I am Amy. How can I help?').waitFor();
    await bobPage.getByRole('button', { name: 'End chat' }).click();
    await bobPage.getByRole('dialog').getByRole('button', { name: 'End chat' }).click();
    await c.waitFor((e) => e.type === 'csr_end_session', 'csr_end_session at the customer');
    await bobPage.getByText('The chat has ended.').waitFor();
    assert.deepEqual(page.errors, []);
    assert.deepEqual(bobPage.errors, []);
    await page.context().close();
    await bobPage.context().close();
  });

  test('the console survives a server restart mid-chat and shows every message once', async () => {
    await setStatus(stack, bob, 'away'); // the offer goes to Amy, not to Bob of the test before
    const page = await newPage(stack);
    await signIn(page, stack.origin(), '/agent', amy);
    await page.getByRole('heading', { name: 'My queues' }).waitFor();
    await goAvailable(page);
    const c = customer(stack, conn, hook, 'Grace Hopper');
    await intoQueue(c);
    await page.getByRole('group', { name: /New chat: Grace Hopper/ }).getByRole('button', { name: 'Accept' }).click();
    const transcript = page.getByRole('list', { name: 'Transcript' });
    await c.say('before the restart');
    await transcript.getByText('before the restart').waitFor();

    await stack.server.stop();
    await page.getByText('Reconnecting…').waitFor();
    await screenshots(page, 'agent-reconnecting');
    await stack.server.start();
    await c.say('after the restart');
    await transcript.getByText('after the restart').waitFor({ timeout: 20000 });
    await page.getByText('Reconnecting…').waitFor({ state: 'hidden' });
    await page.getByLabel('Message').fill('Still here');
    await page.getByLabel('Message').press('Enter');
    await c.waitFor((e) => e.from === 'csr' && e.text?.includes('Still here'), 'the message after the restart');
    await transcript.getByText('Still here', { exact: true }).first().waitFor();
    await transcript.getByText('Delivered', { exact: true }).last().waitFor();
    for (const text of ['before the restart', 'after the restart', 'Still here']) {
      assert.equal(await transcript.getByText(text, { exact: true }).count(), 1, `"${text}" once`);
    }
    await page.context().close();
  });

  test('a message the webhook refuses is marked failed with the reason; Replay fixes it', async () => {
    await setStatus(stack, bob, 'away'); // the offer goes to Amy, not to Bob of the test before
    const page = await newPage(stack);
    await signIn(page, stack.origin(), '/agent', amy);
    await page.getByRole('heading', { name: 'My queues' }).waitFor();
    await goAvailable(page);
    const c = customer(stack, conn, hook, 'Alan Turing');
    await intoQueue(c);
    await page.getByRole('group', { name: /New chat: Alan Turing/ }).getByRole('button', { name: 'Accept' }).click();
    const transcript = page.getByRole('list', { name: 'Transcript' });
    await transcript.getByText(/virtual assistant/).waitFor();

    hook.policy = (event) => (event.from === 'csr' && event.customer_id === c.id ? { status: 500 } : undefined);
    await page.getByLabel('Message').fill('This one will fail');
    await page.getByLabel('Message').press('Enter');
    await transcript.getByText(/Not delivered: .*500/).waitFor({ timeout: 20000 });
    await screenshots(page, 'agent-failed-delivery');

    hook.policy = null;
    const dead = await stack.server.deliveries(conn, 'dead');
    const event = dead.find((d) => d.customer_id === c.id);
    assert.ok(event, 'the dead event in the deliveries');
    const r = await stack.server.admin('POST', `/api/v1/deliveries/${event.event_id}/replay`);
    assert.equal(r.status, 202);
    await c.waitFor((e) => e.from === 'csr' && e.text?.includes('This one will fail'), 'the replayed message');
    await transcript.getByText(/Not delivered/).waitFor({ state: 'detached', timeout: 15000 });
    await page.context().close();
  });
});

// The console's own logic against a scripted API that follows the agent API contract (REST
// answers from page.route, the event stream from page.routeWebSocket): offers, the seq rules
// of the event stream (repeats dropped, resume with ?after= after a drop, "Reconnecting…"
// meanwhile), delivery marks, typing, markup as text, a missing assist endpoint. It runs
// whatever the server has, and it is where the load of 20 chats of 500 messages is measured
// (printed, not asserted: timing belongs to benchmarks).
describe('agent console against a scripted API', () => {
  let stack;
  before(async () => {
    stack = await startStack({ proxy: true });
  });
  after(async () => stack?.close());

  const iso = (ms) => new Date(ms).toISOString();

  function fakeApi({ chats = 1, messages = 3, assist = true } = {}) {
    const now = Date.now();
    const conv = (i, extra = {}) => ({
      id: `conv-${i}`, connection_id: 'conn', customer_id: `cust-${i}`, customer_name: i === 0 ? 'Ada Lovelace' : `Customer ${i}`,
      state: 'active', owner: 'agent:amy', queue: 'general', agent: 'amy', offered_to: null, offer_expires_at: null,
      queued_at: iso(now), assigned_at: iso(now), transfer_note: null, context: {}, created_at: iso(now), updated_at: iso(now), ended_at: null,
      ...extra,
    });
    const transcript = (i) =>
      Array.from({ length: messages }, (_, k) => {
        const p = k + 1;
        const from = p === 1 ? 'customer' : p === 2 ? 'bot' : ['customer', 'csr', 'bot'][p % 3];
        return {
          position: p, seq: p, direction: from === 'customer' ? 'in' : 'out', from, type: 'text',
          csr_name: from === 'csr' ? 'Amy' : undefined, event_id: from === 'customer' ? undefined : `ev-${i}-${p}`,
          payload: { type: 'text', text: [`${from} line ${p}`] }, created_at: iso(now - (messages - p) * 1000),
          delivery_status: from === 'customer' ? undefined : 'delivered',
        };
      });
    const api = {
      active: Array.from({ length: chats }, (_, i) => conv(i)),
      queued: [],
      sent: [],
      status: 'away',
      sockets: [],
      urls: [],
      assistCalls: 0,
      actions: [],
    };
    api.conv = conv;
    api.install = async (page) => {
      await page.route('**/api/v1/**', async (route) => {
        const req = route.request();
        const url = new URL(req.url());
        const p = url.pathname;
        const json = (body, status = 200) => route.fulfill({ status, contentType: 'application/json', body: JSON.stringify(body) });
        if (p === '/api/v1/auth/me') return json({ user: { username: 'amy', display_name: 'Amy', role: 'agent', queues: ['general'], max_chats: 3, enabled: true }, csrf: 'csrf-1' });
        assert.equal(req.headers()['x-parley-csrf'], 'csrf-1', `the CSRF header on ${req.method()} ${p}`);
        if (p === '/api/v1/agents/me/status') {
          api.status = JSON.parse(req.postData()).status;
          return json({ status: api.status });
        }
        if (p === '/api/v1/agents/me') return json({ username: 'amy', display_name: 'Amy', status: api.status, queues: ['general'], chats: api.active.length, max_chats: 3 });
        if (p === '/api/v1/agents/me/offers') return json({ offers: api.queued.filter((q) => q.offered_to === 'amy').map((q) => ({ ...q, expires_at: q.offer_expires_at })) });
        if (p === '/api/v1/agents') return json({ agents: [] });
        if (p === '/api/v1/queues/general') return json({ name: 'general', display_name: 'General', waiting: api.queued.length, wrap_up_codes: [], wrap_up_required: false, after_chat_work_s: 0 });
        const ctx = /^\/api\/v1\/conversations\/([^/]+)\/context$/.exec(p);
        if (ctx) {
          const c = api.active.find((x) => x.id === ctx[1]) || conv(Number(ctx[1].split('-')[1]));
          return json({ conversation_id: c.id, customer: { id: c.customer_id, name: c.customer_name }, connection: { id: 'conn', name: 'Scripted chat', bot: 'bank' }, queue: c.queue, waited_s: 12, handover: { reason: 'asked_for_person' }, collected: { slots: {}, context: {} }, previous: [] });
        }
        if (p === '/api/v1/queues') return json({ queues: [{ name: 'general', display_name: 'General', waiting: api.queued.length, oldest_wait_s: 12, agents_available: 1, estimated_wait_s: 30, accepting: true }] });
        if (p === '/api/v1/conversations') {
          const s = url.searchParams.get('state');
          return json({ conversations: s === 'active' ? api.active : s === 'queued' ? api.queued : [], next: null });
        }
        let m = /^\/api\/v1\/conversations\/([^/]+)\/(accept|messages|typing|assist|transfer|release|end)$/.exec(p);
        if (m && m[2] === 'accept') {
          const c = conv(Number(m[1].split('-')[1]), { id: m[1], customer_name: 'Grace Hopper' });
          api.queued = api.queued.filter((q) => q.id !== m[1]);
          api.active.push(c);
          return json(c);
        }
        if (m && m[2] === 'messages') {
          api.sent.push({ conversation: m[1], body: JSON.parse(req.postData()) });
          return json({ event_id: `sent-${api.sent.length}`, seq: 100 + api.sent.length }, 202);
        }
        if (m && m[2] === 'typing') return json({}, 202);
        if (m && ['transfer', 'release', 'end'].includes(m[2])) {
          api.actions.push({ action: m[2], conversation: m[1], body: req.postData() ? JSON.parse(req.postData()) : null });
          return json(api.active.find((x) => x.id === m[1]) || {});
        }
        if (m && m[2] === 'assist') {
          api.assistCalls += 1;
          if (!assist) return json({ error: { code: 'not_found', message: 'No route.' } }, 404);
          return json({ understood: true, intent: 'lost_card', confidence: 0.9, suggestions: [{ type: 'text', text: ['I have blocked your card.'] }] });
        }
        m = /^\/api\/v1\/conversations\/([^/]+)$/.exec(p);
        if (m) {
          const i = Number(m[1].split('-')[1]);
          const c = api.active.find((x) => x.id === m[1]) || conv(i);
          return json({ ...c, transcript: transcript(i) });
        }
        return json({ error: { code: 'not_found', message: 'No route.' } }, 404);
      });
      await page.routeWebSocket(/\/api\/v1\/events/, (ws) => {
        api.urls.push(ws.url());
        api.sockets.push(ws);
      });
    };
    api.socket = () => api.sockets[api.sockets.length - 1];
    api.push = (frame) => api.socket().send(JSON.stringify({ at: iso(Date.now()), ...frame }));
    return api;
  }

  test('offer and Accept, repeats dropped, resume with after=, delivery marks, typing, markup as text', async () => {
    const api = fakeApi({ chats: 0, assist: false });
    const page = await newPage(stack);
    await api.install(page);
    await page.goto(`${stack.origin()}/agent`);
    await page.getByRole('heading', { name: 'My queues' }).waitFor();
    await waitFor(() => api.sockets.length === 1, { message: 'the event socket' });
    assert.ok(!api.urls[0].includes('after='), 'the first connection starts from now');

    await page.getByLabel('Available').check();
    await waitFor(() => api.status === 'available', { message: 'PUT status available' });

    const offered = api.conv(7, { id: 'conv-7', customer_name: 'Grace Hopper', state: 'queued', agent: null, owner: 'queue:general', offered_to: 'amy' });
    api.queued.push(offered);
    api.push({ seq: 1, type: 'conversation.offered', conversation: offered, expires_at: iso(Date.now() + 30000) });
    const offer = page.getByRole('group', { name: 'New chat: Grace Hopper' });
    await offer.getByText(/Expires in (29|30) s/).waitFor();
    await offer.getByRole('button', { name: 'Accept' }).click();
    const transcript = page.getByRole('list', { name: 'Transcript' });
    await transcript.getByText('bot line 2').waitFor();
    await offer.waitFor({ state: 'detached' });

    // A customer message, the same frame again (a repeat), then one with markup.
    const entry = (position, text, extra = {}) => ({
      position, seq: position, direction: 'in', from: 'customer', type: 'text', payload: { type: 'text', text: [text] }, created_at: iso(Date.now()), ...extra,
    });
    const msg = { seq: 2, type: 'conversation.message', conversation: { ...offered, state: 'active', agent: 'amy' }, entry: entry(4, 'once only') };
    api.push(msg);
    api.push(msg);
    api.push({ seq: 3, type: 'conversation.typing', conversation: offered, on: true });
    await page.getByText('Grace Hopper is typing…').waitFor();
    api.push({ seq: 4, type: 'conversation.message', conversation: offered, entry: entry(5, XSS) });
    await transcript.getByText(XSS).waitFor();
    assert.equal(await transcript.getByText('once only').count(), 1);
    assert.equal(await page.locator('#transcript img').count(), 0);
    assert.equal(await page.evaluate(() => window.__pwned), undefined);
    assert.equal(await page.getByRole('group', { name: 'Agent assist' }).count(), 0, 'no assist panel when the server has none');

    // Enter sends; the message is marked until its delivery event says it failed.
    await page.getByLabel('Message').fill('Hello Grace');
    await page.getByLabel('Message').press('Enter');
    await waitFor(() => api.sent.length === 1, { message: 'POST messages' });
    assert.deepEqual(api.sent[0].body, { type: 'text', text: ['Hello Grace'] });
    await transcript.getByText('Sending…').waitFor();
    api.push({ seq: 5, type: 'conversation.delivery', conversation: offered, event_id: 'sent-1', delivery_status: 'dead', last_error: 'the webhook answered 500' });
    await transcript.getByText('Not delivered: the webhook answered 500').waitFor();

    // The socket drops: "Reconnecting…", then a new socket asks for what came after seq 5.
    await api.socket().close();
    await page.getByText('Reconnecting…').waitFor();
    await waitFor(() => api.sockets.length === 2, { timeout: 15000, message: 'the reconnection' });
    assert.match(api.urls[1], /[?&]after=5$/);
    await page.getByText('Reconnecting…').waitFor({ state: 'hidden' });
    api.push({ seq: 5, type: 'conversation.delivery', conversation: offered, event_id: 'sent-1', delivery_status: 'dead', last_error: 'repeat' });
    api.push({ seq: 6, type: 'conversation.message', conversation: offered, entry: { position: 6, seq: 1, direction: 'out', from: 'csr', csr_name: 'Amy', type: 'text', event_id: 'sent-1', payload: { text: ['Hello Grace'] }, created_at: iso(Date.now()), delivery_status: 'delivered' } });
    await transcript.getByText('Delivered', { exact: true }).waitFor();
    assert.equal(await transcript.getByText('Hello Grace', { exact: true }).count(), 1, 'the sent message once');
    assert.equal(await page.getByText('Not delivered: repeat').count(), 0);

    // The customer ends: the chat says so and the composer goes away.
    api.push({ seq: 7, type: 'conversation.ended', conversation: { ...offered, state: 'ended' }, by: 'customer' });
    await page.getByText('The customer ended the chat.').first().waitFor();
    assert.equal(await page.getByLabel('Message').isVisible(), false);
    assert.deepEqual(page.errors, []);
    await page.context().close();
  });

  test('agent assist: the bot view beside a customer message, a suggestion goes into the composer', async () => {
    const api = fakeApi({ chats: 1, messages: 4 });
    const page = await newPage(stack);
    await api.install(page);
    await page.goto(`${stack.origin()}/agent`);
    await page.getByRole('button', { name: /^Ada Lovelace/ }).click();
    const assist = page.getByRole('group', { name: 'Agent assist' }).first();
    await assist.getByText('Bot understood: lost_card (90 %)').waitFor();
    await assist.getByRole('button', { name: 'Suggest: I have blocked your card.' }).click();
    assert.equal(await page.getByLabel('Message').inputValue(), 'I have blocked your card.');
    await screenshots(page, 'agent-assist');
    await page.getByLabel('Message').press('End');
    await page.getByLabel('Message').type(' Anything else?');
    await page.getByLabel('Message').press('Enter');
    await waitFor(() => api.sent.length === 1, { message: 'POST messages' });
    assert.deepEqual(api.sent[0].body.text, ['I have blocked your card. Anything else?']);
    await page.context().close();
  });

  test('a menu, a link button, transfer with a note, release to the bot, end', async () => {
    const api = fakeApi({ chats: 3, messages: 3, assist: false });
    const page = await newPage(stack);
    await api.install(page);
    await page.goto(`${stack.origin()}/agent`);
    await page.getByRole('button', { name: /^Ada Lovelace/ }).click();

    await page.getByRole('button', { name: 'Menu…' }).click();
    let dialog = page.getByRole('dialog', { name: 'Send a menu' });
    await dialog.getByLabel('Title').fill('Which card?');
    await dialog.getByLabel('Options').fill('Debit card\nCredit card\n');
    await dialog.getByRole('button', { name: 'Send menu' }).click();
    await dialog.waitFor({ state: 'detached' });
    assert.deepEqual(api.sent[0].body, {
      type: 'menu', title: 'Which card?', items: [{ text: 'Debit card', payload: 'Debit card' }, { text: 'Credit card', payload: 'Credit card' }],
    });
    await page.getByRole('list', { name: 'Menu options' }).last().getByText('Credit card').waitFor();

    await page.getByRole('button', { name: 'Link button…' }).click();
    dialog = page.getByRole('dialog', { name: 'Send a link button' });
    await dialog.getByLabel('Title').fill('Reset your PIN here');
    await dialog.getByLabel('Button label').fill('Reset PIN');
    await dialog.getByLabel('URL').fill('https://bank.example/pin');
    await dialog.getByRole('button', { name: 'Send link' }).click();
    await dialog.waitFor({ state: 'detached' });
    assert.deepEqual(api.sent[1].body, { type: 'link_button', title: 'Reset your PIN here', label: 'Reset PIN', url: 'https://bank.example/pin' });

    await page.getByRole('button', { name: 'Transfer' }).click();
    dialog = page.getByRole('dialog');
    await dialog.getByLabel('Queue').selectOption('general');
    await dialog.getByLabel('Note').fill('Needs a new card');
    await dialog.getByRole('button', { name: 'Transfer' }).click();
    await dialog.waitFor({ state: 'detached' });
    assert.deepEqual(api.actions[0], { action: 'transfer', conversation: 'conv-0', body: { queue: 'general', note: 'Needs a new card' } });
    await page.getByRole('button', { name: /^Ada Lovelace/ }).waitFor({ state: 'detached' }); // a transferred chat leaves the list

    await page.getByRole('button', { name: /^Customer 1/ }).click();
    await page.getByRole('button', { name: 'Release to bot' }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Release to bot' }).click();
    await waitFor(() => api.actions.length === 2, { message: 'release' });
    assert.equal(api.actions[1].action, 'release');

    await page.getByRole('button', { name: /^Customer 2/ }).click();
    await page.getByRole('button', { name: 'End chat' }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'End chat' }).click();
    await waitFor(() => api.actions.length === 3, { message: 'end' });
    assert.equal(api.actions[2].action, 'end');
    await page.getByText('The chat has ended.').waitFor();
    await page.getByRole('button', { name: 'Close chat' }).click();
    await page.getByText('Accept an offer, or pick a chat from the list.').waitFor();
    assert.deepEqual(page.errors, []);
    await page.context().close();
  });

  test('20 chats of 500 messages: opening a chat and a new message (timings printed)', async () => {
    const api = fakeApi({ chats: 20, messages: 500 });
    const page = await newPage(stack);
    await api.install(page);
    await page.goto(`${stack.origin()}/agent`);
    await page.getByRole('button', { name: /^Customer 19/ }).waitFor();
    const timings = [];
    for (const name of ['Ada Lovelace', 'Customer 7', 'Customer 19', 'Ada Lovelace']) {
      const t0 = Date.now();
      await page.getByRole('button', { name: new RegExp(`^${name}`) }).click();
      await page.getByRole('list', { name: 'Transcript' }).getByText('bot line 500', { exact: true }).waitFor();
      timings.push(Date.now() - t0);
    }
    await waitFor(() => api.sockets.length >= 1, { message: 'the event socket' });
    const conv0 = api.active[0];
    const t1 = Date.now();
    for (let i = 0; i < 20; i++) {
      api.push({ seq: i + 1, type: 'conversation.message', conversation: conv0, entry: { position: 501 + i, seq: 300 + i, direction: 'in', from: 'customer', type: 'text', payload: { text: [`burst ${i}`] }, created_at: iso(Date.now()) } });
    }
    await page.getByText('burst 19', { exact: true }).waitFor();
    const burst = Date.now() - t1;
    assert.equal(await page.locator('#transcript > li').count(), 520);
    process.stdout.write(`# agent console, 20 chats x 500 messages: open a chat ${timings.join(', ')} ms (first is cold); 20 new messages shown in ${burst} ms\n`);
    await page.context().close();
  });
});
