// Issue 11 end to end: a bot written as a new designer would (seven intents, a handful of
// examples each, no out-of-scope intent, no threshold) driven through POST /messages,
// its replies read at a real webhook. What it was not built for gets the fallback; a typo
// inside a flow gets the retry prompt; a cancel word leaves the flow; a failed action says
// on_error and ends the flow.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { startFixture, makeTempDir, uid } from './harness.mjs';
import { ActionServer, Chat } from './bot_support.mjs';

const CALL_TIMEOUT_MS = 1000;
const FALLBACK = "Sorry, I didn't get that.";
const MENU = 'What can I help you with?';
const HOURS = 'We are open 9-17, Monday to Friday.';
const ASK_CARD = 'Which card? Type its last four digits.';
const RETRY_CARD = 'Just the four digits, please.';

let fixture, server, hook, conn, actions;

const designersBot = (balanceUrl) => `name: Ava
greeting: [{text: "Hi, I'm Ava."}]

fallback:
  replies: [{text: "${FALLBACK}"}, {menu: main}]
  escalate_after: 3
intents:
  - name: opening_hours
    examples: [when are you open, what are your opening hours, what time do you close today, are you open on sunday, are you open on saturday, when does the bank open, business hours]
    replies: [{text: "${HOURS}"}]
  - name: lost_card
    examples: [i lost my card, my card was stolen, block my card, i can't find my debit card, someone stole my wallet, freeze my credit card]
    flow: block_card
  - name: balance
    examples: [what is my balance, how much money do i have, check my account balance, show me my balance, how much is in my savings account]
    flow: check_balance
  - name: branch_finder
    examples: [where is the nearest branch, find a branch, branch near me, where can i find an atm, which branches do you have]
    replies: [{text: "Our branches: Moorgate and Leeds."}]
  - name: online_banking
    examples: [how do i log in to online banking, online banking, i want to use internet banking, where is the login page, reset my online banking password]
    replies: [{text: "Log in at online.example."}]
  - name: thanks
    examples: [thank you, thanks a lot, that's great thanks, cheers, thanks for your help]
    replies: [{text: "You're welcome!"}]
  - name: agent
    examples: [talk to a person, i want a human, agent please, can i speak to someone, connect me to an advisor]
    action: escalate
menus:
  main:
    title: ${MENU}
    items:
      - {text: Check my balance, payload: "flow:check_balance"}
      - {text: Opening hours, payload: "intent:opening_hours"}
flows:
  block_card:
    steps:
      - {ask: "${ASK_CARD}", slot: last4, pattern: '^[0-9]{4}$', retry: "${RETRY_CARD}"}
      - {replies: [{text: "The card ending {last4} is blocked."}]}
  check_balance:
    steps:
      - ask: {menu: {title: "Which account?", items: [{text: Current, payload: current}, {text: Savings, payload: savings}]}}
        slot: account
      - call: {url: "${balanceUrl}", timeout_ms: ${CALL_TIMEOUT_MS}}
      - replies: [{text: "Balance: {balance}."}]
escalation:
  replies: [{text: "Let me find you a person."}]
  queues: [{queue: general, text: Someone}]
`;

const isText = (e, line) => e.type === 'text' && e.text.length === 1 && e.text[0] === line;
const hasText = (evs, line) => evs.some((e) => isText(e, line));
const hasMenu = (evs, title) => evs.some((e) => e.type === 'menu' && e.title === title);
const texts = (evs) => evs.map((e) => (e.type === 'text' ? e.text.join('|') : `${e.type}:${e.title}`));

// A chat past its greeting, so each later reply answers one message.
async function greeted(prefix) {
  const chat = new Chat(server, conn, hook, `${prefix}-${uid()}`);
  await chat.say('hello');
  await chat.next((evs) => hasText(evs, "Hi, I'm Ava."), 'the greeting');
  return chat;
}

before(async () => {
  actions = await ActionServer.start();
  const botsDir = makeTempDir('parley-bots-oos-');
  fs.writeFileSync(path.join(botsDir, 'ava.yaml'), designersBot(actions.url('/balance')));
  fixture = await startFixture({
    receiver: 'bot',
    server: { args: ['--bots', botsDir, '--retry-initial-ms', '20', '--retry-max-ms', '200'] },
    bot: 'ava',
  });
  ({ server, hook, conn } = fixture);
});

after(async () => {
  try {
    await fixture?.close();
  } finally {
    await actions?.close();
  }
});

test('what the bot was not built for gets the fallback, never an answer, a flow or a person', async () => {
  const said = [
    'what is the weather in paris',
    'how do i bake bread',
    'asdf',
    'zxqv plorb wimble',
    'qwertyuiop',
    '\u{1F600}',
    '...',
    'k',
    'Когда вы открыты',
  ];
  for (const [i, text] of said.entries()) {
    const chat = await greeted(`oos${i}`);
    await chat.say(text);
    const evs = await chat.next((e) => hasMenu(e, MENU), `the fallback for ${JSON.stringify(text)}`);
    assert.deepEqual(texts(evs), [FALLBACK, `menu:${MENU}`], JSON.stringify(text));
  }
  // ...and what it was built for is still answered.
  const chat = await greeted('hours');
  await chat.say('when do you open on saturday');
  const evs = await chat.next((e) => hasText(e, HOURS), 'the opening hours');
  assert.deepEqual(texts(evs), [HOURS]);
  assert.equal(actions.requestsTo('/balance').length, 0, 'no flow called the balance action');
});

test('inside a flow: a typo gets the retry prompt, a cancel word leaves with the main menu', async () => {
  const chat = await greeted('card');
  await chat.say('i lost my card');
  await chat.next((e) => hasText(e, ASK_CARD), 'the question');
  await chat.say('12ab');
  let evs = await chat.next((e) => hasText(e, RETRY_CARD), 'the retry prompt');
  assert.deepEqual(texts(evs), [RETRY_CARD]);
  await chat.say('never mind');
  evs = await chat.next((e) => hasMenu(e, MENU), 'the cancel reply');
  assert.deepEqual(texts(evs), ['OK, what else can I help you with?', `menu:${MENU}`]);
  await chat.say('1234'); // no flow any more: not an answer to anything
  evs = await chat.next((e) => hasMenu(e, MENU), 'the fallback');
  assert.deepEqual(texts(evs), [FALLBACK, `menu:${MENU}`]);
});

test('inside a flow: after two retries the fallback ends the flow', async () => {
  const chat = await greeted('retries');
  await chat.tap('flow:block_card');
  await chat.next((e) => hasText(e, ASK_CARD), 'the question');
  for (const typo of ['12ab', 'one two']) {
    await chat.say(typo);
    await chat.next((e) => hasText(e, RETRY_CARD), `the retry prompt for ${typo}`);
  }
  await chat.say('x');
  const evs = await chat.next((e) => hasMenu(e, MENU), 'the fallback');
  assert.deepEqual(texts(evs), [FALLBACK, `menu:${MENU}`]);
});

test('a failed action says the default on_error and ends the flow: no "Balance: ."', async () => {
  for (const [i, action] of [{ status: 500, body: 'boom' }, { status: 200, body: 'not json' }, { hang: true }].entries()) {
    actions.on('/balance', action);
    const chat = await greeted(`bal${i}`);
    await chat.say('what is my balance');
    await chat.next((e) => hasMenu(e, 'Which account?'), 'the account question');
    await chat.tap('current');
    const evs = await chat.next((e) => hasText(e, "Sorry, I can't do that right now."), `on_error (${JSON.stringify(action)})`, 8000);
    assert.deepEqual(texts(evs), ["Sorry, I can't do that right now."]);
    // The flow is over: the next message is an ordinary request, and "Balance" never came.
    await chat.say('what are your opening hours');
    await chat.next((e) => hasText(e, HOURS), 'the hours after the flow');
    assert.ok(!chat.all().some((e) => e.type === 'text' && e.text[0].startsWith('Balance')), JSON.stringify(chat.all()));
  }
  actions.on('/balance', { json: { slots: { balance: '12.00' } } });
  const chat = await greeted('balok');
  await chat.say('what is my balance');
  await chat.next((e) => hasMenu(e, 'Which account?'), 'the account question');
  await chat.tap('savings');
  await chat.next((e) => hasText(e, 'Balance: 12.00.'), 'the balance');
});
