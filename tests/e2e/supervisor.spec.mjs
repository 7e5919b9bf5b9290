// Browser tests for issue 19 against a real `parley serve`: the supervisor's wallboard
// (/supervisor) shows the queues and agents live, marks a service level below its target in
// words and colour, opens an agent's chat to monitor (live), whisper (never sent to the
// customer) and join (the supervisor's message goes out as csr with their name); the agent
// console's offer alerts (sound and desktop notification) are switched by labelled checkboxes
// and remembered across a reload.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { readyAgent } from '../integration/agent_support.mjs';
import { Receiver, createQueue, createUser, newPage, screenshots, signIn, startStack, textEvent, uid, waitFor } from './support.mjs';

// Counts what the page asks of the Web Audio and Notification APIs (headless Chromium plays no
// sound and shows no notification): window.__alerts = {tones, notes}.
const FAKE_ALERT_APIS = () => {
  window.__alerts = { tones: 0, notes: [] };
  class FakeNode {
    connect(next) {
      return next || this;
    }
  }
  class FakeAudioContext {
    constructor() {
      this.state = 'running';
      this.currentTime = 0;
      this.destination = new FakeNode();
    }
    resume() {
      return Promise.resolve();
    }
    createOscillator() {
      const osc = new FakeNode();
      osc.frequency = { value: 0 };
      osc.start = () => {
        window.__alerts.tones += 1;
      };
      osc.stop = () => {};
      return osc;
    }
    createGain() {
      const gain = new FakeNode();
      gain.gain = { setValueAtTime() {}, exponentialRampToValueAtTime() {} };
      return gain;
    }
  }
  window.AudioContext = FakeAudioContext;
  class FakeNotification {
    constructor(title, options) {
      window.__alerts.notes.push({ title, body: options?.body });
    }
    close() {}
  }
  // The browser keeps a granted permission across reloads: so does the fake.
  FakeNotification.permission = sessionStorage.getItem('fake-notification-permission') || 'default';
  FakeNotification.requestPermission = async () => {
    FakeNotification.permission = 'granted';
    sessionStorage.setItem('fake-notification-permission', 'granted');
    return 'granted';
  };
  window.Notification = FakeNotification;
};

describe('supervisors: the wallboard and the offer alerts', () => {
  let stack;
  let hook;
  let conn;
  let lonely;
  let sue;
  before(async () => {
    hook = await Receiver.start('hook');
    stack = await startStack();
    await createQueue(stack.server, { name: 'general', display_name: 'General' });
    await createQueue(stack.server, { name: 'sales', display_name: 'Sales', service_level_target: 0.9 });
    let r = await stack.server.admin('POST', '/api/v1/connections', { name: 'Direct chat', client_webhook: hook.url, bot: 'none', queue: 'general' });
    assert.equal(r.status, 201, r.text);
    conn = r.json;
    hook.trust(conn);
    r = await stack.server.admin('POST', '/api/v1/connections', { name: 'Sales chat', client_webhook: hook.url, bot: 'none', queue: 'sales' });
    assert.equal(r.status, 201, r.text);
    lonely = r.json;
    hook.trust(lonely);
    sue = await createUser(stack.server, { username: 'sue', display_name: 'Sue Visor', role: 'supervisor' });
  });
  after(async () => {
    await stack?.close();
    await hook?.close();
  });

  test('the wallboard shows queues and agents live; a chat is monitored, whispered to and joined from it', async () => {
    const amy = await readyAgent(stack.server, { username: `amy${uid().slice(0, 4)}`, display_name: 'Amy', queues: ['general'] });
    const page = await newPage(stack);
    await signIn(page, stack.origin(), '/supervisor', sue);
    await page.getByRole('heading', { name: 'Queues' }).waitFor();
    const queues = page.getByRole('table', { name: 'Queues' });
    await queues.getByRole('row', { name: /General/ }).waitFor();
    const agents = page.getByRole('table', { name: 'Agents' });
    await agents.getByRole('row', { name: /Amy/ }).getByText('Available').waitFor();

    // A customer Amy takes: the wallboard shows the chat under Amy without a reload.
    const customer = `w-${uid().slice(0, 8)}`;
    await stack.server.send(conn, textEvent(customer, 'My card was swallowed', { customer_name: 'Grace Hopper' }));
    const offered = await amy.event((f) => f.type === 'conversation.offered', { message: 'offer to Amy' });
    await amy.ok('POST', `/api/v1/conversations/${offered.conversation.id}/accept`);
    const open = agents.getByRole('button', { name: 'Open chat with Grace Hopper' });
    await open.waitFor();
    await waitFor(async () => /1/.test(await queues.getByRole('row', { name: /General/ }).getByRole('cell').nth(7).textContent()), { message: 'answered today 1' });

    // A customer of Sales leaves while waiting: its service level (0 of 1) is below its target,
    // said in words, not by colour alone.
    const gone = `s-${uid().slice(0, 8)}`;
    await stack.server.send(lonely, textEvent(gone, 'anyone?'));
    await stack.server.send(lonely, { type: 'customer_end_session', customer_id: gone });
    const sales = queues.getByRole('row', { name: /Sales/ });
    await sales.getByText('below target 90 %', { exact: false }).waitFor();
    assert.equal(await sales.locator('.over').count() > 0, true);
    assert.equal(await queues.getByRole('row', { name: /General/ }).getByText('below target').count(), 0);

    await open.click();
    await page.getByRole('heading', { name: 'Chat with Grace Hopper' }).waitFor();
    await page.getByRole('button', { name: 'Monitor' }).click();
    await page.getByText('You are monitoring this chat').waitFor();
    await stack.server.send(conn, textEvent(customer, 'Are you still there?'));
    const transcript = page.getByRole('list', { name: 'Transcript' });
    await transcript.getByText('Are you still there?').waitFor();

    await page.getByRole('button', { name: 'Whisper…' }).click();
    await page.getByLabel('Whisper', { exact: true }).fill('Offer a new card by post');
    await page.getByRole('button', { name: 'Send whisper' }).click();
    await transcript.getByText('Offer a new card by post').waitFor();
    await amy.event((f) => f.type === 'conversation.message' && f.entry?.type === 'whisper', { message: 'Amy reads the whisper' });

    await page.getByRole('button', { name: 'Join chat' }).click();
    await page.getByLabel('Message to the customer').fill('Hello Grace, I am Amy’s supervisor.');
    await page.getByRole('button', { name: 'Send', exact: true }).click();
    const said = await waitFor(() => hook.deliveredTo(conn, customer).find((e) => e.text?.[0]?.startsWith('Hello Grace')), { message: 'supervisor message delivered' });
    assert.equal(said.from, 'csr');
    assert.equal(said.csr_name, 'Sue Visor');
    assert.ok(!JSON.stringify(hook.deliveredTo(conn, customer)).includes('new card by post'), 'the whisper reached the customer');
    await screenshots(page, 'wallboard');
    await page.getByRole('button', { name: 'Leave chat' }).click();
    await page.getByRole('button', { name: 'Join chat' }).waitFor();
    assert.deepEqual(page.errors, []);
    // Away, so that the next test's offers ring for its own agent.
    await amy.ok('PUT', '/api/v1/agents/me/status', { status: 'away' });
    await amy.disconnect();
  });

  test('an agent is not let in to the wallboard', async () => {
    const al = await createUser(stack.server, { username: `al${uid().slice(0, 4)}`, display_name: 'Al', queues: ['general'] });
    const page = await newPage(stack);
    await signIn(page, stack.origin(), '/supervisor', al);
    await page.getByText('The wallboard is for supervisors and administrators.').waitFor();
    assert.equal(await page.getByRole('table', { name: 'Queues' }).count(), 0);
  });

  test('offer alerts: a sound and a desktop notification, each switched by a checkbox and remembered', async () => {
    const bea = await createUser(stack.server, { username: `bea${uid().slice(0, 4)}`, display_name: 'Bea', queues: ['general'] });
    const page = await newPage(stack);
    await page.addInitScript(FAKE_ALERT_APIS);
    await signIn(page, stack.origin(), '/agent', bea);
    await page.getByRole('heading', { name: 'My queues' }).waitFor();
    const sound = page.getByLabel('Sound on offers');
    const notify = page.getByLabel('Desktop notification on offers');
    assert.equal(await sound.isChecked(), false);
    assert.equal(await notify.isChecked(), false);
    await sound.check();
    await notify.check();
    await waitFor(async () => notify.isChecked(), { message: 'notifications allowed' });
    await page.reload();
    await page.getByRole('heading', { name: 'My queues' }).waitFor();
    assert.equal(await page.getByLabel('Sound on offers').isChecked(), true, 'sound remembered');
    assert.equal(await page.getByLabel('Desktop notification on offers').isChecked(), true, 'notification remembered');

    await page.getByLabel('Available').check();
    const customer = `a-${uid().slice(0, 8)}`;
    await stack.server.send(conn, textEvent(customer, 'hello', { customer_name: 'Ada Lovelace' }));
    await page.getByRole('group', { name: /New chat: Ada Lovelace/ }).waitFor();
    const alerts = await page.evaluate(() => window.__alerts);
    assert.ok(alerts.tones >= 1, `a tone was played: ${JSON.stringify(alerts)}`);
    assert.equal(alerts.notes.length, 1);
    assert.match(alerts.notes[0].body, /Ada Lovelace/);

    // Switched off: the next offer is silent.
    await page.getByLabel('Sound on offers').uncheck();
    await page.getByLabel('Desktop notification on offers').uncheck();
    await page.getByRole('group', { name: /New chat: Ada Lovelace/ }).getByRole('button', { name: 'Accept' }).click();
    await page.getByRole('group', { name: /New chat: Ada Lovelace/ }).waitFor({ state: 'detached' });
    const other = `b-${uid().slice(0, 8)}`;
    const before = await page.evaluate(() => JSON.stringify(window.__alerts));
    await stack.server.send(conn, textEvent(other, 'hi', { customer_name: 'Alan Turing' }));
    await page.getByRole('group', { name: /New chat: Alan Turing/ }).waitFor();
    assert.equal(await page.evaluate(() => JSON.stringify(window.__alerts)), before);
    // The away reasons are offered beside the status.
    const reason = page.getByLabel('Away reason');
    await reason.selectOption('lunch');
    await waitFor(async () => page.getByLabel('Away', { exact: true }).isChecked(), { message: 'away with a reason' });
    const me = (await stack.server.admin('GET', '/api/v1/agents')).json.agents.find((a) => a.username === bea.username);
    assert.equal(me.away_reason, 'lunch');
    assert.deepEqual(page.errors, []);
  });
});
