// Browser tests of the agent console (/agent) against a real `parley serve` with the bank bot.
// Customers are driven as an integration layer drives them: POST /messages signed with the
// connection's secret; what Parley sends them is read at a real webhook receiver.
// The tests skip while the server has no agent API (users, queues, agents, sessions).
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
    if (!stack.features.agentApi) return;
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

  test('offer, Accept, the bot part, both sides write and type, markup stays text, transfer to a second agent who ends it', async (t) => {
    if (!stack.features.agentApi) return t.skip('the server has no agent API yet');
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
    await c.say('my card is lost');
    await transcript.getByText('my card is lost').waitFor();
    await screenshots(page, 'agent-chat');

    // Transfer to Bob with a note; Bob takes it and ends it; the customer sees the end.
    const bobPage = await newPage(stack);
    await signIn(bobPage, stack.origin(), '/agent', bob);
    await bobPage.getByRole('heading', { name: 'My queues' }).waitFor();
    await goAvailable(bobPage);
    await page.getByRole('button', { name: 'Transfer' }).click();
    const dialog = page.getByRole('dialog');
    await dialog.getByLabel('An agent').check();
    await dialog.getByLabel('Agent', { exact: true }).fill('bob');
    await dialog.getByLabel('Note').fill('Lost card, wants it blocked');
    await dialog.getByRole('button', { name: 'Transfer' }).click();
    await dialog.waitFor({ state: 'detached' });

    const bobOffer = bobPage.getByRole('group', { name: /New chat: Ada Lovelace/ });
    const bobChat = bobPage.getByRole('button', { name: /^Ada Lovelace/ });
    await waitFor(async () => (await bobOffer.count()) > 0 || (await bobChat.count()) > 0, { message: 'the transfer at Bob' });
    if (await bobOffer.count()) await bobOffer.getByRole('button', { name: 'Accept' }).click();
    await bobChat.click();
    await bobPage.getByText('Transfer note: Lost card, wants it blocked').waitFor();
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

  test('the console survives a server restart mid-chat and shows every message once', async (t) => {
    if (!stack.features.agentApi) return t.skip('the server has no agent API yet');
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
    for (const text of ['before the restart', 'after the restart', 'Still here']) {
      assert.equal(await transcript.getByText(text, { exact: true }).count(), 1, `"${text}" once`);
    }
    await page.context().close();
  });

  test('a message the webhook refuses is marked failed with the reason; Replay fixes it', async (t) => {
    if (!stack.features.agentApi) return t.skip('the server has no agent API yet');
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
