// Browser tests of the agent console for issue 16 against a real `parley serve`: "Let pass"
// hands the offer to the next agent at once and keeps the agent available; a reload brings back
// the ringing offer, the chats and the draft being written (with no 403 on the way); an offer
// that rings out says so ("You missed an offer, so you are now Away"); the transfer dialog lists
// the queue's agents with their status; the History lists the agent's own ended chats and opens
// one's transcript.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { makeTempDir } from '../integration/harness.mjs';
import { Receiver, createQueue, createUser, newPage, screenshots, signIn, startStack, textEvent, uid, waitFor } from './support.mjs';

function configWith(settings) {
  const file = path.join(makeTempDir('parley-e2e-team-'), 'parley.yaml');
  fs.writeFileSync(file, Object.entries(settings).map(([k, v]) => `${k}: ${JSON.stringify(v)}`).join('\n') + '\n');
  return file;
}

async function goAvailable(page) {
  await page.getByLabel('Available').check();
  await waitFor(async () => page.getByLabel('Available').isChecked(), { message: 'Available' });
}

// A console page of `user`, signed in and available; it records the API answers it got.
async function consoleOf(stack, user) {
  const page = await newPage(stack);
  page.statuses = [];
  page.on('response', (r) => {
    if (r.url().includes('/api/v1/')) page.statuses.push([r.status(), new URL(r.url()).pathname + new URL(r.url()).search]);
  });
  await signIn(page, stack.origin(), '/agent', user);
  await page.getByRole('heading', { name: 'My queues' }).waitFor();
  await goAvailable(page);
  return page;
}

async function metric(stack, name) {
  const text = (await stack.server.request('GET', '/metrics')).text;
  const line = text.split('\n').find((l) => l.startsWith(`${name}{queue="general"} `));
  return line ? Number(line.split(' ')[1]) : undefined;
}

describe('agent console: offers let pass, reloads, transfer targets', () => {
  let stack;
  let hook;
  let conn;
  let amy;
  let bob;
  before(async () => {
    hook = await Receiver.start('hook');
    // Offers ring for long: only "Let pass" can move one on during the test.
    stack = await startStack({ proxy: true, serverArgs: ['--config', configWith({ offer_timeout_s: 600 })] });
    await createQueue(stack.server, { name: 'general', display_name: 'General' });
    const r = await stack.server.admin('POST', '/api/v1/connections', { name: 'Direct chat', client_webhook: hook.url, bot: 'none', queue: 'general' });
    assert.equal(r.status, 201, r.text);
    conn = r.json;
    hook.trust(conn);
    amy = await createUser(stack.server, { username: 'amy', display_name: 'Amy', queues: ['general'], max_chats: 3 });
    bob = await createUser(stack.server, { username: 'bob', display_name: 'Bob', queues: ['general'], max_chats: 3 });
  });
  after(async () => {
    await stack?.close();
    await hook?.close();
  });

  test('Let pass gives the offer to the next agent at once; a reload restores the offer, the chat and its draft', async () => {
    const amyPage = await consoleOf(stack, amy);
    const bobPage = await consoleOf(stack, bob);
    const customer = `c-${uid().slice(0, 8)}`;
    await stack.server.send(conn, textEvent(customer, 'I need help with my card', { customer_name: 'Grace Hopper' }));
    // Idle longest and first by name: Amy is offered it first.
    const amyOffer = amyPage.getByRole('group', { name: /New chat: Grace Hopper/ });
    await amyOffer.waitFor();
    await amyOffer.getByRole('button', { name: 'Let pass' }).click();
    // Bob has it now, although the offer would ring for ten minutes; Amy stays available.
    const bobOffer = bobPage.getByRole('group', { name: /New chat: Grace Hopper/ });
    await bobOffer.waitFor();
    await amyOffer.waitFor({ state: 'detached' });
    assert.ok(await amyPage.getByLabel('Available').isChecked());
    assert.equal(await metric(stack, 'parley_queue_offers_declined_total'), 1);
    assert.equal(await metric(stack, 'parley_queue_offers_rung_out_total'), 0);
    await amyPage.reload();
    await amyPage.getByRole('heading', { name: 'My queues' }).waitFor();
    await waitFor(async () => amyPage.getByLabel('Available').isChecked(), { message: 'still available after the reload' });
    assert.equal(await amyPage.getByRole('group', { name: /New chat: Grace Hopper/ }).count(), 0);

    // Bob reloads while it rings: the offer is back, with its countdown.
    await bobPage.reload();
    await bobOffer.waitFor();
    await bobOffer.getByText(/Expires in \d+ s/).waitFor();
    await bobOffer.getByRole('button', { name: 'Accept' }).click();
    await bobPage.getByRole('list', { name: 'Transcript' }).getByText('I need help with my card').waitFor();
    await bobPage.getByLabel('Message').fill('Let me look at your card');
    // A reload keeps the chat, opens it again and gives the half-written reply back.
    await bobPage.reload();
    await bobPage.getByRole('list', { name: 'Transcript' }).getByText('I need help with my card').waitFor();
    await waitFor(async () => (await bobPage.getByLabel('Message').inputValue()) === 'Let me look at your card', { message: 'the draft after the reload' });
    await bobPage.getByLabel('Message').press('Enter');
    await waitFor(() => hook.deliveredTo(conn, customer).some((e) => e.from === 'csr' && e.text?.includes('Let me look at your card')), { message: 'the draft sent' });
    // Sent: the draft is gone, also after another reload.
    await bobPage.reload();
    await bobPage.getByRole('list', { name: 'Transcript' }).getByText('Let me look at your card').waitFor();
    assert.equal(await bobPage.getByLabel('Message').inputValue(), '');

    // A reload right after Enter, before the server's answer reaches the page: the reply reached
    // the server, so it is in the transcript and does not come back as a draft.
    const route = '**/api/v1/conversations/*/messages';
    await bobPage.route(route, async (r) => {
      const answer = await r.fetch();
      await new Promise((resolve) => setTimeout(resolve, 3000));
      await r.fulfill({ response: answer }).catch(() => {});
    });
    await bobPage.getByLabel('Message').fill('One moment please');
    await bobPage.getByLabel('Message').press('Enter');
    await waitFor(() => hook.deliveredTo(conn, customer).some((e) => e.from === 'csr' && e.text?.includes('One moment please')), { message: 'the reply delivered' });
    await bobPage.reload();
    await bobPage.unroute(route);
    await bobPage.getByRole('list', { name: 'Transcript' }).getByText('One moment please').waitFor();
    assert.equal(await bobPage.getByLabel('Message').inputValue(), '', 'a sent reply is not a draft again');
    // The same, but the request never reached the server: the reply comes back as the draft.
    let held;
    const reached = new Promise((resolve) => {
      held = resolve;
    });
    await bobPage.route(route, () => held());
    await bobPage.getByLabel('Message').fill('Checking your card now');
    await bobPage.getByLabel('Message').press('Enter');
    await reached;
    await bobPage.reload();
    await bobPage.unroute(route);
    await waitFor(async () => (await bobPage.getByLabel('Message').inputValue()) === 'Checking your card now', { message: 'the unsent reply back as the draft' });
    assert.ok(!hook.deliveredTo(conn, customer).some((e) => e.text?.includes('Checking your card now')));
    await bobPage.getByLabel('Message').fill('');

    // The transfer dialog lists the queue's agents with their status: Amy, available.
    await bobPage.getByRole('button', { name: 'Transfer' }).click();
    const dialog = bobPage.getByRole('dialog');
    await dialog.getByRole('option', { name: 'Amy (available, 0 of 3 chats)' }).waitFor({ state: 'attached' });
    assert.equal(await dialog.getByRole('option', { name: /^Bob / }).count(), 0, 'not oneself');
    await screenshots(bobPage, 'agent-transfer-agents');
    await dialog.getByRole('button', { name: 'Cancel' }).click();

    // The customer context beside the transcript.
    const context = bobPage.getByRole('complementary', { name: 'Customer' });
    await context.getByText('Direct chat').waitFor();
    await context.getByText('No bot on this channel: straight to a person').waitFor();
    await context.getByText(customer).waitFor();
    await context.getByText('None on this channel.').waitFor();
    await screenshots(bobPage, 'agent-context');

    // End with a wrap-up: the queue requires a code; then after-chat work until Ready.
    await stack.server.admin('PATCH', '/api/v1/queues/general', { wrap_up_codes: ['resolved', 'callback'], wrap_up_required: true, after_chat_work_s: 600 });
    await bobPage.getByRole('button', { name: 'End chat' }).click();
    const end = bobPage.getByRole('dialog');
    await end.getByLabel('Wrap-up note').fill('Card blocked');
    await end.getByRole('button', { name: 'End chat' }).click();
    await end.getByText(/needs a wrap-up code/).waitFor(); // 400 wrap_up_required, said in the dialog
    await end.getByLabel('Wrap-up code').selectOption('resolved');
    await end.getByRole('button', { name: 'End chat' }).click();
    await end.waitFor({ state: 'detached' });
    await bobPage.getByText('The chat has ended.').waitFor();
    await bobPage.getByRole('list', { name: 'Transcript' }).getByText('Wrap-up: resolved — Card blocked').waitFor();
    await bobPage.getByText(/After-chat work: no new chats until/).waitFor();
    assert.equal(await bobPage.getByLabel('Available').isChecked(), false);

    // Bob's History: the ended chat with its wrap-up code, its transcript read-only; Amy, who
    // let it pass, has none.
    const history = bobPage.getByRole('region', { name: 'History' });
    await history.getByRole('button', { name: 'Show history' }).click();
    const past = history.getByRole('button', { name: /^Past chat: Grace Hopper \(ended .*; wrap-up resolved\)$/ });
    await past.click();
    const transcript = bobPage.getByRole('dialog', { name: /^Chat with Grace Hopper, ended / });
    await transcript.getByRole('list', { name: 'Past transcript' }).getByText('I need help with my card').waitFor();
    await transcript.getByText('Wrap-up: resolved — Card blocked').waitFor();
    assert.equal(await transcript.getByRole('textbox').count(), 0, 'read-only');
    await screenshots(bobPage, 'agent-history');
    await transcript.getByRole('button', { name: 'Close' }).click();
    await transcript.waitFor({ state: 'detached' });
    const amyHistory = amyPage.getByRole('region', { name: 'History' });
    await amyHistory.getByRole('button', { name: 'Show history' }).click();
    await amyHistory.getByText('No ended chats yet.').waitFor();

    // The customer comes back: Amy gets the new chat (Bob is in after-chat work) and opens the
    // earlier conversation from the context.
    await stack.server.send(conn, textEvent(customer, 'Me again', { customer_name: 'Grace Hopper' }));
    const again = amyPage.getByRole('group', { name: /New chat: Grace Hopper/ });
    await again.waitFor();
    await again.getByRole('button', { name: 'Accept' }).click();
    const amyContext = amyPage.getByRole('complementary', { name: 'Customer' });
    await amyContext.getByRole('button', { name: /General · bob/ }).click();
    const earlier = amyPage.getByRole('dialog');
    await earlier.getByRole('list', { name: 'Earlier transcript' }).getByText('I need help with my card').waitFor();
    await earlier.getByRole('button', { name: 'Close' }).click();

    // Ready: Bob is available again at once.
    await bobPage.getByRole('button', { name: 'Ready' }).click();
    await waitFor(async () => bobPage.getByLabel('Available').isChecked(), { message: 'Bob available after Ready' });

    // No page asked for what an agent may not read.
    for (const page of [amyPage, bobPage]) {
      assert.deepEqual(page.statuses.filter(([status]) => status === 403), []);
      assert.deepEqual(page.errors, []);
    }
    await amyPage.context().close();
    await bobPage.context().close();
  });
});

describe('agent console: an offer that rings out', () => {
  let stack;
  let hook;
  let conn;
  let cy;
  before(async () => {
    hook = await Receiver.start('hook');
    stack = await startStack({ proxy: true, serverArgs: ['--config', configWith({ offer_timeout_s: 2 })] });
    await createQueue(stack.server, { name: 'general', display_name: 'General' });
    const r = await stack.server.admin('POST', '/api/v1/connections', { name: 'Direct chat', client_webhook: hook.url, bot: 'none', queue: 'general' });
    conn = r.json;
    hook.trust(conn);
    cy = await createUser(stack.server, { username: 'cy', display_name: 'Cy', queues: ['general'], max_chats: 3 });
  });
  after(async () => {
    await stack?.close();
    await hook?.close();
  });

  test('says "You missed an offer, so you are now Away"', async () => {
    const page = await consoleOf(stack, cy);
    const customer = `c-${uid().slice(0, 8)}`;
    await stack.server.send(conn, textEvent(customer, 'hello', { customer_name: 'Ada Lovelace' }));
    await page.getByRole('group', { name: /New chat: Ada Lovelace/ }).waitFor();
    await page.getByRole('status').filter({ hasText: 'You missed an offer, so you are now Away. Choose Available to get offers again.' }).waitFor();
    await waitFor(async () => page.getByLabel('Away').isChecked(), { message: 'Away' });
    await screenshots(page, 'agent-missed-offer');
    // The customer leaves (so nothing rings again); available again, the notice goes.
    await stack.server.send(conn, { type: 'customer_end_session', customer_id: customer });
    await goAvailable(page);
    await page.getByRole('status').filter({ hasText: 'Choose Available to get offers again' }).waitFor({ state: 'hidden' });
    assert.deepEqual(page.errors, []);
    await page.context().close();
  });
});
