// `parley demo` as a black box: it is started the way a newcomer starts it (free ports, a data
// folder in a temporary directory), its printed URLs and passwords are used as printed, and a
// second run on the same folder must reuse the data and replace the passwords.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import readline from 'node:readline';
import WebSocket from 'ws';
import { makeTempDir, runCli, spawnCli, uid, waitFor } from './harness.mjs';

const START_MS = 30000;
const STOP_MS = 20000;

// Runs `parley demo` and resolves once it printed its last line, with what it printed parsed.
async function startDemo(dataDir, args = ['--port', '0', '--chat-port', '0']) {
  const child = spawnCli(['demo', '--data', dataDir, ...args]);
  const stdout = [];
  const stderr = [];
  child.stderr.on('data', (chunk) => stderr.push(chunk.toString()));
  const exited = new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the demo did not start: ${stderr.join('')}`)), START_MS);
    readline.createInterface({ input: child.stdout }).on('line', (line) => {
      stdout.push(line);
      if (line === 'Ctrl-C stops the demo.') {
        clearTimeout(timer);
        resolve();
      }
    });
    exited.then(({ code }) => {
      clearTimeout(timer);
      reject(new Error(`the demo exited with ${code} before starting: ${stderr.join('')}`));
    });
  });
  const text = stdout.join('\n');
  const url = (label) => {
    const m = new RegExp(`^  ${label}:\\s+(http://127\\.0\\.0\\.1:\\d+/\\S*)$`, 'm').exec(text);
    assert.ok(m, `no ${label} URL in:\n${text}`);
    return m[1];
  };
  const passwords = {};
  for (const m of text.matchAll(/^ {2}(admin|sam|ben)\s+(\S+)\s+\(/gm)) passwords[m[1]] = m[2];
  const conn = /^Connection "Demo web chat" \(([0-9a-f-]{36})\)/m.exec(text);
  return {
    child,
    exited,
    stdout,
    stderr,
    text,
    manager: url('manager'),
    agent: url('agent console'),
    chat: url('web chat').replace(/\/$/, ''),
    passwords,
    connectionId: conn?.[1],
    get base() {
      return new URL(this.manager).origin;
    },
    // SIGTERM; resolves with {code, signal}; throws when it takes longer than STOP_MS.
    async stop() {
      child.kill('SIGTERM');
      let timer;
      const r = await Promise.race([
        exited,
        new Promise((resolve) => {
          timer = setTimeout(() => resolve('deadline'), STOP_MS);
        }),
      ]);
      clearTimeout(timer);
      if (r === 'deadline') {
        child.kill('SIGKILL');
        throw new Error('the demo did not exit within 20 s of SIGTERM');
      }
      return r;
    },
  };
}

async function login(base, username, password) {
  const r = await fetch(`${base}/api/v1/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username, password }),
    signal: AbortSignal.timeout(15000),
  });
  return { status: r.status, json: await r.json().catch(() => null) };
}

async function getPage(url) {
  const r = await fetch(url, { signal: AbortSignal.timeout(15000) });
  await r.text();
  return r;
}

// Sends a message as a new customer through the web chat's page API and resolves with the
// texts that arrive on its WebSocket once one of them matches `expected`.
async function chatRoundTrip(chatUrl, expected) {
  const customer = `c-${uid()}`;
  const ws = new WebSocket(`${chatUrl.replace('http', 'ws')}/api/events?customer_id=${customer}&after=0`);
  const texts = [];
  ws.on('message', (data) => {
    const frame = JSON.parse(data.toString());
    if (frame.event?.type === 'text') texts.push(frame.event.text.join('\n'));
  });
  await new Promise((resolve, reject) => {
    ws.once('open', resolve);
    ws.once('error', reject);
  });
  try {
    const r = await fetch(`${chatUrl}/api/send`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ customer_id: customer, customer_name: 'Dana', text: 'hello' }),
      signal: AbortSignal.timeout(15000),
    });
    assert.equal(r.status, 200, await r.text());
    await waitFor(() => texts.some((t) => expected.test(t)), {
      timeout: 15000,
      message: () => `a reply matching ${expected}; got ${JSON.stringify(texts)}`,
    });
    return texts;
  } finally {
    ws.close();
  }
}

function filesUnder(dir) {
  return fs.readdirSync(dir, { recursive: true }).map((name) => path.join(dir, name)).filter((f) => fs.statSync(f).isFile());
}

// One web chat customer: sends texts and menu choices through the page API and reads what
// arrives on its WebSocket.
async function chatCustomer(chatUrl) {
  const customer = `c-${uid()}`;
  const ws = new WebSocket(`${chatUrl.replace('http', 'ws')}/api/events?customer_id=${customer}&after=0`);
  const events = [];
  ws.on('message', (data) => {
    const frame = JSON.parse(data.toString());
    if (frame.event && frame.event.from !== 'customer') events.push(frame.event);
  });
  await new Promise((resolve, reject) => {
    ws.once('open', resolve);
    ws.once('error', reject);
  });
  const lines = (e) => [e.text, e.title, ...(e.items || []).map((i) => i.title || i.text)].flat().filter(Boolean).join('\n');
  let read = 0;
  return {
    async send(text, postback) {
      const body = { customer_id: customer, customer_name: 'Dana', text };
      if (postback) body.postback = postback;
      const r = await fetch(`${chatUrl}/api/send`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
        signal: AbortSignal.timeout(15000),
      });
      assert.equal(r.status, 200, await r.text());
    },
    // Waits for a new event (after those already matched) whose lines match `pattern`.
    async expect(pattern) {
      let found;
      await waitFor(
        () => {
          found = events.slice(read).find((e) => pattern.test(lines(e)));
          return found !== undefined;
        },
        { timeout: 15000, message: () => `a reply matching ${pattern}; got ${JSON.stringify(events.slice(read).map(lines))}` },
      );
      read = events.indexOf(found) + 1;
      return lines(found);
    },
    all: () => events.map(lines),
    close: () => ws.close(),
  };
}

// Resolves once nothing accepts connections on `url`'s port.
async function refused(url) {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const s = net.connect(Number(port), hostname);
    s.once('connect', () => {
      s.destroy();
      resolve(false);
    });
    s.once('error', () => resolve(true));
  });
}

const data = makeTempDir('parley-demo-');
let first;

test('the first run prints the three URLs and working passwords, and the pages are served', async () => {
  first = await startDemo(data);
  assert.deepEqual(Object.keys(first.passwords).sort(), ['admin', 'ben', 'sam']);
  assert.ok(first.connectionId, first.text);
  assert.equal(new URL(first.manager).pathname, '/manager');
  assert.equal(new URL(first.agent).pathname, '/agent');
  assert.equal(new URL(first.agent).origin, first.base);
  assert.notEqual(new URL(first.chat).port, new URL(first.base).port);

  const sam = await login(first.base, 'sam', first.passwords.sam);
  assert.equal(sam.status, 200, JSON.stringify(sam.json));
  assert.equal(sam.json.user.role, 'agent');
  assert.deepEqual([...sam.json.user.queues].sort(), ['cards', 'general']);
  // No demo agent shares the bank bot's name (Ava): customers would not know who talks.
  for (const user of ['sam', 'ben']) {
    const me = await login(first.base, user, first.passwords[user]);
    assert.doesNotMatch(me.json.user.display_name, /\bAva\b/, user);
  }
  const ben = await login(first.base, 'ben', first.passwords.ben);
  assert.equal(ben.status, 200);
  const admin = await login(first.base, 'admin', first.passwords.admin);
  assert.equal(admin.status, 200);
  assert.equal(admin.json.user.role, 'admin');

  const queues = await fetch(`${first.base}/api/v1/queues`, {
    headers: { authorization: `Bearer ${admin.json.token}` },
  }).then((r) => r.json());
  assert.deepEqual(queues.queues.map((q) => q.name).sort(), ['cards', 'general']);

  for (const url of [first.manager, first.agent, `${first.chat}/`]) {
    const r = await getPage(url);
    assert.equal(r.status, 200, url);
    assert.match(r.headers.get('content-type'), /^text\/html/, url);
  }
});

test('a message sent through the web chat gets the bank bot greeting over its WebSocket', async () => {
  const texts = await chatRoundTrip(first.chat, /Parley Bank's virtual assistant/);
  assert.ok(texts.some((t) => t.includes('Hi Dana')), JSON.stringify(texts));
});

test('every flow of the bank bot works in the demo: balance, block a card, keep it, branches, a person', async () => {
  assert.match(first.text, /The bank bot's calls \(balance, block card\) go to the demo bank at http:\/\/127\.0\.0\.1:\d+/);
  const c = await chatCustomer(first.chat);
  try {
    await c.send('hello');
    await c.expect(/What can I help you with\?/);
    for (const [account, text] of [['current', 'Current account'], ['savings', 'Savings account']]) {
      await c.send('Check my balance', 'flow:check_balance');
      await c.expect(/Which account\?/);
      await c.send(text, account);
      const said = await c.expect(/balance of your|Sorry/);
      assert.match(said, new RegExp(`^The balance of your ${account} account is £[0-9,.]+\\.$`), said);
    }
    await c.send('Block a card', 'flow:block_card');
    await c.expect(/last four digits/);
    await c.send('4321');
    await c.expect(/Block the card ending 4321\?/);
    await c.send('Yes, block it', 'yes');
    assert.equal(await c.expect(/card ending 4321/), 'Done: the card ending 4321 is blocked. A new one is on its way.');
    await c.send('Block a card', 'flow:block_card');
    await c.expect(/last four digits/);
    await c.send('8765');
    await c.expect(/Block the card ending 8765\?/);
    await c.send('No, keep it', 'no');
    assert.equal(await c.expect(/card ending 8765/), 'OK, I left the card ending 8765 active.');
    await c.send('Find a branch', 'flow:find_branch');
    await c.expect(/Which city/);
    await c.send('Leeds');
    await c.expect(/Parley Bank Briggate/);
    await c.send('Opening hours', 'intent:opening_hours');
    await c.expect(/open 9:00-17:00/);
    await c.send('Talk to a person', 'action:escalate');
    await c.expect(/Let me find you a person/);
    const failed = c.all().filter((t) => /couldn't reach|can't see your balance|Sorry, I can't do that/.test(t));
    assert.deepEqual(failed, [], 'no flow failed');
  } finally {
    c.close();
  }
});

test('the passwords are printed only: no file in the data folder holds one; the admin token is 0600', () => {
  const names = filesUnder(data).map((f) => path.basename(f));
  for (const expected of ['parley.db', 'admin-token', 'serve.log', 'webchat.log']) assert.ok(names.includes(expected), names.join(' '));
  for (const file of filesUnder(data)) {
    const content = fs.readFileSync(file);
    for (const [user, password] of Object.entries(first.passwords)) {
      assert.equal(content.includes(password), false, `${user}'s password is in ${file}`);
    }
  }
  assert.equal(fs.statSync(path.join(data, 'admin-token')).mode & 0o777, 0o600);
});

test('SIGTERM stops the demo and both of its children, exit 0', async () => {
  const r = await first.stop();
  assert.deepEqual(r, { code: 0, signal: null }, first.stderr.join(''));
  assert.ok(first.stdout.includes('Stopping the demo...'));
  assert.ok(await refused(first.base), 'the server still accepts connections');
  assert.ok(await refused(first.chat), 'the web chat still accepts connections');
});

test('a second run reuses the data: same connection, new passwords work, the old ones do not', async () => {
  const second = await startDemo(data);
  try {
    assert.equal(second.connectionId, first.connectionId);
    for (const user of ['admin', 'sam', 'ben']) {
      assert.notEqual(second.passwords[user], first.passwords[user], user);
      const fresh = await login(second.base, user, second.passwords[user]);
      assert.equal(fresh.status, 200, `${user} with the new password`);
      const old = await login(second.base, user, first.passwords[user]);
      assert.equal(old.status, 401, `${user} with the old password`);
    }
    // The web chat runs on another free port now; the connection's webhook follows it.
    await chatRoundTrip(second.chat, /Parley Bank's virtual assistant/);
    const admin = await login(second.base, 'admin', second.passwords.admin);
    const list = await fetch(`${second.base}/api/v1/connections`, {
      headers: { authorization: `Bearer ${admin.json.token}` },
    }).then((r) => r.json());
    assert.equal(list.connections.filter((c) => c.name === 'Demo web chat').length, 1);
    assert.equal(list.connections.length, 1);
  } finally {
    const r = await second.stop();
    assert.equal(r.code, 0, second.stderr.join(''));
  }
});

test('a port in use is refused with a clear error before anything starts', async () => {
  const blocker = net.createServer();
  await new Promise((resolve) => blocker.listen(0, '127.0.0.1', resolve));
  const port = blocker.address().port;
  try {
    const child = spawnCli(['demo', '--data', data, '--port', String(port), '--chat-port', '0']);
    let stderr = '';
    child.stderr.on('data', (c) => {
      stderr += c;
    });
    const { code } = await new Promise((resolve) => child.on('exit', (c) => resolve({ code: c })));
    assert.equal(code, 1);
    assert.match(stderr, new RegExp(`port ${port} on 127\\.0\\.0\\.1 is in use.*--port`));
  } finally {
    blocker.close();
  }
});

test('when a child dies the demo stops the other and exits non-zero with the log tail', async () => {
  const demo = await startDemo(data);
  const children = fs
    .readFileSync(`/proc/${demo.child.pid}/task/${demo.child.pid}/children`, 'utf8')
    .trim()
    .split(/\s+/)
    .map(Number);
  assert.equal(children.length, 2);
  const server = children.find((pid) => fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0')[1] === 'serve');
  assert.ok(server, 'the server child');
  process.kill(server, 'SIGKILL');
  let timer;
  const r = await Promise.race([
    demo.exited,
    new Promise((resolve) => {
      timer = setTimeout(() => resolve('deadline'), STOP_MS);
    }),
  ]);
  clearTimeout(timer);
  assert.notEqual(r, 'deadline', 'the demo did not exit after its server died');
  assert.equal(r.code, 1);
  assert.match(demo.stderr.join(''), /the server exited \(status 137\); the end of .*serve\.log/);
  assert.ok(await refused(demo.chat), 'the web chat still accepts connections');
});

test('without bots/bank.yaml the demo says what is missing and starts nothing', async () => {
  const empty = makeTempDir('parley-demo-bots-');
  const r = await runCli(['demo', '--data', path.join(empty, 'data'), '--bots', empty, '--port', '0', '--chat-port', '0']);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /bank\.yaml is missing: .*--bots FOLDER/);
  assert.equal(fs.existsSync(path.join(empty, 'data', 'serve.log')), false);
});
