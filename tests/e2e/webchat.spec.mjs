// The demo web chat in a real browser: Debian's chromium driven by playwright-core (no browser
// download), against `parley serve --bots bots` and `parley client webchat` for the bank bot.
// Skips, loudly, only when /usr/bin/chromium is missing.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { REPO, sign, uid } from '../integration/harness.mjs';
import { startWebchatFixture } from '../integration/webchat_support.mjs';
import { readyAgent } from '../integration/agent_support.mjs';

const CHROMIUM = '/usr/bin/chromium';
const haveChromium = fs.existsSync(CHROMIUM);
if (!haveChromium) {
  console.error(`\n!!! SKIPPING the browser tests: ${CHROMIUM} is missing (scripts/install-deps installs it) !!!\n`);
}
const SHOTS = path.join(REPO, 'docs/screenshots');

let fx;
let browser;

before(async () => {
  if (!haveChromium) return;
  const { chromium } = await import('playwright-core');
  fx = await startWebchatFixture({ bot: 'bank', serverArgs: ['--bots', path.join(REPO, 'bots')] });
  const args = process.getuid?.() === 0 ? ['--no-sandbox'] : [];
  browser = await chromium.launch({ executablePath: CHROMIUM, args, timeout: 60000 });
});

after(async () => {
  await browser?.close();
  await fx?.close();
});

const VISIBLE = { timeout: 15000 };

async function openChat(width) {
  const context = await browser.newContext({ viewport: { width, height: 800 } });
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  page.on('console', (m) => {
    // The bank bot's sample images are on hosts this offline test cannot reach.
    if (m.type() === 'error' && !/net::ERR_NAME_NOT_RESOLVED/.test(m.text())) errors.push(m.text());
  });
  await page.goto(fx.webchat.url);
  await page.locator('body[data-connected="true"]').waitFor(VISIBLE);
  return { context, page, errors };
}

async function say(page, text) {
  await page.getByRole('textbox', { name: 'Message' }).fill(text);
  await page.getByRole('textbox', { name: 'Message' }).press('Enter');
}

test('a customer chats with the bank bot: menu, carousel, link button, handover', { skip: !haveChromium }, async () => {
  const { context, page, errors } = await openChat(1280);
  const log = page.getByRole('list', { name: 'Conversation' });
  await page.getByLabel('Your name (optional)').fill('Ada');
  await say(page, 'hello');
  await log.getByText("Hi Ada, I'm Ava, Parley Bank's virtual assistant.").waitFor(VISIBLE);

  // A menu button sends its payload; the bot's flow asks for the city.
  await log.getByRole('button', { name: 'Find a branch', exact: true }).last().click();
  await log.getByText('Which city are you in?').waitFor(VISIBLE);
  await say(page, 'London');
  await log.getByText('Our branches in London').waitFor(VISIBLE);
  const card = log.locator('.card', { hasText: 'Parley Bank Moorgate' });
  await card.waitFor(VISIBLE);
  const directions = card.getByRole('link', { name: 'Directions' });
  assert.equal(await directions.getAttribute('href'), 'https://maps.example/?q=1+Moorgate+London');
  assert.equal(await directions.getAttribute('rel'), 'noopener noreferrer');

  // A carousel postback button.
  await card.getByRole('button', { name: 'Opening hours', exact: true }).click();
  await log.getByText('Our branches are open 9:00-17:00, Monday to Friday').waitFor(VISIBLE);

  // A link button.
  await log.getByRole('button', { name: 'Online banking', exact: true }).last().click();
  const online = log.getByRole('link', { name: 'Open online banking' });
  await online.waitFor(VISIBLE);
  assert.equal(await online.getAttribute('href'), 'https://online.parley-bank.example/login');
  assert.match(await online.getAttribute('class'), /link-button/);

  // Asking for a person.
  await say(page, 'talk to a person');
  await log.getByText('Let me find you a person to talk to.').waitFor(VISIBLE);
  // The bot offers the queues; choosing one queues the conversation for an agent.
  await log.getByRole('button', { name: 'Cards and payments', exact: true }).last().click();
  // The routing layer queues the conversation at once. No agent is signed in, so the customer
  // is told their place rather than an estimate (issue 16), and no wait notice shows.
  await log.getByText('All our agents are busy right now. You are number 1 in the queue.').waitFor(VISIBLE);
  assert.equal(await page.locator('#wait').isVisible(), false);

  // Messages from Parley appear once each, in seq order.
  const seqs = await log.locator('li[data-seq]').evaluateAll((lis) => lis.map((li) => Number(li.dataset.seq)));
  assert.ok(seqs.length >= 8, `seqs: ${seqs}`);
  assert.deepEqual(seqs, [...seqs].sort((a, b) => a - b), 'in seq order');
  assert.equal(new Set(seqs).size, seqs.length, 'each event once');

  await page.screenshot({ path: path.join(SHOTS, 'chat-1280.png') });
  assert.deepEqual(errors, []);
  await context.close();
});

test('what the customer types is shown literally, never run as HTML', { skip: !haveChromium }, async () => {
  const { context, page, errors } = await openChat(1280);
  const attack = '<img src=x onerror="window.__pwned=1">';
  await say(page, attack);
  const mine = page.locator('li.from-me').last();
  await mine.waitFor(VISIBLE);
  assert.equal(await mine.locator('.line').textContent(), attack);
  // The bot answers (its greeting) after the message was stored; nothing ran meanwhile.
  await page.locator('li.from-bot').first().waitFor(VISIBLE);
  assert.equal(await page.locator('#log img[src="x"]').count(), 0);
  assert.equal(await page.evaluate(() => window.__pwned), undefined);
  assert.deepEqual(errors, []);
  await context.close();
});

test('at 360 px the chat is usable; ending shows the notice, disables the composer, and restarts', { skip: !haveChromium }, async () => {
  const { context, page, errors } = await openChat(360);
  await say(page, 'hello');
  const log = page.getByRole('list', { name: 'Conversation' });
  await log.getByRole('button', { name: 'Opening hours', exact: true }).last().waitFor(VISIBLE);
  // Nothing wider than the screen.
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  assert.ok(overflow <= 0, `the page is ${overflow}px wider than the screen`);
  // The composer's controls are reachable by keyboard.
  await page.getByRole('textbox', { name: 'Message' }).focus();
  await page.keyboard.press('Tab');
  assert.equal(await page.evaluate(() => document.activeElement?.textContent), 'Send');
  await page.screenshot({ path: path.join(SHOTS, 'chat-360.png') });

  // End chat is in the header, not beside Send, and smaller than Send.
  const send = await page.getByRole('button', { name: 'Send' }).boundingBox();
  const end = await page.getByRole('button', { name: 'End chat' }).boundingBox();
  assert.ok(end.height < send.height, `End chat ${end.height}px high, Send ${send.height}px`);
  assert.ok(end.y + end.height < send.y - 100, 'End chat is away from Send');
  // It asks first: "Keep chatting" changes nothing.
  await page.getByRole('button', { name: 'End chat' }).click();
  const confirm = page.getByRole('dialog', { name: 'End this chat?' });
  await confirm.getByRole('button', { name: 'Keep chatting' }).click();
  assert.equal(await confirm.isVisible(), false);
  assert.equal(await page.getByRole('textbox', { name: 'Message' }).isEnabled(), true);
  await page.getByRole('button', { name: 'End chat' }).click();
  await confirm.getByRole('button', { name: 'End chat' }).click();
  await page.getByText('The conversation has ended').first().waitFor(VISIBLE);
  assert.equal(await page.getByRole('textbox', { name: 'Message' }).isDisabled(), true);
  assert.equal(await page.getByRole('button', { name: 'Send' }).isDisabled(), true);
  await page.getByRole('button', { name: 'Start a new chat' }).click();
  assert.equal(await page.getByRole('textbox', { name: 'Message' }).isEnabled(), true);
  await say(page, 'hello again');
  // A new conversation: the bot greets again.
  await page.waitForFunction(
    () => [...document.querySelectorAll('#log li')].filter((li) => li.textContent.includes("I'm Ava")).length === 2,
    null,
    VISIBLE,
  );
  assert.deepEqual(errors, []);
  await context.close();
});

// Events of the agent side, delivered to the webchat's webhook exactly as Parley signs them.
async function deliver(event) {
  const r = await fetch(`${fx.webchat.url}/webhook`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      authorization: `Bearer ${sign(fx.conn)}`,
      connection_id: fx.conn.connection_id,
    },
    body: JSON.stringify({ event_id: uid(), ...event }),
  });
  assert.equal(r.status, 200);
}

test('agent-side events render: typing, csr_name, wait time in place, seq order, end', { skip: !haveChromium }, async () => {
  const { context, page, errors } = await openChat(1280);
  const customer_id = await page.evaluate(() => sessionStorage.getItem('parley-webchat-customer-id'));
  assert.ok(customer_id);
  const log = page.getByRole('list', { name: 'Conversation' });
  await deliver({ type: 'typing_indicator', customer_id, seq: 1, from: 'csr' });
  await page.locator('#typing').waitFor({ state: 'visible', ...VISIBLE });
  await deliver({ type: 'wait_time', customer_id, seq: 2, from: 'system', waitTime: 180, queue_position: 2 });
  const wait = page.locator('#wait');
  await page.getByText('Estimated wait: about 3 minutes. You are number 2 in the queue').waitFor(VISIBLE);
  await deliver({ type: 'wait_time', customer_id, seq: 3, from: 'system', waitTime: 50, queue_position: 1 });
  await page.getByText('Estimated wait: about 1 minute. You are number 1 in the queue').waitFor(VISIBLE);
  assert.equal(await wait.count(), 1, 'updated in place');
  // seq 5 arrives before seq 4 (as a replay could): shown in seq order.
  await deliver({ type: 'text', customer_id, seq: 5, from: 'csr', csr_name: 'Sam', message_id: uid(), text: ['second'] });
  const first = { type: 'text', customer_id, seq: 4, from: 'csr', csr_name: 'Sam', message_id: uid(), text: ['<b>first</b>'] };
  const firstId = uid();
  await deliver({ ...first, event_id: firstId });
  await deliver({ ...first, event_id: firstId }); // a retry: shown once
  await log.getByText('<b>first</b>').waitFor(VISIBLE);
  assert.equal(await page.locator('#typing').isVisible(), false, 'a message hides the typing indicator');
  const lines = await log.locator('li.from-csr .line').allTextContents();
  assert.deepEqual(lines, ['<b>first</b>', 'second']);
  assert.deepEqual(await log.locator('li.from-csr .sender').allTextContents(), ['Sam', 'Sam']);
  await deliver({ type: 'csr_end_session', customer_id, seq: 6, from: 'system' });
  await page.getByText('The conversation has ended').first().waitFor(VISIBLE);
  assert.equal(await page.getByRole('textbox', { name: 'Message' }).isDisabled(), true);
  await page.getByRole('button', { name: 'Start a new chat' }).waitFor(VISIBLE);
  assert.deepEqual(errors, []);
  await context.close();
});

test('the wait notice shows only while waiting; a reload keeps both sides with times and no stale notice', { skip: !haveChromium }, async () => {
  const { context, page, errors } = await openChat(1280);
  const log = page.getByRole('list', { name: 'Conversation' });
  await say(page, 'hello');
  await log.getByText("I'm Ava", { exact: false }).first().waitFor(VISIBLE);
  // An agent is there (so the customer gets an estimate, shown as the wait notice).
  const agent = await readyAgent(fx.server, { queues: ['cards'], display_name: 'Jo Agent' });
  try {
    await say(page, 'talk to a person');
    await log.getByRole('button', { name: 'Cards and payments', exact: true }).last().click();
    const wait = page.locator('#wait');
    await wait.waitFor({ state: 'visible', ...VISIBLE });

    // The agent takes the conversation: the notice goes.
    const customer_id = await page.evaluate(() => sessionStorage.getItem('parley-webchat-customer-id'));
    let conv;
    const deadline = Date.now() + 15000;
    while (!conv && Date.now() < deadline) {
      const mine = await agent.ok('GET', '/api/v1/conversations?mine=true').catch(() => null);
      conv = mine?.conversations?.find((c) => c.customer_id === customer_id);
      if (!conv) await new Promise((r) => setTimeout(r, 100));
    }
    assert.ok(conv, 'the conversation was offered');
    await agent.ok('POST', `/api/v1/conversations/${conv.id}/accept`, {});
    await log.getByText('You are now chatting with Jo Agent.').waitFor(VISIBLE);
    await wait.waitFor({ state: 'hidden', ...VISIBLE });
    await agent.ok('POST', `/api/v1/conversations/${conv.id}/messages`, { type: 'text', text: ['How can I help?'] }, 202);
    await log.getByText('How can I help?').waitFor(VISIBLE);
    await say(page, 'my card is lost');
    await page.locator('li.from-me', { hasText: 'my card is lost' }).waitFor(VISIBLE);
    const before = await log.locator('li.msg').evaluateAll((lis) => lis.map((li) => li.querySelector('.line')?.textContent ?? li.textContent));

    // A reload: the same conversation, both sides, in the same order, each with a time, and
    // the wait notice stays hidden.
    await page.reload();
    await page.locator('body[data-connected="true"]').waitFor(VISIBLE);
    await page.locator('li.from-me', { hasText: 'my card is lost' }).waitFor(VISIBLE);
    await log.getByText('How can I help?').waitFor(VISIBLE);
    const afterReload = await log.locator('li.msg').evaluateAll((lis) => lis.map((li) => li.querySelector('.line')?.textContent ?? li.textContent));
    assert.deepEqual(afterReload, before);
    assert.deepEqual(await log.locator('li.from-me .line').allTextContents(), ['hello', 'talk to a person', 'Cards and payments', 'my card is lost']);
    const times = await log.locator('li.msg .msg-head time').count();
    assert.equal(times, await log.locator('li.msg:not(.ended-note)').count(), 'every message has its time');
    assert.equal(await wait.isVisible(), false, 'no wait notice after the reload');
  } finally {
    await agent.disconnect();
  }
  assert.deepEqual(errors, []);
  await context.close();
});
