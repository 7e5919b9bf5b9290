// Browser tests of the Digital Messaging Manager (/manager) against a real `parley serve`,
// driven by role and label as a person reads the page.
//
// Sign-in: an admin user is created with the admin token and signs in with Username and
// Password, as a person does.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { REPO, makeTempDir, runCli } from '../integration/harness.mjs';
import { Receiver, createUser, newPage, screenshots, signIn, startStack, waitFor } from './support.mjs';

async function signInAsAdmin(stack, page) {
  const admin = await createUser(stack.server, { role: 'admin', username: `admin${Date.now() % 100000}`, display_name: 'Ada Admin' });
  await signIn(page, stack.origin(), '/manager', admin);
  await page.getByRole('navigation', { name: 'Sections' }).waitFor();
}

describe('Digital Messaging Manager', () => {
  let stack;
  let hook;
  let botsDir;
  before(async () => {
    hook = await Receiver.start('hook');
    botsDir = makeTempDir('parley-e2e-bots-');
    fs.copyFileSync(path.join(REPO, 'bots/bank.yaml'), path.join(botsDir, 'bank.yaml'));
    stack = await startStack({
      serverArgs: ['--bots', botsDir, '--retry-initial-ms', '100', '--retry-max-ms', '200', '--retry-for-seconds', '2'],
    });
  });
  after(async () => {
    await stack?.close();
    await hook?.close();
  });

  test('sign-in: a wrong password is refused; a session survives a reload and ends with Sign out', async () => {
    const admin = await createUser(stack.server, { role: 'admin' });
    const page = await newPage(stack);
    await signIn(page, stack.origin(), '/manager', { ...admin, password: 'not-the-password' });
    await page.getByText('The username or password is not right.').waitFor();
    await screenshots(page, 'manager-signin');
    assert.equal(await page.getByRole('navigation', { name: 'Sections' }).count(), 0);

    // The right password; a reload keeps the session (cookie + csrf from /auth/me); nothing of
    // it is in the URL or the page's storage; Sign out ends it.
    await page.getByLabel('Password').fill(admin.password);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('navigation', { name: 'Sections' }).waitFor();
    await page.reload();
    await page.getByRole('navigation', { name: 'Sections' }).waitFor();
    const stored = await page.evaluate(() => JSON.stringify({ ...localStorage }) + JSON.stringify({ ...sessionStorage }) + location.href + document.cookie);
    assert.ok(!stored.includes(admin.password), 'no password in storage, URL or script-readable cookies');
    const cookies = await page.context().cookies();
    const session = cookies.find((c) => c.name === 'parley_session');
    assert.ok(session?.httpOnly, 'the session cookie is HttpOnly');
    assert.ok(!stored.includes(session.value), 'the session token is not readable by the page');
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByRole('button', { name: 'Sign in' }).waitFor();
    await page.reload();
    await page.getByRole('button', { name: 'Sign in' }).waitFor();
    assert.deepEqual(page.errors, []);
    await page.context().close();
  });

  test('add a connection, read the four settings, use them; disable, enable, rotate, delete', async () => {
    const page = await newPage(stack);
    await signInAsAdmin(stack, page);
    await page.getByRole('link', { name: 'Connections' }).click();
    await page.getByRole('button', { name: 'Add connection' }).click();
    await page.getByRole('button', { name: 'Client Channel API' }).click();
    await page.getByLabel('Name').fill('Acme Teams');
    await page.getByLabel('Client webhook').fill(hook.url);
    // The bot defaults to the only loaded bot (never Echo, which is labelled as a test bot); the
    // queue its customers wait in is a field too (issue 16).
    const form = page.getByRole('dialog');
    assert.equal(await form.getByLabel('Bot').inputValue(), 'bank');
    await form.getByRole('option', { name: 'Echo (echo): repeats the customer, for testing' }).waitFor({ state: 'attached' });
    assert.equal(await form.getByLabel('Queue').inputValue(), 'default');
    await form.getByLabel('Queue').fill('vip');
    await page.getByRole('button', { name: 'Save' }).click();

    const dialog = page.getByRole('dialog');
    const connectionId = await dialog.getByLabel('Connection ID').inputValue();
    const clientWebhook = await dialog.getByLabel('Client Webhook').inputValue();
    const dmWebhook = await dialog.getByLabel('Digital Messaging Webhook').inputValue();
    const secret = await dialog.getByLabel('JWT Secret').inputValue();
    assert.match(connectionId, /^[0-9a-f-]{36}$/);
    assert.equal(clientWebhook, hook.url);
    assert.equal(dmWebhook, `${stack.server.url}/messages`);
    assert.match(secret, /^[A-Za-z0-9_-]{43,}$/);
    await dialog.getByText('shown only now').waitFor();
    await screenshots(page, 'manager-connection-saved');
    await dialog.getByRole('button', { name: 'Done' }).click();

    // The settings work for an integration layer: parley client send with them, and the bank
    // bot's reply reaches the webhook signed with that secret.
    hook.trust({ connection_id: connectionId, jwt_secret: secret });
    const sent = await runCli(['client', 'send', '--url', dmWebhook, '--connection-id', connectionId, '--customer', 'c-1', 'Hello from the page'], {
      env: { PARLEY_JWT_SECRET: secret },
    });
    assert.equal(sent.code, 0, sent.stderr);
    await waitFor(() => hook.deliveredTo({ connection_id: connectionId }, 'c-1').length > 0, { message: 'the echo reply at the webhook' });
    assert.equal(hook.rejected.length, 0);

    // The list shows it, enabled; its page disables and enables it.
    await page.getByRole('link', { name: 'Acme Teams' }).click();
    await page.getByRole('heading', { name: 'Acme Teams' }).waitFor();
    await page.getByText('Queue: vip').waitFor();
    assert.equal((await stack.server.admin('GET', `/api/v1/connections/${connectionId}`)).json.queue, 'vip');
    await page.getByRole('button', { name: 'Disable' }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Disable' }).click();
    await page.getByText('Disabled', { exact: true }).waitFor();
    const disabled = await stack.server.admin('GET', `/api/v1/connections/${connectionId}`);
    assert.equal(disabled.json.enabled, false);
    await page.getByRole('button', { name: 'Enable' }).click();
    await page.getByText('Enabled', { exact: true }).waitFor();
    assert.equal((await stack.server.admin('GET', `/api/v1/connections/${connectionId}`)).json.enabled, true);

    // What the channel can show (issue 18): all by default; the edit form turns menus off.
    await page.getByText('The channel shows: Menus, Carousels, Link buttons, Typing indicator').waitFor();
    await page.getByRole('button', { name: 'Edit' }).click();
    const edit = page.getByRole('dialog');
    assert.equal(await edit.getByRole('checkbox', { name: 'Menus' }).isChecked(), true);
    await edit.getByRole('checkbox', { name: 'Menus' }).uncheck();
    await edit.getByRole('checkbox', { name: 'Typing indicator' }).uncheck();
    await edit.getByRole('button', { name: 'Save' }).click();
    await page.getByText('The channel shows: Carousels, Link buttons').waitFor();
    assert.deepEqual((await stack.server.admin('GET', `/api/v1/connections/${connectionId}`)).json.capabilities, ['carousel', 'link_button']);

    // Rotate: the new secret is shown once, with how long the old one still works.
    await page.getByRole('button', { name: 'Rotate secret' }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Rotate secret' }).click();
    const rotated = page.getByRole('dialog', { name: 'Secret rotated' });
    const newSecret = await rotated.getByLabel('JWT Secret').inputValue();
    assert.notEqual(newSecret, secret);
    assert.equal((await stack.server.admin('GET', `/api/v1/connections/${connectionId}`)).json.jwt_secret, newSecret);
    await rotated.getByText('The old secret still works').waitFor();
    await rotated.getByRole('button', { name: 'Done' }).click();
    await page.getByText('The previous secret still works until').waitFor();
    await screenshots(page, 'manager-connection');

    // Delete asks first; Cancel keeps it, Delete removes it.
    await page.getByRole('button', { name: 'Delete' }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Cancel' }).click();
    assert.equal((await stack.server.admin('GET', `/api/v1/connections/${connectionId}`)).status, 200);
    await page.getByRole('button', { name: 'Delete' }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Delete' }).click();
    await page.getByRole('button', { name: 'Add connection' }).waitFor();
    await waitFor(async () => (await stack.server.admin('GET', `/api/v1/connections/${connectionId}`)).status === 404, {
      message: 'the connection to be deleted',
    });
    await page.getByRole('link', { name: 'Acme Teams' }).waitFor({ state: 'detached' });
    assert.deepEqual(page.errors, []);
    await page.context().close();
  });

  test('a failing webhook shows in the deliveries with its error; Replay delivers it', async () => {
    const failing = await Receiver.start('failing');
    try {
      failing.mode = { status: 500 };
      const conn = await stack.server.createConnection({ name: 'Failing bridge', webhook: failing.url, bot: 'echo' });
      failing.trust(conn);
      await stack.server.send(conn, { type: 'text', customer_id: 'c-9', message_id: 'm-1', text: ['hi'] });
      await waitFor(async () => (await stack.server.deliveries(conn, 'dead')).length === 1, {
        timeout: 15000,
        message: 'the reply to be dead-lettered',
      });

      const page = await newPage(stack);
      await signInAsAdmin(stack, page);
      await page.goto(`${stack.origin()}/manager#connections/${conn.connection_id}`);
      const deliveries = page.getByRole('table', { name: 'Deliveries' });
      const row = deliveries.getByRole('row').filter({ hasText: 'Dead' });
      await row.waitFor();
      await row.getByText('500').first().waitFor(); // the last error names the status
      await page.getByLabel('Status').selectOption('dead');
      await deliveries.getByRole('row').filter({ hasText: 'Dead' }).waitFor();
      // One word for a delivery that is being retried: the filter, the badge and the overview.
      assert.deepEqual(await page.getByLabel('Status').locator('option').allTextContents(), ['All', 'Pending', 'Failing', 'Dead', 'Delivered']);
      await screenshots(page, 'manager-deliveries');

      failing.mode = { status: 200 };
      // The list Replay reloads (still filtered on Dead) is held back until the admin has picked
      // Delivered and sees it: its late answer must not replace the newer choice.
      let release;
      const held = new Promise((resolve) => (release = resolve));
      const deadList = (url) => url.pathname.endsWith('/deliveries') && url.searchParams.get('status') === 'dead';
      await page.route((url) => deadList(url), async (route) => {
        await held;
        await route.continue();
      });
      await deliveries.getByRole('button', { name: /^Replay/ }).click();
      await waitFor(async () => (await stack.server.deliveries(conn, 'delivered')).length === 1, {
        message: 'the replayed event to be delivered',
      });
      await page.getByLabel('Status').selectOption('delivered');
      await deliveries.getByRole('row').filter({ hasText: 'Delivered' }).waitFor();
      const lateAnswer = page.waitForResponse((r) => deadList(new URL(r.url())));
      release();
      await lateAnswer;
      await page.waitForTimeout(200); // the page has handled the late answer
      assert.equal(await page.getByLabel('Status').inputValue(), 'delivered');
      assert.equal(await deliveries.getByRole('row').filter({ hasText: 'Delivered' }).count(), 1);
      assert.deepEqual(page.errors, []);
      await page.context().close();
    } finally {
      await failing.close();
    }
  });

  test('a name with markup is shown as text, and nothing in it runs', async () => {
    const evil = '<img src=x onerror="window.__pwned=1">';
    await stack.server.createConnection({ name: evil, webhook: hook.url });
    const page = await newPage(stack);
    await signInAsAdmin(stack, page);
    await page.getByRole('link', { name: 'Connections' }).click();
    await page.getByRole('link', { name: evil }).waitFor();
    assert.equal(await page.locator('main img').count(), 0);
    assert.equal(await page.evaluate(() => window.__pwned), undefined);
    await page.context().close();
  });

  test('bots: the list, a reload, and the load error of a broken file', async () => {
    const page = await newPage(stack);
    await signInAsAdmin(stack, page);
    await page.getByRole('link', { name: 'Bots' }).click();
    const bots = page.getByRole('table', { name: 'Bots' });
    const bank = bots.getByRole('row').filter({ hasText: 'bank' });
    await bank.waitFor();
    await bots.getByRole('row').filter({ hasText: 'echo' }).waitFor();
    await bank.getByRole('button', { name: 'Reload bank' }).click();
    const good = fs.readFileSync(path.join(botsDir, 'bank.yaml'), 'utf8');
    fs.writeFileSync(path.join(botsDir, 'bank.yaml'), 'name: Ava\nintents: [\n');
    try {
      await bank.getByRole('button', { name: 'Reload bank' }).click();
      await bank.getByText(/^Load error: /).waitFor();
      await screenshots(page, 'manager-bots');
    } finally {
      fs.writeFileSync(path.join(botsDir, 'bank.yaml'), good);
    }
    await bank.getByRole('button', { name: 'Reload bank' }).click();
    await bank.getByText(/^Load error: /).waitFor({ state: 'detached' });
    assert.deepEqual(page.errors, []);
    await page.context().close();
  });

  test('queues: add one, see its waiting count and estimate', async () => {
    const page = await newPage(stack);
    await signInAsAdmin(stack, page);
    await page.getByRole('link', { name: 'Queues' }).click();
    await page.getByRole('button', { name: 'Add queue' }).click();
    const dialog = page.getByRole('dialog');
    await dialog.getByLabel('Queue name').fill('mortgages');
    await dialog.getByLabel('Display name').fill('Mortgage advice');
    await dialog.getByRole('button', { name: 'Save' }).click();
    const row = page.getByRole('table', { name: 'Queues' }).getByRole('row').filter({ hasText: 'Mortgage advice' });
    await row.waitFor();
    await row.getByText('Open').waitFor();
    assert.equal((await stack.server.admin('GET', '/api/v1/queues')).json.queues.some((q) => q.name === 'mortgages'), true);
    await screenshots(page, 'manager-queues');
    assert.deepEqual(page.errors, []);
    await page.context().close();
  });

  test('users: add an agent, change capacity, disable and enable, reset the password', async () => {
    await stack.server.admin('POST', '/api/v1/queues', { name: 'loans', display_name: 'Loans' });
    const page = await newPage(stack);
    await signInAsAdmin(stack, page);
    await page.getByRole('link', { name: 'Users' }).click();
    await page.getByRole('button', { name: 'Add user' }).click();
    let dialog = page.getByRole('dialog');
    await dialog.getByLabel('Username').fill('bob');
    await dialog.getByLabel('Display name').fill('Bob Agent');
    await dialog.getByLabel('Password').fill('bob-secret-pass');
    await dialog.getByLabel('loans').check();
    await dialog.getByLabel('Max chats').fill('4');
    await dialog.getByRole('button', { name: 'Save' }).click();
    const row = page.getByRole('table', { name: 'Users' }).getByRole('row').filter({ hasText: 'Bob Agent' });
    await row.waitFor();
    let bob = (await stack.server.admin('GET', '/api/v1/users/bob')).json;
    assert.equal(bob.role, 'agent');
    assert.deepEqual(bob.queues, ['loans']);
    assert.equal(bob.max_chats, 4);

    await row.getByRole('button', { name: 'Edit bob' }).click();
    dialog = page.getByRole('dialog');
    await dialog.getByLabel('Max chats').fill('2');
    await dialog.getByRole('button', { name: 'Save' }).click();
    await waitFor(async () => (await stack.server.admin('GET', '/api/v1/users/bob')).json.max_chats === 2, { message: 'max_chats 2' });

    await row.getByRole('button', { name: 'Disable bob' }).click();
    await row.getByText('Disabled').waitFor();
    bob = (await stack.server.admin('GET', '/api/v1/users/bob')).json;
    assert.equal(bob.enabled, false);
    await row.getByRole('button', { name: 'Enable bob' }).click();
    await row.getByText('Enabled').waitFor();

    await row.getByRole('button', { name: 'Reset password of bob' }).click();
    dialog = page.getByRole('dialog');
    await dialog.getByLabel('New password').fill('bob-new-password');
    await dialog.getByRole('button', { name: 'Save' }).click();
    await dialog.waitFor({ state: 'detached' });
    const login = await stack.server.request('POST', '/api/v1/auth/login', {
      headers: { 'content-type': 'application/json' },
      body: { username: 'bob', password: 'bob-new-password' },
    });
    assert.equal(login.status, 200);
    await screenshots(page, 'manager-users');
    assert.deepEqual(page.errors, []);
    await page.context().close();
  });

  test('audit log: who changed what, from where, and never a secret', async () => {
    const queue = `audited${Date.now() % 100000}`;
    assert.equal((await stack.server.admin('POST', '/api/v1/queues', { name: queue, display_name: 'Audited' })).status, 201);
    const conn = await stack.server.admin('POST', '/api/v1/connections', { name: `Audited ${queue}`, client_webhook: hook.url });
    assert.equal(conn.status, 201);
    const page = await newPage(stack);
    await signInAsAdmin(stack, page);
    await page.getByRole('link', { name: 'Audit log' }).click();
    await page.getByRole('heading', { name: 'Audit log' }).waitFor();
    const row = page.getByRole('row').filter({ hasText: `Created queue ${queue}` });
    await row.waitFor();
    assert.match(await row.innerText(), /admin token/);
    assert.match(await row.innerText(), /127\.0\.0\.1/);
    assert.match(await row.innerText(), /name, display_name/);
    await page.getByRole('row').filter({ hasText: 'Created connection' }).first().waitFor();
    const text = await page.locator('main').innerText();
    assert.ok(!text.includes(conn.json.jwt_secret), 'no JWT secret on the page');
    await screenshots(page, 'manager-audit');
    assert.deepEqual(page.errors, []);
    await page.context().close();
  });

  test('overview: agents by status, conversations by state, deliveries failing', async () => {
    await createUser(stack.server, { username: 'carol', display_name: 'Carol Agent' });
    const page = await newPage(stack);
    await signInAsAdmin(stack, page);
    await page.getByRole('link', { name: 'Overview' }).click();
    await page.getByRole('table', { name: 'Agents' }).getByRole('row').filter({ hasText: 'Carol Agent' }).getByText('Offline').waitFor();
    await page.getByRole('heading', { name: 'Conversations by state' }).waitFor();
    await screenshots(page, 'manager-overview');
    assert.deepEqual(page.errors, []);
    await page.context().close();
  });
});

// How long the pages take to load from a local server, cold (a new browser context, nothing
// cached) and warm (reloaded): navigation start to the load event, and to the sign-in form on
// screen. Printed for docs/performance.md, not asserted.
describe('page load', () => {
  let stack;
  before(async () => {
    stack = await startStack();
  });
  after(async () => stack?.close());

  test('/manager and /agent load times (printed)', async () => {
    const lines = [];
    for (const pathName of ['/manager', '/agent']) {
      const cold = [];
      const warm = [];
      for (let i = 0; i < 5; i++) {
        const page = await newPage(stack);
        for (const list of [cold, warm]) {
          const t0 = Date.now();
          if (list === cold) await page.goto(`${stack.origin()}${pathName}`);
          else await page.reload();
          await page.getByRole('button', { name: 'Sign in' }).waitFor();
          const shown = Date.now() - t0;
          const [load, ready] = await page.evaluate(() => [
            performance.getEntriesByType('navigation')[0].loadEventEnd,
            performance.getEntriesByName('parley:ready')[0]?.startTime,
          ]);
          list.push({ load: Math.round(load), ready: Math.round(ready), shown });
        }
        assert.deepEqual(page.errors, []);
        await page.context().close();
      }
      const median = (xs) => xs.slice().sort((a, b) => a - b)[Math.floor(xs.length / 2)];
      for (const [name, list] of [['cold', cold], ['warm', warm]]) {
        lines.push(
          `# ${pathName} ${name} (${stack.pagesFromParley ? 'served by parley' : 'dev server'}): load event median ${median(list.map((x) => x.load))} ms, ` +
            `sign-in form ready median ${median(list.map((x) => x.ready))} ms (max ${Math.max(...list.map((x) => x.ready))} ms), ` +
            `seen by the test after ${median(list.map((x) => x.shown))} ms`,
        );
      }
    }
    process.stdout.write(`${lines.join('\n')}\n`);
  });
});
