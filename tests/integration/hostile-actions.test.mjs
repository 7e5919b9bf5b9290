// Hostile action endpoints (issue 17): a bot flow's `call` step whose action answers 1 GiB, or
// never ends its body (at full speed, or a byte at a time). Each case asserts that the customer
// gets the step's on_error replies (a cut answer is not an answer, even when its first bytes are
// a valid JSON object), that the flow does not go on, that another customer is served meanwhile
// and that the server's memory stays bounded. The server's peak memory (VmHWM) and the time to
// give up are printed as figures for docs/performance.md, not asserted.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { test } from 'node:test';
import { Chat } from './bot_support.mjs';
import { makeTempDir, startFixture, uid, waitFor } from './harness.mjs';

const TRICKLE_TIMEOUT_MS = 4000; // the trickle's call step; the others end at 64 KiB of body

function memoryOf(server) {
  const status = fs.readFileSync(`/proc/${server.child.pid}/status`, 'utf8');
  const kb = (name) => Number((new RegExp(`^${name}:\\s+(\\d+)`, 'm').exec(status) || [])[1] || 0);
  return { rss_mb: Math.round(kb('VmRSS') / 1024), peak_mb: Math.round(kb('VmHWM') / 1024) };
}

function figure(name, values) {
  console.log(`# hostile ${name}: ${JSON.stringify(values)}`);
}

// Every answer starts with a valid JSON object that would fill `extra` and be accepted if the
// rest of the body were ignored; what follows is JSON whitespace. /gib announces 1 GiB in
// Content-Length, /endless is chunked and never ends (64 KiB every 5 ms), /trickle is chunked
// and sends one byte every 50 ms, never ending.
async function hostileActions() {
  const sockets = new Set();
  const requests = []; // {kind, open, bytes}
  const server = http.createServer((req, res) => {
    const kind = new URL(req.url, 'http://x').pathname.slice(1);
    req.resume();
    req.on('end', () => {
      const r = { kind, open: true, bytes: 0 };
      requests.push(r);
      const headers = { 'content-type': 'application/json' };
      if (kind === 'gib') headers['content-length'] = String(1 << 30);
      res.writeHead(200, headers);
      const prefix = '{"slots":{"extra":"from a cut answer"}}';
      res.write(prefix);
      r.bytes += prefix.length;
      const chunk = kind === 'trickle' ? Buffer.from(' ') : Buffer.alloc(64 * 1024, ' ');
      const timer = setInterval(() => {
        if (res.destroyed) return clearInterval(timer);
        res.write(chunk);
        r.bytes += chunk.length;
      }, kind === 'trickle' ? 50 : 5);
      res.on('close', () => {
        clearInterval(timer);
        r.open = false;
      });
    });
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    requests,
    url: (kind) => `http://127.0.0.1:${server.address().port}/${kind}`,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

// One bot per kind: a question, the call, then a reply that only a successful call reaches.
const hostileBot = (name, url, timeoutMs) => `name: ${name}
fallback:
  replies: [{text: "Not understood."}]
intents:
  - name: go
    examples: [start the steps, run the flow]
    flow: steps
  - name: hours
    examples: [when are you open, what are your opening hours]
    replies: [{text: "Open nine to five."}]
flows:
  steps:
    steps:
      - ask: "Your word?"
        slot: word
      - call: {url: "${url}", timeout_ms: ${timeoutMs}, on_error: [{text: "The action failed for {word}."}]}
      - replies: [{text: "After the call: {word} {extra}."}]
`;

const texts = (evs) => evs.filter((e) => e.type === 'text').map((e) => e.text.join('\n'));

test('an action that answers 1 GiB, or never ends its body: the customer gets on_error, others are served, memory stays bounded', async () => {
  const actions = await hostileActions();
  const botsDir = makeTempDir('parley-hostile-bots-');
  const kinds = ['gib', 'endless', 'trickle'];
  for (const kind of kinds) {
    const timeout = kind === 'trickle' ? TRICKLE_TIMEOUT_MS : 10000;
    fs.writeFileSync(path.join(botsDir, `hostile_${kind}.yaml`), hostileBot(`Hostile ${kind}`, actions.url(kind), timeout));
  }
  const fixture = await startFixture({ receiver: 'hostile-actions', server: { args: ['--bots', botsDir] } });
  try {
    const { server, hook } = fixture;
    for (const kind of kinds) {
      const conn = await server.createConnection({ webhook: hook.url, bot: `hostile_${kind}` });
      hook.trust(conn);
      const before = memoryOf(server);
      const chat = new Chat(server, conn, hook, `victim-${kind}-${uid()}`);
      await chat.tap('flow:steps');
      await chat.next((evs) => texts(evs).includes('Your word?'), 'the question');
      const sent = actions.requests.length;
      const t0 = Date.now();
      await chat.say(kind);
      await waitFor(() => actions.requests.length > sent, { message: `the ${kind} action is called` });
      const call = actions.requests.at(-1);
      // Another customer of the same bot is answered while (for the trickle, which holds its
      // request until the step's timeout) the hostile call is still running.
      const other = new Chat(server, conn, hook, `other-${kind}-${uid()}`);
      await other.say('when are you open');
      await other.next((evs) => texts(evs).includes('Open nine to five.'), `another customer during the ${kind} call`);
      const openWhileServed = call.open;
      if (kind === 'trickle') assert.ok(openWhileServed, 'the other customer was answered while the trickling call was still open');
      const evs = await chat.next((e) => texts(e).some((t) => t.startsWith('The action failed') || t.startsWith('After the call')), `the outcome of the ${kind} call`, 20000);
      const giveUpMs = Date.now() - t0;
      assert.deepEqual(texts(evs), [`The action failed for ${kind}.`], `a cut ${kind} answer is a failed action`);
      await waitFor(() => !call.open, { message: `Parley closes the ${kind} action's connection` });
      const after = memoryOf(server);
      figure(`action-${kind}`, { give_up_ms: giveUpMs, action_bytes_written: call.bytes, open_while_other_served: openWhileServed, before, after });
      assert.ok(after.peak_mb < before.peak_mb + 256, `no large body buffered (${JSON.stringify({ before, after })})`);
      assert.equal(hook.rejected.length, 0, JSON.stringify(hook.rejected));
    }
  } finally {
    await fixture.close();
    await actions.close();
  }
});
