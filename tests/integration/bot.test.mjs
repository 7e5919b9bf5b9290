// The assistant end to end: bots/bank.yaml (copied to a temp bots folder, its `call` URLs
// pointed at a local action server) driven through POST /messages, its replies read at a real
// webhook. Expected wording comes from the copy of bank.yaml, not from this file.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { startFixture, REPO, makeTempDir, uid, waitFor } from './harness.mjs';
import { ActionServer, Chat, parseYaml, linesOf, fill } from './bot_support.mjs';

const CALL_TIMEOUT_MS = 1000; // the copy's call steps time out sooner than bank.yaml's 3 s
const NAME = 'Test Customer';

let fixture, server, hook, conn, actions, botsDir, bankPath, bankText, bank;

// Gibberish the classifier cannot understand (distinct words so each is a fresh message).
const nonsense = (i = 0) => `qzv${i}x blorfk${i} zwyp${i}q`;

const menuNamed = (n) => bank.menus[n];
const flowStep = (flow, pred) => bank.flows[flow].steps.find(pred);
const intent = (n) => bank.intents.find((i) => i.name === n);
const menuItems = (m) => m.items.map((i) => ({ text: i.text, payload: i.payload }));
const isText = (e, lines) => e.type === 'text' && JSON.stringify(e.text) === JSON.stringify(lines);
const hasText = (evs, lines) => evs.some((e) => isText(e, lines));
const hasMenu = (evs, title) => evs.some((e) => e.type === 'menu' && e.title === title);

// A second bot with an unconditional step after its call: it runs after a successful call and
// never after a failed one (issue 11: a failed action ends the flow).
const stepsBot = (url) => `name: Stepper
fallback:
  replies: [{text: "Not understood."}]
intents:
  - name: go
    examples: [start the steps, run the flow]
    flow: steps
  - name: other
    examples: [what is the weather, tell me a joke]
    replies: [{text: "Other."}]
flows:
  steps:
    steps:
      - ask: "Your word?"
        slot: word
      - call: {url: "${url}", timeout_ms: ${CALL_TIMEOUT_MS}, on_error: [{text: "Call failed for {word}."}]}
      - replies: [{text: "After the call: {word} {extra}."}]
`;

function newChat(prefix = 'c') {
  return new Chat(server, conn, hook, `${prefix}-${uid()}`, { name: NAME });
}

// Says something and takes the greeting (first message of a conversation) out of the way.
async function greeted(prefix) {
  const chat = newChat(prefix);
  await chat.say(nonsense(9));
  await chat.next((evs) => hasMenu(evs, menuNamed('main').title), 'the greeting');
  return chat;
}

// Something observable happens on another conversation, so "no reply" is not just "not yet".
async function probe() {
  const p = newChat('probe');
  await p.say('when are you open');
  await p.next((evs) => hasText(evs, linesOf(intent('opening_hours').replies[0])), 'the probe reply');
}

before(async () => {
  actions = await ActionServer.start();
  botsDir = makeTempDir('parley-bots-');
  bankPath = path.join(botsDir, 'bank.yaml');
  const original = parseYaml(fs.readFileSync(path.join(REPO, 'bots/bank.yaml'), 'utf8'));
  let text = fs.readFileSync(path.join(REPO, 'bots/bank.yaml'), 'utf8');
  // Every call URL of every flow goes to the action server, same path.
  for (const flow of Object.values(original.flows)) {
    for (const step of flow.steps) {
      if (!step.call) continue;
      const u = new URL(step.call.url);
      text = text.split(step.call.url).join(actions.url(u.pathname));
    }
  }
  text = text.replace(/timeout_ms:\s*\d+/g, `timeout_ms: ${CALL_TIMEOUT_MS}`);
  fs.writeFileSync(bankPath, text);
  fs.writeFileSync(path.join(botsDir, 'steps.yaml'), stepsBot(actions.url('/steps')));
  bankText = text;
  bank = parseYaml(text);
  assert.ok(
    flowStep('check_balance', (s) => s.call)?.call.url.startsWith(`http://127.0.0.1:${actions.port}/`),
    'the balance call points at the local action server',
  );

  fixture = await startFixture({
    receiver: 'bot',
    server: { args: ['--bots', botsDir, '--retry-initial-ms', '20', '--retry-max-ms', '200'] },
    bot: 'bank',
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

test('the first message gets the greeting with the customer name, then the main menu', async () => {
  const chat = newChat('greet');
  await chat.say(nonsense(1));
  const evs = await chat.next((e) => hasMenu(e, menuNamed('main').title), 'the greeting');
  assert.equal(evs.length, bank.greeting.length, JSON.stringify(evs));
  assert.deepEqual(evs[0].text, linesOf(bank.greeting[0]).map((l) => fill(l, { customer_name: NAME })));
  assert.ok(evs[0].text[0].includes(NAME), 'the name is filled in');
  assert.ok(!evs[0].text[0].includes('{'), 'no raw braces');
  assert.equal(evs[1].type, 'menu');
  assert.deepEqual(evs[1].items.map((i) => ({ text: i.text, payload: i.payload })), menuItems(menuNamed('main')));
  for (const e of evs) {
    assert.equal(e.from, 'bot');
    assert.equal(e.customer_id, chat.cid);
    assert.equal(typeof e.event_id, 'string');
    assert.equal(typeof e.message_id, 'string');
  }
  assert.deepEqual(evs.map((e) => e.seq), [1, 2]);
  assert.equal(hook.rejected.length, 0, JSON.stringify(hook.rejected));
});

test('an intent is answered: opening hours', async () => {
  const chat = await greeted('hours');
  await chat.say('when are you open on saturday?');
  const want = linesOf(intent('opening_hours').replies[0]);
  const evs = await chat.next((e) => hasText(e, want), 'the opening hours');
  assert.equal(evs.length, 1, JSON.stringify(evs));
});

test('lost card: ask the digits, retry on a bad answer, confirm menu, yes, the action blocks it', async () => {
  const blockPath = new URL(flowStep('block_card', (s) => s.call).call.url).pathname;
  actions.on(blockPath, { json: { slots: { blocked: 'yes' } } });
  const [askStep, confirmStep] = bank.flows.block_card.steps;
  const chat = await greeted('lost');
  await chat.say('I lost my card');
  let evs = await chat.next((e) => hasText(e, [askStep.ask]), 'the last-four question');
  assert.equal(evs.length, 1, JSON.stringify(evs));

  await chat.say('12ab');
  evs = await chat.next((e) => hasText(e, [askStep.retry]), 'the retry prompt');
  assert.equal(evs.length, 1, JSON.stringify(evs));

  await chat.say('4321');
  const title = fill(confirmStep.ask.menu.title, { last4: '4321' });
  evs = await chat.next((e) => hasMenu(e, title), 'the confirmation menu');
  assert.equal(evs.length, 1, JSON.stringify(evs));
  assert.deepEqual(evs[0].items.map((i) => ({ text: i.text, payload: i.payload })), menuItems(confirmStep.ask.menu));

  const before = actions.requestsTo(blockPath).length;
  await chat.tap('yes');
  const done = bank.flows.block_card.steps.find((s) => s.when?.blocked === 'yes').replies[0];
  evs = await chat.next((e) => hasText(e, linesOf(done).map((l) => fill(l, { last4: '4321' }))), 'the done text');
  assert.ok(evs.at(-1).text[0].includes('4321'));
  const reqs = actions.requestsTo(blockPath).slice(before);
  assert.equal(reqs.length, 1, 'one call to the block action');
  assert.equal(reqs[0].json.slots.last4, '4321');
  assert.equal(reqs[0].json.slots.confirm, 'yes');
  assert.equal(reqs[0].json.customer_id, chat.cid);
});

async function startBalance(chat) {
  await chat.say('what is my balance');
  const ask = flowStep('check_balance', (s) => s.ask).ask.menu;
  const evs = await chat.next((e) => hasMenu(e, ask.title), 'the account menu');
  assert.deepEqual(evs.at(-1).items.map((i) => ({ text: i.text, payload: i.payload })), menuItems(ask));
}

const balancePath = () => new URL(flowStep('check_balance', (s) => s.call).call.url).pathname;
const balanceFallback = () => flowStep('check_balance', (s) => s.call).call.on_error.map(linesOf);

test('a customer the channel sends no name for is greeted with the fallback, not an empty name', async () => {
  const chat = newChat('anon');
  await chat.server.send(conn, { type: 'text', customer_id: chat.cid, message_id: uid(), text: [nonsense(3)] });
  const evs = await chat.next((e) => hasMenu(e, menuNamed('main').title), 'the greeting');
  assert.deepEqual(evs[0].text, linesOf(bank.greeting[0]).map((l) => fill(l, {})));
  assert.match(evs[0].text[0], /^Hi there, /);
});

test('balance through the action: its replies and slots are used; it gets the documented JSON', async () => {
  actions.on(balancePath(), {
    json: {
      replies: [{ type: 'text', text: ['Here you are.'] }, 'A plain string is a text too.'],
      slots: { found: 'yes', balance: '£1,234.56' },
    },
  });
  const chat = newChat('bal');
  await chat.server.send(conn, {
    type: 'text',
    customer_id: chat.cid,
    customer_name: NAME,
    message_id: uid(),
    text: [nonsense(2)],
    context_data: { tier: 'gold', branch: 'Leeds' },
  });
  await chat.next((e) => hasMenu(e, menuNamed('main').title), 'the greeting');
  await startBalance(chat);
  const before = actions.requestsTo(balancePath()).length;
  await chat.tap('savings');
  const answer = flowStep('check_balance', (s) => s.when?.found === 'yes').replies[0];
  const want = linesOf(answer).map((l) => fill(l, { account: 'savings', balance: '£1,234.56' }));
  const evs = await chat.next((e) => hasText(e, want), 'the balance text');
  assert.deepEqual(
    evs.map((e) => e.text),
    [['Here you are.'], ['A plain string is a text too.'], want],
    'the action replies first, then the flow with its slots',
  );
  const reqs = actions.requestsTo(balancePath()).slice(before);
  assert.equal(reqs.length, 1);
  const r = reqs[0];
  assert.equal(r.method, 'POST');
  assert.match(r.headers['content-type'] || '', /^application\/json/);
  const [conv] = await server.conversationsOf(conn, chat.cid);
  assert.deepEqual(Object.keys(r.json).sort(), ['context', 'conversation_id', 'customer_id', 'slots']);
  assert.equal(r.json.conversation_id, conv.id);
  assert.equal(r.json.customer_id, chat.cid);
  assert.deepEqual(r.json.slots, { account: 'savings' });
  assert.deepEqual(r.json.context, { tier: 'gold', branch: 'Leeds' });
});

test('balance: the action answers 500 → on_error, and the flow ends', async () => {
  actions.on(balancePath(), { status: 500, body: 'boom' });
  const chat = await greeted('bal500');
  await startBalance(chat);
  const before = actions.requestsTo(balancePath()).length;
  await chat.tap('current');
  const evs = await chat.next((e) => balanceFallback().every((l) => hasText(e, l)), 'the call fallback');
  assert.equal(evs.length, balanceFallback().length, JSON.stringify(evs));
  assert.equal(actions.requestsTo(balancePath()).length - before, 1);
  // the flow ended: the next message is an ordinary request
  await chat.say('when are you open');
  await chat.next((e) => hasText(e, linesOf(intent('opening_hours').replies[0])), 'the hours after the flow');
});

test('balance: the action hangs past timeout_ms → the fallback after the timeout', async () => {
  actions.on(balancePath(), { hang: true });
  const chat = await greeted('balhang');
  await startBalance(chat);
  const t0 = Date.now();
  await chat.tap('savings');
  const evs = await chat.next((e) => balanceFallback().every((l) => hasText(e, l)), 'the call fallback', 8000);
  const ms = Date.now() - t0;
  assert.equal(evs.length, balanceFallback().length, JSON.stringify(evs));
  assert.ok(ms >= CALL_TIMEOUT_MS - 50, `fallback after ${ms} ms, before the ${CALL_TIMEOUT_MS} ms timeout`);
  assert.ok(ms < CALL_TIMEOUT_MS + 4000, `fallback only after ${ms} ms`);
  actions.on(balancePath(), { status: 500 });
  await chat.say('when are you open');
  await chat.next((e) => hasText(e, linesOf(intent('opening_hours').replies[0])), 'the hours after the flow');
});

test('lost card: the block action fails → its fallback with the digits, and no "done" text', async () => {
  const blockStep = flowStep('block_card', (s) => s.call);
  const blockPath = new URL(blockStep.call.url).pathname;
  actions.on(blockPath, { status: 503, body: 'down' });
  const chat = await greeted('lost503');
  await chat.tap('flow:block_card');
  await chat.next((e) => hasText(e, [bank.flows.block_card.steps[0].ask]), 'the last-four question');
  await chat.say('9876');
  await chat.next((e) => e.some((x) => x.type === 'menu'), 'the confirmation menu');
  await chat.tap('yes');
  const want = blockStep.call.on_error.map((r) => linesOf(r).map((l) => fill(l, { last4: '9876' })));
  const evs = await chat.next((e) => want.every((l) => hasText(e, l)), 'the call fallback');
  assert.deepEqual(evs.map((e) => e.text), want, JSON.stringify(evs));
  await probe();
  await chat.say('when are you open');
  await chat.next((e) => hasText(e, linesOf(intent('opening_hours').replies[0])), 'the next answer');
  const done = bank.flows.block_card.steps.find((s) => s.when?.blocked === 'yes').replies[0];
  assert.ok(!chat.all().some((e) => e.text?.[0] === fill(linesOf(done)[0], { last4: '9876' })), 'no "done" text');
});

test('call outcomes: success goes on; 500, not JSON, a JSON array, a dropped connection, a timeout end the flow', async () => {
  const stepsConn = await server.createConnection({ webhook: hook.url, bot: 'steps' });
  hook.trust(stepsConn);
  const cases = [
    { action: { json: { slots: { extra: 'plus' }, replies: ['From the action.'] } }, want: [['From the action.'], ['After the call: w0 plus.']] },
    { action: { status: 500, json: { slots: { extra: 'ignored' } } }, want: [['Call failed for w1.']] },
    { action: { status: 200, body: 'ok' }, want: [['Call failed for w2.']] },
    { action: { json: [1, 2] }, want: [['Call failed for w3.']] },
    { action: { drop: true }, want: [['Call failed for w4.']] },
    { action: { hang: true }, want: [['Call failed for w5.']] },
  ];
  for (const [i, c] of cases.entries()) {
    actions.on('/steps', c.action);
    const chat = new Chat(server, stepsConn, hook, `steps${i}-${uid()}`, { name: NAME });
    await chat.tap('flow:steps');
    await chat.next((e) => hasText(e, ['Your word?']), 'the question');
    const before = actions.requestsTo('/steps').length;
    await chat.say(`w${i}`);
    const evs = await chat.next((e) => hasText(e, c.want.at(-1)), `case ${i}: the step after the call`);
    assert.deepEqual(evs.map((e) => e.text), c.want, `case ${i} (${JSON.stringify(c.action)})`);
    const [req] = actions.requestsTo('/steps').slice(before);
    assert.deepEqual(req?.json?.slots, { word: `w${i}` }, `case ${i}: the request`);
  }
});

test('branch finder: a carousel with the fields of PROTOCOL.md §4, then the main menu', async () => {
  const askStep = flowStep('find_branch', (s) => s.ask);
  const chat = await greeted('branch');
  await chat.say('where is the nearest branch');
  await chat.next((e) => hasText(e, [askStep.ask]), 'the city question');
  // (a real city outside the list, "Glasgow", is understood as out_of_scope and leaves the flow)
  await chat.say(nonsense(30));
  await chat.next((e) => hasText(e, [askStep.retry]), 'the city retry');
  await chat.say('london');
  const evs = await chat.next((e) => hasMenu(e, menuNamed('main').title), 'the carousel and the main menu');
  const c = evs.find((e) => e.type === 'carousel');
  assert.ok(c, JSON.stringify(evs));
  const want = flowStep('find_branch', (s) => s.when?.city === 'London').replies[0].carousel;
  assert.equal(c.title, want.title);
  assert.equal(c.items.length, want.items.length);
  want.items.forEach((w, i) => {
    const got = c.items[i];
    assert.equal(got.title, w.title);
    assert.equal(got.subtitle, w.subtitle);
    if (w.image_url) assert.equal(got.image_url, w.image_url);
    else assert.ok(!('image_url' in got), 'no image_url when the file has none');
    assert.deepEqual(got.buttons, w.buttons, `buttons of item ${i}`);
    for (const b of got.buttons) assert.ok(('url' in b) !== ('payload' in b), 'a button has a url or a payload');
  });
  assert.equal(c.from, 'bot');
  const after = flowStep('find_branch', (s) => !s.when && s.replies).replies[0];
  assert.ok(hasText(evs, linesOf(after).map((l) => fill(l, { customer_name: NAME }))), JSON.stringify(evs));
  // a carousel payload button acts like any postback
  await chat.tap('intent:opening_hours');
  await chat.next((e) => hasText(e, linesOf(intent('opening_hours').replies[0])), 'the hours from a button');
});

test('online banking: a link_button with title, label and url', async () => {
  const chat = await greeted('link');
  await chat.say('online banking');
  const evs = await chat.next((e) => e.some((x) => x.type === 'link_button'), 'the link button');
  const lb = evs.find((e) => e.type === 'link_button');
  const want = intent('online_banking').replies[0].link_button;
  assert.deepEqual(
    { title: lb.title, label: lb.label, url: lb.url },
    { title: want.title, label: want.label, url: want.url },
  );
  assert.equal(lb.from, 'bot');
  assert.equal(typeof lb.event_id, 'string');
});

test('postbacks intent:X, flow:X and menu:X act directly (also inside a flow)', async () => {
  const chat = await greeted('pb');
  await chat.tap('intent:opening_hours');
  await chat.next((e) => hasText(e, linesOf(intent('opening_hours').replies[0])), 'intent:opening_hours');
  await chat.tap('flow:find_branch');
  await chat.next((e) => hasText(e, [flowStep('find_branch', (s) => s.ask).ask]), 'flow:find_branch');
  await chat.tap('menu:main');
  const evs = await chat.next((e) => hasMenu(e, menuNamed('main').title), 'menu:main inside the flow');
  assert.equal(evs.length, 1, JSON.stringify(evs));
  // the flow was left: a city is no longer an answer, an intent is
  await chat.tap('flow:block_card');
  await chat.next((e) => hasText(e, [bank.flows.block_card.steps[0].ask]), 'flow:block_card');
  // typing the exact text of an offered item counts as tapping it
  await chat.tap('menu:main');
  await chat.next((e) => hasMenu(e, menuNamed('main').title), 'menu:main again');
  const hoursItem = menuNamed('main').items.find((i) => i.payload === 'intent:opening_hours');
  await chat.say(hoursItem.text.toUpperCase());
  await chat.next((e) => hasText(e, linesOf(intent('opening_hours').replies[0])), 'the typed item text');
});

test('misunderstood escalate_after times → offer; escalate → queue menu → queued, bot silent after', async () => {
  const chat = await greeted('esc');
  const n = bank.fallback.escalate_after;
  assert.ok(n >= 1);
  for (let i = 1; i < n; i++) {
    await chat.say(nonsense(10 + i));
    const evs = await chat.next((e) => hasMenu(e, menuNamed('main').title), `fallback ${i}`);
    assert.deepEqual(evs[0].text, linesOf(bank.fallback.replies[0]));
  }
  await chat.say(nonsense(20));
  let evs = await chat.next((e) => hasMenu(e, bank.fallback.offer), 'the escalation offer');
  const offer = evs.at(-1);
  assert.deepEqual(offer.items.map((i) => i.payload), ['action:escalate', 'action:cancel']);

  await chat.tap('action:escalate');
  const qTitle = bank.escalation.title;
  evs = await chat.next((e) => hasMenu(e, qTitle), 'the queue menu');
  assert.deepEqual(evs[0].text, linesOf(bank.escalation.replies[0]));
  assert.deepEqual(
    evs.at(-1).items.map((i) => ({ text: i.text, payload: i.payload })),
    bank.escalation.queues.map((q) => ({ text: q.text, payload: `queue:${q.queue}` })),
  );
  let [conv] = await server.conversationsOf(conn, chat.cid);
  assert.equal(conv.state, 'bot', 'still the bot until a queue is chosen');

  const q = bank.escalation.queues[0].queue;
  await chat.tap(`queue:${q}`);
  conv = await waitFor(async () => {
    const [c] = await server.conversationsOf(conn, chat.cid);
    return c.state === 'queued' && c;
  }, { message: 'state queued' });
  assert.equal(conv.owner, `queue:${q}`);

  const count = chat.all().length;
  await chat.say('when are you open');
  await chat.tap('menu:main');
  await probe();
  await waitFor(async () => {
    const full = await server.conversation(conv.id);
    return full.transcript.filter((e) => e.direction === 'in').length >= n + 5;
  }, { message: 'the later messages in the transcript' });
  assert.equal(chat.all().length, count, `the bot answered a queued conversation: ${JSON.stringify(chat.all().slice(count))}`);
  const [after] = await server.conversationsOf(conn, chat.cid);
  assert.equal(after.state, 'queued');
  assert.equal(after.owner, `queue:${q}`);
});

test('escalation by intent; a queue chosen by typing its text', async () => {
  const chat = await greeted('esc2');
  await chat.say('I want to talk to a person');
  await chat.next((e) => hasMenu(e, bank.escalation.title), 'the queue menu');
  const q = bank.escalation.queues[1];
  await chat.say(q.text);
  const conv = await waitFor(async () => {
    const [c] = await server.conversationsOf(conn, chat.cid);
    return c.state === 'queued' && c;
  }, { message: 'state queued' });
  assert.equal(conv.owner, `queue:${q.queue}`);
});

test('GET /api/v1/bots lists bank and echo', async () => {
  const r = await server.admin('GET', '/api/v1/bots');
  assert.equal(r.status, 200, r.text);
  const names = r.json.bots.map((b) => b.name);
  assert.ok(names.includes('bank'), r.text);
  assert.ok(names.includes('echo'), r.text);
  assert.ok(names.includes('steps'), r.text);
  const b = r.json.bots.find((x) => x.name === 'bank');
  assert.equal(b.display_name, bank.name);
  assert.ok(String(b.source).endsWith('bank.yaml'), r.text);
  assert.ok(!Number.isNaN(Date.parse(b.loaded_at)), r.text);
  const anon = await server.admin('GET', '/api/v1/bots', undefined, { token: null });
  assert.equal(anon.status, 401);
});

test('dialog state survives a restart (SIGTERM, same database)', async () => {
  const chat = await greeted('restart');
  await chat.say('my card was stolen');
  await chat.next((e) => hasText(e, [bank.flows.block_card.steps[0].ask]), 'the last-four question');
  await server.stop();
  await server.start();
  await chat.say('5678');
  const title = fill(bank.flows.block_card.steps[1].ask.menu.title, { last4: '5678' });
  await chat.next((e) => hasMenu(e, title), 'the confirmation menu after the restart');
  await chat.tap('no');
  const no = bank.flows.block_card.steps.find((s) => s.when?.confirm === 'no').replies[0];
  await chat.next((e) => hasText(e, linesOf(no).map((l) => fill(l, { last4: '5678' }))), 'the "left active" text');
  assert.deepEqual(chat.all().map((e) => e.seq), chat.all().map((_, i) => i + 1), 'seq goes on after the restart');
});

test('Unicode customer text (emoji, RTL, combining marks, 4 KiB) gets a reply and never crashes', async () => {
  const inputs = [
    '😀🏦💳 👩‍👩‍👧‍👦 🇬🇧',
    'مرحبا، أين أقرب فرع؟ שלום',
    'Z̷̢͎a̵͉̔l̶̠̓g̸̣̈́o̴̝͊ e\u0301\u0301\u0301',
    '\u202e\u200b\u200d\ufeff\ufffd',
    '🏦'.repeat(1024), // 4 KiB of 4-byte code points
    'é'.repeat(2048),
  ];
  const chats = [];
  for (const text of inputs) {
    const chat = await greeted('uni');
    await chat.say(text);
    chats.push(chat);
  }
  // An ordinary question after each: everything before its answer answered the Unicode text.
  const hours = linesOf(intent('opening_hours').replies[0]);
  for (const chat of chats) await chat.say('when are you open');
  for (const [i, chat] of chats.entries()) {
    const evs = await chat.next((e) => hasText(e, hours), `the replies to Unicode text ${i}`);
    const reply = evs.slice(0, evs.findIndex((e) => isText(e, hours)));
    assert.ok(reply.length > 0, `no reply to Unicode text ${i}: ${JSON.stringify(evs)}`);
    assert.ok(reply.every((e) => e.from === 'bot'));
  }
  const h = await server.request('GET', '/healthz');
  assert.equal(h.status, 200);
  assert.ok(server.running);
});

test('reload: an edited file is served; a broken file is refused with file and line, the old one keeps serving', async () => {
  const oldLines = linesOf(intent('opening_hours').replies[0]);
  const newLine = `We are open ${uid().slice(0, 8)} hours a day now.`;
  const edited = bankText.split(oldLines[0]).join(newLine);
  assert.notEqual(edited, bankText);
  // a conversation in the middle of a flow while the file is reloaded
  const busy = await greeted('reload-busy');
  await busy.say('block my card');
  await busy.next((e) => hasText(e, [bank.flows.block_card.steps[0].ask]), 'the last-four question');
  fs.writeFileSync(bankPath, edited);
  const r = await server.admin('POST', '/api/v1/bots/bank/reload');
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.name, 'bank');
  await busy.say('1111');
  const title = fill(bank.flows.block_card.steps[1].ask.menu.title, { last4: '1111' });
  await busy.next((e) => hasMenu(e, title), 'the flow going on after the reload');
  const want = [newLine, ...oldLines.slice(1)];
  const chat = await greeted('reload');
  await chat.say('when are you open');
  await chat.next((e) => hasText(e, want), 'the new opening hours');

  // broken: an unknown key on a known line
  const lines = edited.split('\n');
  const at = lines.findIndex((l) => /^\s*- name: opening_hours\s*$/.test(l));
  assert.ok(at >= 0);
  const indent = lines[at].indexOf('name');
  lines.splice(at + 1, 0, `${' '.repeat(indent)}replys: oops`);
  fs.writeFileSync(bankPath, lines.join('\n'));
  const bad = await server.admin('POST', '/api/v1/bots/bank/reload');
  assert.ok(bad.status >= 400 && bad.status < 500, `${bad.status} ${bad.text}`);
  const msg = bad.json?.error?.message ?? '';
  if (process.env.PARLEY_BOT_TEST_VERBOSE) console.log(bad.status, bad.text);
  assert.equal(typeof bad.json?.error?.code, 'string', bad.text);
  assert.ok(msg.includes('bank.yaml'), `names the file: ${msg}`);
  assert.match(msg, new RegExp(`bank\\.yaml:${at + 2}\\b`), `names line ${at + 2}: ${msg}`);
  await chat.say('what time do you close today');
  await chat.next((e) => hasText(e, want), 'the previous version still answering');

  // SIGHUP reloads every file too
  const loadedAt = async () =>
    (await server.admin('GET', '/api/v1/bots')).json.bots.find((x) => x.name === 'bank').loaded_at;
  const was = await loadedAt();
  assert.equal(was, r.json.loaded_at, 'the refused file did not replace the loaded version');
  fs.writeFileSync(bankPath, bankText);
  server.child.kill('SIGHUP');
  await waitFor(async () => (await loadedAt()) !== was, { message: 'a new loaded_at after SIGHUP' });
  await chat.say('when are you open');
  await chat.next((e) => hasText(e, oldLines), 'the original text after SIGHUP');
  assert.ok(server.running, 'SIGHUP did not stop the server');
});

// A small bot of its own for the unload tests, so bank.yaml stays in place for the others.
const leaverBot = (tag) => `name: Leaver ${tag}
fallback:
  replies: [{text: "Leaver ${tag} did not understand."}]
intents:
  - name: survey
    examples: [start the survey, begin the questions, ask me something]
    flow: survey
  - name: other
    examples: [what is the weather, tell me a joke]
    replies: [{text: "Leaver ${tag} other."}]
flows:
  survey:
    steps:
      - ask: "Leaver ${tag}: your colour?"
        slot: colour
      - replies: [{text: "Leaver ${tag} thanks you for {colour}."}]
`;
// What a conversation of an unloaded bot is told (docs/bot-authoring.md, "Removing a bot").
const RETIRED_NOTICE = ['This assistant is no longer available. Connecting you to a person.'];

const botNames = async () => {
  const r = await server.admin('GET', '/api/v1/bots');
  assert.equal(r.status, 200, r.text);
  return r.json.bots.map((b) => b.name);
};

// Loads `name` from a fresh file, opens a conversation on a connection naming it and leaves it
// waiting at the flow's question; returns {conn, chat, file}.
async function leaverInAFlow(name) {
  const file = path.join(botsDir, `${name}.yaml`);
  fs.writeFileSync(file, leaverBot(name));
  const loaded = await server.admin('POST', `/api/v1/bots/${name}/reload`);
  assert.equal(loaded.status, 200, `a new file loads by name: ${loaded.text}`);
  const leaverConn = await server.createConnection({ webhook: hook.url, bot: name });
  hook.trust(leaverConn);
  const chat = new Chat(server, leaverConn, hook, `${name}-${uid()}`, { name: NAME });
  await chat.say('start the survey');
  await chat.next((e) => hasText(e, [`Leaver ${name}: your colour?`]), 'the flow question');
  return { conn: leaverConn, chat, file };
}

// The conversation got the notice, is queued for a person, and the bot says nothing more.
async function assertHandedOver(chat, leaverConn) {
  const evs = await chat.next((e) => hasText(e, RETIRED_NOTICE), 'the unloaded-bot notice');
  // One notice, then the queue's wait (from the system; with no agent there, their place in
  // the queue as text): nothing else.
  const words = evs.filter((e) => e.from !== 'system');
  assert.equal(words.length, 1, `one notice and nothing else: ${JSON.stringify(evs)}`);
  assert.equal(words[0].from, 'bot');
  await waitFor(() => chat.all().some((e) => e.from === 'system' && (e.type === 'wait_time' || e.type === 'text')), {
    message: 'the wait after the notice',
  });
  const [c] = await server.conversationsOf(leaverConn, chat.cid);
  assert.equal(c.state, 'queued');
  assert.equal(c.owner, 'queue:default');
  const count = chat.all().length;
  await chat.say('blue');
  await probe();
  await waitFor(async () => {
    const full = await server.conversation(c.id);
    return full.transcript.filter((e) => e.direction === 'in').length >= 3;
  }, { message: 'the later message in the transcript' });
  assert.equal(chat.all().length, count, `the bot spoke after the hand-over: ${JSON.stringify(chat.all().slice(count))}`);
}

test('SIGHUP unloads the bot of a deleted file; its conversation is handed to a person', async () => {
  const { conn: leaverConn, chat, file } = await leaverInAFlow('leaver');
  assert.ok((await botNames()).includes('leaver'));
  fs.rmSync(file);
  server.child.kill('SIGHUP');
  await waitFor(async () => !(await botNames()).includes('leaver'), { message: 'leaver gone from GET /api/v1/bots' });
  const names = await botNames();
  for (const kept of ['bank', 'steps', 'echo']) assert.ok(names.includes(kept), `${kept} is still listed: ${names}`);

  // No connection can be pointed at it any more.
  const create = await server.admin('POST', '/api/v1/connections', { name: `it-${uid()}`, client_webhook: hook.url, bot: 'leaver' });
  assert.equal(create.status, 400, create.text);
  assert.equal(create.json?.error?.code, 'unknown_bot', create.text);

  // The conversation it owned, waiting at a question, gets a person instead of silence.
  await chat.say('red');
  await assertHandedOver(chat, leaverConn);
  // The bank bot still answers.
  await probe();
  assert.ok(server.running, 'the server kept running');
});

test('reload of a deleted file answers 404 and unloads the bot; nothing stale stays', async () => {
  const { conn: leaverConn, chat, file } = await leaverInAFlow('leaver2');
  fs.rmSync(file);
  const r = await server.admin('POST', '/api/v1/bots/leaver2/reload');
  assert.equal(r.status, 404, r.text);
  assert.equal(r.json?.error?.code, 'bot_not_found', r.text);
  assert.match(r.json?.error?.message ?? '', /leaver2\.yaml/, `names the file: ${r.text}`);
  assert.match(r.json?.error?.message ?? '', /unloaded/, `says the bot is unloaded: ${r.text}`);
  assert.ok(!(await botNames()).includes('leaver2'), 'not listed after the 404');
  const again = await server.admin('POST', '/api/v1/bots/leaver2/reload');
  assert.equal(again.status, 404, again.text);
  assert.ok(!(await botNames()).includes('leaver2'), 'still not listed');

  await chat.say('green');
  await assertHandedOver(chat, leaverConn);

  // The file coming back serves the bot again, for new conversations.
  fs.writeFileSync(file, leaverBot('leaver2'));
  const back = await server.admin('POST', '/api/v1/bots/leaver2/reload');
  assert.equal(back.status, 200, back.text);
  assert.ok((await botNames()).includes('leaver2'));
  const fresh = new Chat(server, leaverConn, hook, `leaver2-${uid()}`, { name: NAME });
  await fresh.say('start the survey');
  await fresh.next((e) => hasText(e, ['Leaver leaver2: your colour?']), 'the flow question from the reloaded bot');
});
