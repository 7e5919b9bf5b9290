// Browser tests of the Digital Messaging Manager (/manager) against a real `parley serve`,
// driven by role and label as a person reads the page: what issue 16 added (the live overview,
// the Conversations history, Responses, small screens and dialogs). A file of its own, so that
// each file stays within run-integration's time budget.
//
// Sign-in: an admin user is created with the admin token and signs in with Username and
// Password, as a person does.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { Receiver, createQueue, createUser, newPage, screenshots, signIn, startStack, uid, waitFor } from './support.mjs';
import { createAgent } from '../integration/agent_support.mjs';

async function signInAsAdmin(stack, page) {
  const admin = await createUser(stack.server, { role: 'admin', username: `admin${Date.now() % 100000}`, display_name: 'Ada Admin' });
  await signIn(page, stack.origin(), '/manager', admin);
  await page.getByRole('navigation', { name: 'Sections' }).waitFor();
}

// The sections and behaviours added for a team's first hour (issue 16), with a stack of their
// own: each describe block has its own time budget.
describe('Digital Messaging Manager: live overview, history, responses, small screens', () => {
  let stack;
  let hook;
  before(async () => {
    hook = await Receiver.start('hook');
    stack = await startStack({ serverArgs: ['--retry-initial-ms', '100', '--retry-max-ms', '200', '--retry-for-seconds', '2'] });
  });
  after(async () => {
    await stack?.close();
    await hook?.close();
  });

  test('overview is live: a customer waiting and an agent taking the chat show within 2 s, without Refresh', async () => {
    await createQueue(stack.server, { name: 'default', display_name: 'Default' }).catch(() => {});
    const direct = await stack.server.createConnection({ name: 'Straight to a person', webhook: hook.url, bot: 'none' });
    hook.trust(direct);
    const dana = await createAgent(stack.server, { username: 'dana', display_name: 'Dana Agent', queues: ['default'] });
    const page = await newPage(stack);
    await signInAsAdmin(stack, page);
    const tile = (label) => page.locator('.stat', { hasText: label }).locator('.value');
    await page.getByRole('heading', { name: 'Conversations by state' }).waitFor();
    await tile('Waiting in a queue').waitFor();
    const waitingBefore = Number(await tile('Waiting in a queue').textContent());
    const danaRow = page.getByRole('table', { name: 'Agents' }).getByRole('row').filter({ hasText: 'Dana Agent' });
    await danaRow.getByText('0 / 3').waitFor();

    const customer = `c-${uid().slice(0, 8)}`;
    await stack.server.send(direct, { type: 'text', customer_id: customer, message_id: uid(), text: ['I need a person'] });
    const live = { timeout: 2500 };
    await page.waitForFunction(
      (n) => [...document.querySelectorAll('.stat')].some((s) => s.textContent.includes('Waiting in a queue') && Number(s.querySelector('.value').textContent) === n),
      waitingBefore + 1,
      live,
    );
    const [conv] = (await stack.server.conversationsOf(direct, customer));
    await dana.ok('POST', `/api/v1/conversations/${conv.id}/accept`, {});
    await danaRow.getByText('1 / 3').waitFor(live);
    await page.waitForFunction(
      (n) => [...document.querySelectorAll('.stat')].some((s) => s.textContent.includes('Waiting in a queue') && Number(s.querySelector('.value').textContent) === n),
      waitingBefore,
      live,
    );
    assert.equal(await page.getByRole('table', { name: 'Deliveries failing by connection' }).getByRole('columnheader', { name: 'Failed' }).count(), 0);
    assert.deepEqual(page.errors, []);
    await page.context().close();
  });

  test('conversations history: search by customer and connection, open a transcript read-only with delivery states, export JSON', async () => {
    const conn = await stack.server.createConnection({ name: 'History chat', webhook: hook.url, bot: 'echo' });
    hook.trust(conn);
    const other = await stack.server.createConnection({ name: 'Other chat', webhook: hook.url, bot: 'echo' });
    hook.trust(other);
    const who = `hist-${uid().slice(0, 6)}`;
    await stack.server.send(conn, { type: 'text', customer_id: who, customer_name: 'Hedy Lamarr', message_id: uid(), text: ['frequency hopping'] });
    await stack.server.send(other, { type: 'text', customer_id: `${who}-x`, customer_name: 'Someone Else', message_id: uid(), text: ['hi'] });
    await waitFor(() => hook.deliveredTo(conn, who).length > 0, { message: 'the echo delivered' });

    const page = await newPage(stack);
    await signInAsAdmin(stack, page);
    await page.getByRole('link', { name: 'Conversations' }).click();
    const search = page.getByRole('search', { name: 'Search conversations' });
    await search.getByLabel('Customer').fill('hedy');
    await search.getByRole('button', { name: 'Search' }).click();
    const rows = page.getByRole('table', { name: 'Conversations' }).getByRole('row');
    // The first list (every conversation) is replaced by the search's answer.
    await rows.filter({ hasText: 'Someone Else' }).waitFor({ state: 'detached' });
    await rows.filter({ hasText: 'Hedy Lamarr' }).waitFor();
    await search.getByLabel('Customer').fill('');
    await search.getByLabel('Connection').selectOption({ label: 'Other chat' });
    await search.getByRole('button', { name: 'Search' }).click();
    await rows.filter({ hasText: 'Hedy Lamarr' }).waitFor({ state: 'detached' });
    await rows.filter({ hasText: 'Someone Else' }).waitFor();
    await search.getByLabel('Connection').selectOption({ label: 'History chat' });
    const today = new Date().toISOString().slice(0, 10);
    await search.getByLabel('Started from').fill(today);
    await search.getByLabel('Started until').fill(today);
    await search.getByRole('button', { name: 'Search' }).click();
    await rows.filter({ hasText: 'Hedy Lamarr' }).waitFor();
    await screenshots(page, 'manager-conversations');

    await page.getByRole('link', { name: 'Open the conversation with Hedy Lamarr' }).click();
    const transcript = page.getByRole('list', { name: 'Transcript (read-only)' });
    await transcript.getByText('frequency hopping').first().waitFor();
    await transcript.getByRole('listitem').filter({ hasText: 'Bot' }).getByText('Delivered').waitFor();
    assert.equal(await page.getByRole('textbox', { name: 'Message' }).count(), 0, 'read-only: no composer');
    const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Export JSON' }).click()]);
    const file = await download.path();
    const exported = JSON.parse(fs.readFileSync(file, 'utf8'));
    assert.equal(exported.customer_id, who);
    assert.ok(exported.transcript.some((e) => e.direction === 'out' && e.delivery_status === 'delivered'));
    await screenshots(page, 'manager-conversation');

    // The API refuses a date it cannot read, and an agent may not search others' chats.
    const bad = await stack.server.admin('GET', '/api/v1/conversations?created_from=yesterday');
    assert.equal(bad.status, 400);
    assert.equal(bad.json.error.code, 'invalid_created_from');
    assert.deepEqual(page.errors, []);
    await page.context().close();
  });

  test('responses: add a shared canned response for a queue, edit it, delete it', async () => {
    await createQueue(stack.server, { name: 'loans-r', display_name: 'Loans' });
    const page = await newPage(stack);
    await signInAsAdmin(stack, page);
    await page.getByRole('link', { name: 'Responses' }).click();
    await page.getByRole('button', { name: 'Add response' }).click();
    const dialog = page.getByRole('dialog', { name: 'Add response' });
    await dialog.getByLabel('Shortcut').fill('rates');
    await dialog.getByLabel('Title').fill('Loan rates');
    await dialog.getByLabel('Text', { exact: true }).fill('Hi {customer_name}, our loan rates start at 4.9 %.');
    await dialog.getByLabel('loans-r').check();
    await dialog.getByRole('button', { name: 'Save' }).click();
    const row = page.getByRole('table', { name: 'Responses' }).getByRole('row').filter({ hasText: '/rates' });
    await row.getByText('loans-r').waitFor();
    let saved = (await stack.server.admin('GET', '/api/v1/responses')).json.responses.find((r) => r.shortcut === 'rates');
    assert.equal(saved.shared, true);
    assert.deepEqual(saved.queues, ['loans-r']);
    await screenshots(page, 'manager-responses');

    await row.getByRole('button', { name: 'Edit response rates' }).click();
    const edit = page.getByRole('dialog', { name: 'Edit response /rates' });
    await edit.getByLabel('Text', { exact: true }).fill('Our loan rates start at 4.5 %.');
    await edit.getByRole('button', { name: 'Save' }).click();
    await row.getByText('Our loan rates start at 4.5 %.').waitFor();
    saved = (await stack.server.admin('GET', '/api/v1/responses')).json.responses.find((r) => r.shortcut === 'rates');
    assert.equal(saved.text, 'Our loan rates start at 4.5 %.');

    await row.getByRole('button', { name: 'Delete response rates' }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Delete' }).click();
    await row.waitFor({ state: 'detached' });
    assert.equal((await stack.server.admin('GET', '/api/v1/responses')).json.responses.some((r) => r.shortcut === 'rates'), false);
    assert.deepEqual(page.errors, []);
    await page.context().close();
  });

  test('at 360 px table actions stay on screen; Escape returns the focus; a fixed field clears its error', async () => {
    await createQueue(stack.server, { name: 'narrow', display_name: 'Narrow queue' });
    const page = await newPage(stack, { width: 360, height: 760 });
    await signInAsAdmin(stack, page);
    await page.getByRole('link', { name: 'Queues' }).click();
    const edit = page.getByRole('button', { name: 'Edit queue narrow' });
    // The section is drawn again as its data and live events come: measure once it holds still.
    let box = null;
    await waitFor(
      async () => {
        box = await edit.scrollIntoViewIfNeeded({ timeout: 2000 }).then(() => edit.boundingBox(), () => null);
        return box !== null;
      },
      { message: 'Edit queue narrow on screen' },
    );
    assert.ok(box.x >= 0 && box.x + box.width <= 360, `Edit is at x ${box.x}..${box.x + box.width}, the screen is 360 px`);
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    assert.ok(overflow <= 0, `the page is ${overflow}px wider than the screen`);
    await screenshots(page, 'manager-queues-narrow');

    // Escape closes the dialog and the focus is back on the button that opened it.
    await edit.click();
    await page.getByRole('dialog').waitFor();
    await page.keyboard.press('Escape');
    await page.getByRole('dialog').waitFor({ state: 'detached' });
    await waitFor(async () => page.evaluate(() => document.activeElement?.getAttribute('aria-label') === 'Edit queue narrow'), {
      message: 'the focus back on Edit queue narrow',
    });

    // A refused name shows its error; changing the field clears it.
    await page.getByRole('button', { name: 'Add queue' }).click();
    const dialog = page.getByRole('dialog');
    await dialog.getByLabel('Queue name').fill('narrow');
    await dialog.getByLabel('Display name').fill('Again');
    await dialog.getByRole('button', { name: 'Save' }).click();
    const error = dialog.locator('.error-text');
    await waitFor(async () => ((await error.textContent()) || '').length > 0, { message: 'the error of a taken name' });
    await dialog.getByLabel('Queue name').fill('narrow-2');
    assert.equal(await error.textContent(), '', 'the error went with the fix');
    await dialog.getByRole('button', { name: 'Save' }).click();
    await dialog.waitFor({ state: 'detached' });
    let focused = '';
    await waitFor(
      async () => {
        focused = await page.evaluate(() => document.activeElement?.outerHTML.slice(0, 120));
        return /^<button[^>]*>Add queue<\/button>$/.test(focused);
      },
      { message: () => `the focus back on Add queue after the list was drawn anew; it is on ${focused}` },
    );
    assert.deepEqual(page.errors, []);
    await page.context().close();
  });
});
