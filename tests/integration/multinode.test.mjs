// Three `parley serve` nodes on one PostgreSQL database (issue 15), black-box: the test starts
// its own throwaway PostgreSQL server (as scripts/test-postgres does: Debian's binaries, initdb
// as `postgres` when run as root, a free loopback port, fsync on) and three nodes with the same
// master key, each with its own port and node id.
// - customers' consecutive messages spread over the three nodes keep their order and `seq`, and
//   a webhook receiver sees every reply in order (at least once);
// - one node killed with SIGKILL under load: nothing acknowledged is lost and nothing reaches
//   the webhook out of order (another node takes the dead node's conversations over when its
//   delivery leases expire);
// - an agent streaming from node A sees a customer writing to node B at once, and a reconnect
//   with `after` on node C gets what was missed, in order;
// - SIGTERM: a node exits 0 and gives its delivery leases up (another node delivers at once).
// Without PostgreSQL's server binaries this test FAILS (it never skips): scripts/install-deps
// installs them.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { REPO, Server, Receiver, makeTempDir, removeTempDir, textEvent, uid, waitFor, delay, range } from './harness.mjs';
import { Agent, createAgent } from './agent_support.mjs';
import { pgBinDir, startPostgres } from './pg_support.mjs';

const LEASE_S = 4;
const WEBHOOK_TIMEOUT_MS = 3000;
// The lease a node uses: delivery_lease_s, raised to twice the webhook timeout plus 3 s.
const LEASE_MS = Math.max(LEASE_S * 1000, 2 * WEBHOOK_TIMEOUT_MS + 3000);
const CONFIG = `delivery_lease_s: ${LEASE_S}\noffer_timeout_s: 30\nwait_time_interval_s: 0\n`;
let pg;
let nodes = [];
let hook;
let configDir;
const masterKey = crypto.randomBytes(32).toString('hex');

// --- three nodes -------------------------------------------------------------------------

// A node on the shared database; it keeps its own folder (log) but not its own database.
async function startNode(name) {
  const server = new Server({
    args: ['--log-level', process.env.MN_LOG_LEVEL || 'info', '--node-id', name, '--config', path.join(configDir, 'parley.yaml'), '--bots', path.join(configDir, 'bots'), '--webhook-timeout-ms', String(WEBHOOK_TIMEOUT_MS), '--retry-initial-ms', '50', '--retry-max-ms', '400'],
    env: { PARLEY_MASTER_KEY: masterKey },
  });
  server.database = pg.url;
  server.nodeName = name;
  await server.start();
  return server;
}

async function metric(server, name) {
  const r = await server.request('GET', '/metrics');
  const line = r.text.split('\n').find((l) => l.startsWith(`${name} `) || l.startsWith(`${name}{`));
  return line === undefined ? undefined : Number(line.split(' ').pop());
}

before(async () => {
  pg = await startPostgres();
  configDir = makeTempDir('parley-mn-');
  fs.writeFileSync(path.join(configDir, 'parley.yaml'), CONFIG);
  // One bots folder for the three nodes, as a deploy that ships them together would have.
  fs.mkdirSync(path.join(configDir, 'bots'));
  fs.copyFileSync(path.join(REPO, 'bots/bank.yaml'), path.join(configDir, 'bots/bank.yaml'));
  // One at a time: the first migrates (the others would wait on its advisory lock anyway).
  for (const name of ['node-a', 'node-b', 'node-c']) nodes.push(await startNode(name));
  hook = await Receiver.start('multinode');
});

after(async () => {
  for (const n of nodes) await n.cleanup();
  await hook?.close();
  if (configDir) removeTempDir(configDir);
  pg?.stop();
});

// A connection made on one node is in force on the others within a second (the reload is
// announced): they count it, and accept its messages.
async function connectionOnAll(opts) {
  const [a, b, c] = nodes;
  const known = [await metric(b, 'parley_connections'), await metric(c, 'parley_connections')];
  const t0 = Date.now();
  let conn;
  if (opts.queue) {
    // a connection whose customers (no bot) wait in a queue of their own
    const r = await a.admin('POST', '/api/v1/connections', { name: `mn-${uid()}`, client_webhook: opts.webhook, bot: 'none', queue: opts.queue });
    assert.equal(r.status, 201, r.text);
    conn = r.json;
  } else conn = await a.createConnection(opts);
  hook.trust(conn);
  for (const [i, n] of [b, c].entries()) {
    await waitFor(async () => (await metric(n, 'parley_connections')) === known[i] + 1, {
      timeout: 1000,
      interval: 20,
      message: `${n.nodeName} knows connection ${conn.connection_id}`,
    });
  }
  assert.ok(Date.now() - t0 < 1500, `connection reached every node in ${Date.now() - t0} ms`);
  return conn;
}

test('nodes identify themselves and share the database', async () => {
  for (const n of nodes) {
    const r = await n.request('GET', '/metrics');
    assert.match(r.text, new RegExp(`parley_node_info\\{node_id="${n.nodeName}"\\} 1`));
    assert.match(r.text, /parley_delivery_leases_held \d+/);
    await waitFor(async () => (await metric(n, 'parley_node_listening')) === 1, { timeout: 5000, message: `${n.nodeName} listening` });
  }
});

test("customers' messages spread over three nodes keep their order and seq; replies reach the webhook in order", async () => {
  const conn = await connectionOnAll({ webhook: hook.url, bot: 'echo' });
  const CUSTOMERS = 8;
  const MESSAGES = 12;
  const customers = range(CUSTOMERS).map((i) => `spread-${i}-${uid().slice(0, 6)}`);
  await Promise.all(
    customers.map(async (customer, ci) => {
      for (let m = 0; m < MESSAGES; m++) {
        // consecutive messages of one customer go to different nodes
        const node = nodes[(m + ci) % 3];
        await node.send(conn, textEvent(customer, `${customer} #${m}`));
      }
    }),
  );
  for (const customer of customers) {
    // every node sees the same transcript: inbound seq 1..N in the order sent
    for (const node of nodes) {
      const [conv] = await node.conversationsOf(conn, customer);
      assert.ok(conv, `${customer} has a conversation on ${node.nodeName}`);
      const inbound = (await node.conversation(conv.id)).transcript.filter((e) => e.direction === 'in');
      assert.deepEqual(
        inbound.map((e) => e.payload?.text?.[0]),
        range(MESSAGES, 0).map((m) => `${customer} #${m}`),
        `${customer}'s messages on ${node.nodeName}`,
      );
      assert.deepEqual(inbound.map((e) => e.seq), range(MESSAGES), `${customer}'s inbound seqs on ${node.nodeName}`);
    }
    // the echoes reach the webhook, seq 1..N, in the order of the messages. At least once: an
    // attempt the node gave up on (webhook_timeout_ms passed on this busy machine) may have
    // reached the receiver and is sent again, with the same event_id, before the next seq.
    await waitFor(() => new Set(hook.deliveredTo(conn, customer).map((e) => e.event_id)).size >= MESSAGES, { timeout: 15000, message: `${customer}'s replies delivered` });
    const firsts = [];
    for (const e of hook.deliveredTo(conn, customer)) if (!firsts.some((f) => f.event_id === e.event_id)) firsts.push(e);
    assert.deepEqual(
      firsts.map((e) => e.seq),
      range(MESSAGES),
      `${customer}'s reply seqs: ${JSON.stringify(hook.attemptsFor(conn, customer).map((a) => [a.event.seq, a.event.event_id.slice(0, 8), a.outcome, a.t % 100000]))}`,
    );
    for (let m = 0; m < MESSAGES; m++) assert.ok(firsts[m].text.join(' ').includes(`${customer} #${m}`), `reply ${m + 1} echoes message ${m}: ${firsts[m].text}`);
  }
  // seq n+1 never reached the receiver before seq n was answered 2xx
  assert.deepEqual(hook.orderViolations({ exactlyOnce: false }), []);
});

test('one node killed with SIGKILL under load: nothing acknowledged is lost or delivered out of order', async () => {
  const conn = await connectionOnAll({ webhook: hook.url, bot: 'echo' });
  // a webhook a bit slow that sometimes fails, so deliveries are in flight and pending at the kill
  let i = 0;
  const before = hook.attempts.length;
  hook.policy = () => (i++ % 9 === 0 ? { status: 500 } : { status: 200, delayMs: 3 });
  const run = uid().slice(0, 6);
  const state = { stop: false, acked: [] };
  const POSTERS = 6;
  const posters = range(POSTERS).map(async (p) => {
    const customers = range(3).map((k) => `load-${run}-${p}-${k}`);
    for (let n = 0; !state.stop; n++) {
      const customer = customers[n % customers.length];
      const live = nodes.filter((s) => s.running);
      const node = live[(n + p) % live.length];
      const ev = textEvent(customer, `${customer} m${n}`);
      let r;
      try {
        r = await node.post(conn, ev, { timeout: 5000 });
      } catch {
        continue; // that node is gone: not acknowledged; the next message goes elsewhere
      }
      if (r.status === 200) state.acked.push({ customer, text: ev.text[0] });
      else if (r.status !== 503) throw new Error(`unexpected ${r.status} ${r.text}`);
    }
  });
  await waitFor(() => state.acked.length >= 150, { timeout: 30000, message: 'load building up' });
  const victim = nodes[1];
  await victim.kill9();
  const killedAt = Date.now();
  await waitFor(() => state.acked.length >= 300, { timeout: 30000, message: 'load on the two survivors' });
  state.stop = true;
  await Promise.all(posters);
  hook.policy = null;

  // Every acknowledged message is in its customer's transcript (read on a survivor)...
  const survivor = nodes[0];
  const byCustomer = new Map();
  for (const a of state.acked) byCustomer.set(a.customer, [...(byCustomer.get(a.customer) ?? []), a]);
  for (const [customer, msgs] of byCustomer) {
    const [conv] = await survivor.conversationsOf(conn, customer);
    const texts = new Set((await survivor.conversation(conv.id)).transcript.filter((e) => e.direction === 'in').map((e) => e.payload?.text?.[0]));
    for (const m of msgs) assert.ok(texts.has(m.text), `acknowledged "${m.text}" is in the transcript`);
  }
  // ... and its echo reaches the webhook (the dead node's conversations once its leases expire).
  await waitFor(
    () => state.acked.every((a) => hook.deliveredTo(conn, a.customer).some((e) => e.text?.join(' ').includes(a.text))),
    { timeout: LEASE_MS + 20000, message: 'every acknowledged message echoed' },
  );
  // Per customer: seq n+1 never arrived before n was answered 2xx (a repeat after a takeover is
  // allowed: at-least-once), and the delivered seqs are 1..N without a hole.
  assert.deepEqual(hook.orderViolations({ exactlyOnce: false }), []);
  for (const customer of byCustomer.keys()) {
    const seqs = [...new Set(hook.deliveredTo(conn, customer).map((e) => e.seq))];
    assert.deepEqual(seqs, range(seqs.length), `${customer}'s delivered seqs`);
  }
  const takeovers = (await metric(nodes[0], 'parley_delivery_lease_takeovers_total')) + (await metric(nodes[2], 'parley_delivery_lease_takeovers_total'));
  console.log(`# ${state.acked.length} acknowledged, ${hook.attempts.length - before} webhook requests, ${takeovers} lease takeover(s), all delivered ${Date.now() - killedAt} ms after the kill`);
  await victim.start(); // back for the next test, under the same node id
});

test('an agent streaming from node A sees a customer writing to node B; a reconnect with after on node C gets what was missed', async () => {
  const [a, b, c] = nodes;
  await waitFor(async () => (await metric(b, 'parley_node_listening')) === 1, { timeout: 5000, message: 'node-b listening again' });
  const direct = await connectionOnAll({ webhook: hook.url, bot: 'none' });
  const agent = await createAgent(a, { queues: ['default'], max_chats: 3 });
  await agent.connect();
  agent.ws.on('error', () => {});
  await agent.signedIn();
  await agent.available();
  const customer = `cross-${uid().slice(0, 6)}`;

  // The customer writes to node B: the offer (written on B) reaches the stream on A at once.
  let t0 = Date.now();
  await b.send(direct, textEvent(customer, 'hello from B'));
  const offer = await agent.event((f) => f.type === 'conversation.offered' && f.conversation?.customer_id === customer, { timeout: 3000, message: 'offer from node B' });
  console.log(`# offer written on node-b reached node-a's stream in ${Date.now() - t0} ms`);
  const id = offer.conversation.id;
  // The agent's REST calls go to node C.
  const onC = Object.assign(new Agent(c, agent.username, agent.displayName), { token: agent.token, csrf: agent.csrf });
  await onC.ok('POST', `/api/v1/conversations/${id}/accept`);

  t0 = Date.now();
  await b.send(direct, textEvent(customer, 'second, via B'));
  await agent.event((f) => f.type === 'conversation.message' && f.entry?.payload?.text?.[0] === 'second, via B', { timeout: 2000, message: 'message written on node B' });
  const latency = Date.now() - t0;
  assert.ok(latency < 2000, `cross-node event took ${latency} ms`);

  // Seqs on the stream so far: 1..n in order, none twice.
  const seqs = agent.frames.filter((f) => typeof f.seq === 'number').map((f) => f.seq);
  assert.deepEqual(seqs, [...seqs].sort((x, y) => x - y));
  assert.equal(new Set(seqs).size, seqs.length);

  // The agent goes away; the customer writes to A and C meanwhile; the agent comes back on C.
  const seen = agent.lastSeq();
  await agent.disconnect();
  await a.send(direct, textEvent(customer, 'while away 1'));
  await c.send(direct, textEvent(customer, 'while away 2'));
  const back = Object.assign(new Agent(c, agent.username, agent.displayName), { token: agent.token, csrf: agent.csrf });
  await back.connect({ after: seen });
  back.ws.on('error', () => {});
  await back.event((f) => f.type === 'conversation.message' && f.entry?.payload?.text?.[0] === 'while away 2', { timeout: 3000, message: 'missed messages after reconnect on node C' });
  const texts = back.frames.filter((f) => f.type === 'conversation.message').map((f) => f.entry?.payload?.text?.[0]);
  assert.deepEqual(texts.filter((t) => t?.startsWith('while away')), ['while away 1', 'while away 2']);
  const backSeqs = back.frames.filter((f) => typeof f.seq === 'number').map((f) => f.seq);
  assert.equal(backSeqs[0], seen + 1, 'the replay starts right after the last seq seen');
  assert.deepEqual(backSeqs, range(backSeqs.length, seen + 1), 'no seq skipped or repeated');
  // A new event written on A while the stream is on C arrives live too.
  await a.send(direct, textEvent(customer, 'live to C'));
  await back.event((f) => f.type === 'conversation.message' && f.entry?.payload?.text?.[0] === 'live to C', { timeout: 2000, message: 'live event written on node A' });
  await back.disconnect();
});

test('SIGTERM: the node exits 0 and gives its delivery leases up, so another node delivers at once', async () => {
  const [a, , c] = nodes;
  const conn = await connectionOnAll({ webhook: hook.url, bot: 'echo' });
  const customer = `drain-${uid().slice(0, 6)}`;
  await c.send(conn, textEvent(customer, 'first, via C'));
  await waitFor(() => hook.deliveredTo(conn, customer).length >= 1, { timeout: 5000, message: 'first reply (node C holds the lease)' });
  await c.stop(); // throws unless it exits 0
  assert.ok(c.logTail.some((l) => /released \d+ delivery lease/.test(l)), `node-c released its leases\n${c.tail()}`);
  const t0 = Date.now();
  await a.send(conn, textEvent(customer, 'second, via A'));
  await waitFor(() => hook.deliveredTo(conn, customer).some((e) => e.seq === 2), { timeout: LEASE_MS, message: 'second reply' });
  const took = Date.now() - t0;
  // Released, not expired: well under the lease (LEASE_MS) that a killed node would leave behind.
  assert.ok(took < LEASE_MS / 2, `the second reply took ${took} ms`);
  assert.deepEqual(hook.orderViolations({ exactlyOnce: false }), []);
  await c.start();
});

// --- the races with several nodes (issue 15) ----------------------------------------------

// A queue of its own (so agents of other tests take no part) and a connection whose customers
// wait there; both made on node A and known to the three nodes.
async function queueOnAll(settings = {}) {
  const name = `q${uid().slice(0, 8)}`;
  const r = await nodes[0].admin('POST', '/api/v1/queues', { name, display_name: name, ...settings });
  assert.equal(r.status, 201, r.text);
  const conn = await connectionOnAll({ webhook: hook.url, queue: name });
  return { name, conn };
}

// A queue's rung-out offers as each node's /metrics shows them (the count is the database's,
// so every node shows the same).
async function rungOut(queue) {
  const out = [];
  for (const n of nodes) {
    const r = await n.request('GET', '/metrics');
    const line = r.text.split('\n').find((l) => l.startsWith(`parley_queue_offers_rung_out_total{queue="${queue}"}`));
    out.push(line === undefined ? 0 : Number(line.split(' ').pop()));
  }
  return out;
}

test('two agents on different nodes race for 20 customers arriving on all three nodes at once: each assigned once, max_chats never passed', async () => {
  const [a, b] = nodes;
  const MAX = 2;
  const CUSTOMERS = 20;
  const { name: queue, conn } = await queueOnAll({ auto_accept: true });
  const agents = [];
  for (const node of [a, b]) {
    const agent = await createAgent(node, { queues: [queue], max_chats: MAX });
    await agent.connect();
    agent.ws.on('error', () => {});
    await agent.signedIn();
    agents.push(agent);
  }
  const customers = range(CUSTOMERS).map((i) => `race-${i}-${uid().slice(0, 6)}`);
  // Each agent ends every chat it is given at once (from its own node), so the queue drains
  // through both; what it holds (assigned, not yet ended) is counted in the order of its stream.
  // An end that met another node's transaction was answered 503 (`store_busy`: a deadlock
  // between two nodes' group commits) before the writers' lock order (docs/architecture.md);
  // the test still retries an end answered so, and then fails, saying how many met one.
  const busy = [];
  const endChat = async (agent, id) => {
    for (let i = 0; ; i++) {
      try {
        return await agent.ok('POST', `/api/v1/conversations/${id}/end`);
      } catch (e) {
        busy.push(`${agent.server.nodeName}: ${String(e.message).slice(0, 300)}`);
        if (i >= 5) throw e;
        await delay(200);
      }
    }
  };
  const assigned = new Map(); // conversation id -> [agent usernames]
  const peaks = new Map();
  const ends = [];
  let stop = false;
  const work = async (agent) => {
    const held = new Set();
    let peak = 0;
    for (let i = 0; !stop; ) {
      while (i < agent.frames.length) {
        const f = agent.frames[i++];
        const id = f.conversation?.id;
        if (f.type === 'conversation.assigned') {
          held.add(id);
          peak = Math.max(peak, held.size);
          assigned.set(id, [...(assigned.get(id) ?? []), agent.username]);
          ends.push(endChat(agent, id));
        } else if (f.type === 'conversation.ended' || f.type === 'conversation.removed') held.delete(id);
      }
      await delay(10);
    }
    peaks.set(agent.username, peak);
  };
  const workers = agents.map(work);
  await Promise.all(agents.map((ag) => ag.available()));
  const logBefore = pg.log().length;
  const t0 = Date.now();
  await Promise.all(customers.map((customer, i) => nodes[i % 3].send(conn, textEvent(customer, `hello ${i}`))));
  try {
    // About 1 s on a quiet machine (a deadlock between the nodes' transactions cost 1 s,
    // deadlock_timeout, before the writers' lock order; see docs/operations-multinode.md).
    await waitFor(() => assigned.size >= CUSTOMERS, {
      timeout: 60000,
      message: () => `${CUSTOMERS} customers assigned; got ${assigned.size}`,
    });
    await delay(300); // a second assignment of one of them would show by now
  } finally {
    stop = true;
    await Promise.all(workers);
  }
  await Promise.all(ends);
  if (busy.length) {
    for (const n of nodes) {
      const r = await n.request('GET', '/metrics');
      console.log(`# ${n.nodeName}: ${r.text.split('\n').filter((l) => /^parley_store_(pool|retried)/.test(l)).join(', ')}`);
    }
    console.log(`# ${busy.length} end(s) answered 503 and retried: ${busy.join('\n# ')}`);
  }
  console.log(`# ${CUSTOMERS} customers through two agents on two nodes in ${Date.now() - t0} ms; peaks ${JSON.stringify([...peaks])}`);
  // No deadlock between the nodes' writers, and no request refused for one.
  const logged = pg.log().slice(logBefore);
  const deadlocks = logged.split('\n').filter((l) => /deadlock detected|^DETAIL:|Process \d+ waits/.test(l));
  assert.deepEqual(deadlocks, [], "PostgreSQL's log during the race");
  assert.deepEqual(busy, [], 'ends answered 503 during the race');
  // Each customer's conversation was assigned exactly once, to one agent.
  const ids = [];
  for (const customer of customers) {
    const [conv] = await a.conversationsOf(conn, customer);
    assert.ok(conv, `${customer} has a conversation`);
    ids.push(conv.id);
  }
  assert.deepEqual([...assigned.keys()].sort(), [...ids].sort(), 'the assigned conversations are the 20 customers');
  for (const [id, who] of assigned) assert.equal(who.length, 1, `conversation ${id} assigned ${who.length} times: ${who}`);
  for (const [who, peak] of peaks) assert.ok(peak <= MAX, `${who} held ${peak} chats at once (max_chats ${MAX})`);
  // Both took part (the race was real), and the store agrees: no chat left open, none lost.
  for (const ag of agents) assert.ok([...assigned.values()].some((w) => w[0] === ag.username), `${ag.username} got customers`);
  for (const id of ids) assert.equal((await b.conversation(id)).state, 'ended');
  for (const ag of agents) await ag.disconnect();
});

test('a bot reload and a user change made on one node are in force on the others within a second', async () => {
  const [a, b, c] = nodes;
  // The bot: the file changes (as a deploy would change it on every node); a reload on A
  // reloads it on B and C too.
  const bank = async (n) => (await n.admin('GET', '/api/v1/bots')).json.bots.find((x) => x.name === 'bank');
  const file = path.join(configDir, 'bots/bank.yaml');
  const before = await bank(b);
  const renamed = `Ava ${uid().slice(0, 4)}`;
  fs.writeFileSync(file, fs.readFileSync(file, 'utf8').replace(/^name: .*$/m, `name: ${renamed}`));
  const r = await a.admin('POST', '/api/v1/bots/bank/reload');
  assert.equal(r.status, 200, r.text);
  let t0 = Date.now(); // reloaded on A: from now on the others
  for (const n of [b, c]) {
    await waitFor(async () => (await bank(n)).display_name === renamed, { timeout: 1000, interval: 20, message: `${n.nodeName} reloaded the bot` });
  }
  assert.ok(Date.now() - t0 < 1500, `the bot reload reached every node in ${Date.now() - t0} ms`);
  assert.notEqual((await bank(c)).loaded_at, before.loaded_at);

  // The user: streams on B and C; disabled on A, both streams close within a second, and the
  // session is gone on every node.
  const agent = await createAgent(a, { queues: ['default'] });
  const streamOn = async (n) => {
    const s = Object.assign(new Agent(n, agent.username, agent.displayName), { token: agent.token, csrf: agent.csrf });
    await s.connect();
    s.ws.on('error', () => {});
    s.closed = new Promise((resolve) => s.ws.once('close', (code) => resolve({ code, t: Date.now() })));
    return s;
  };
  let streams = [await streamOn(b), await streamOn(c)];
  await streams[0].signedIn();
  t0 = Date.now();
  const off = await a.admin('PATCH', `/api/v1/users/${agent.username}`, { enabled: false });
  assert.equal(off.status, 200, off.text);
  const within = (p, what) => Promise.race([p, delay(1000).then(() => assert.fail(`${what} still open a second later`))]);
  for (const [i, s] of streams.entries()) await within(s.closed, `the stream on ${[b, c][i].nodeName} of a disabled user`);
  console.log(`# streams on node-b and node-c closed ${Math.max(...(await Promise.all(streams.map((s) => s.closed))).map((x) => x.t)) - t0} ms after the user was disabled on node-a`);
  assert.equal((await streams[1].api('GET', '/api/v1/agents/me')).status, 401);

  // Enabled again and signed in on C; a new password set on C closes the streams on A and B.
  assert.equal((await c.admin('PATCH', `/api/v1/users/${agent.username}`, { enabled: true })).status, 200);
  agent.server = c;
  await agent.login();
  streams = [await streamOn(a), await streamOn(b)];
  await streams[1].signedIn();
  t0 = Date.now();
  const pw = await c.admin('POST', `/api/v1/users/${agent.username}/password`, { password: 'another-long-password-1' });
  assert.equal(pw.status, 200, pw.text);
  for (const [i, s] of streams.entries()) await within(s.closed, `the stream on ${[a, b][i].nodeName} after a new password`);
  assert.equal((await streams[0].api('GET', '/api/v1/agents/me')).status, 401);
});

test('routing timers on three nodes: one ring-out per offer, one idle reminder and end per customer, no wait_time twice within the interval', async () => {
  // Fast timers for this test: every node restarted with them (and back afterwards).
  const FAST = { offer_timeout_s: 1, customer_idle_reminder_s: 1, customer_idle_end_s: 2, wait_time_interval_s: 1 };
  const restartAll = async (config) => {
    fs.writeFileSync(path.join(configDir, 'parley.yaml'), config);
    for (const n of nodes) await n.restart();
    for (const n of nodes) await waitFor(async () => (await metric(n, 'parley_node_listening')) === 1, { timeout: 5000, message: `${n.nodeName} listening` });
  };
  const t0 = Date.now();
  await restartAll(CONFIG + Object.entries(FAST).map(([k, v]) => `${k}: ${v}\n`).join(''));
  const restarted = Date.now() - t0;
  try {
    const [a, b] = nodes;
    // Idle customers with a bot, on every node (first: their 2 s run while the rest is set up).
    const echo = await connectionOnAll({ webhook: hook.url, bot: 'echo' });
    const idle = range(6).map((i) => `idle-${i}-${uid().slice(0, 6)}`);
    await Promise.all(idle.map((cu, i) => nodes[i % 3].send(echo, textEvent(cu, 'hi'))));
    // Waiting customers: one agent (max_chats 1) chatting from the queue, four customers
    // behind; the chat times out (idle) and the next is assigned, so places move.
    const wt = await queueOnAll({ auto_accept: true });
    const holder = await createAgent(b, { queues: [wt.name], max_chats: 1 });
    await holder.connect();
    holder.ws.on('error', () => {});
    await holder.signedIn();
    await holder.available();
    const waiting = range(5).map((i) => `wait-${i}-${uid().slice(0, 6)}`);
    await a.send(wt.conn, textEvent(waiting[0], 'first'));
    await holder.event(holder.of('conversation.assigned'), { timeout: 3000, message: 'the first customer assigned' });
    // Offers: three agents (one per node) who never accept; each offer rings out once, then
    // they come back and the offers go round a second time.
    const ring = await queueOnAll();
    const ringers = await Promise.all(
      nodes.map(async (n) => {
        const ag = await createAgent(n, { queues: [ring.name], max_chats: 1 });
        await ag.connect();
        ag.ws.on('error', () => {});
        await ag.signedIn();
        await ag.available();
        return ag;
      }),
    );
    await Promise.all([
      ...range(3, 0).map((i) => nodes[i].send(ring.conn, textEvent(`ring-${i}-${uid().slice(0, 6)}`, 'anyone?'))),
      ...waiting.slice(1).map((cu, i) => nodes[i % 3].send(wt.conn, textEvent(cu, 'waiting'))),
    ]);
    // Round one: each ringer is offered one chat, which rings out; back available for round two.
    const expired = (ag) => ag.frames.filter((f) => f.type === 'conversation.removed' && f.reason === 'offer_expired');
    for (const ag of ringers) await waitFor(() => expired(ag).length >= 1, { timeout: 5000, message: `${ag.username}'s first offer rang out` });
    for (const ag of ringers) await ag.available();
    for (const ag of ringers) await waitFor(() => expired(ag).length >= 2, { timeout: 5000, message: `${ag.username}'s second offer rang out` });
    // The idle customers' conversations end (reminder at 1 s, end at 2 s).
    await waitFor(() => idle.every((cu) => hook.deliveredTo(echo, cu).some((e) => e.type === 'csr_end_session')), { timeout: 10000, message: 'every idle customer ended' });
    // The holder's first chat times out (idle) and the next customer is assigned: places move.
    await waitFor(() => holder.frames.filter((f) => f.type === 'conversation.assigned').length >= 2, { timeout: 8000, message: "the holder's second chat" });
    await delay(1200); // a second ring-out, reminder or end from another node would show by now

    // One ring-out per offer: each offered frame is followed by exactly one offer_expired.
    let offers = 0;
    for (const ag of ringers) {
      const offered = ag.frames.filter((f) => f.type === 'conversation.offered');
      offers += offered.length;
      assert.equal(expired(ag).length, offered.length, `${ag.username}: ${offered.length} offers, ${expired(ag).length} rang out`);
      // (status frames from the first `available`: the stream opened while the agent was away)
      const all = ag.frames.filter((f) => f.type === 'agent.status');
      const from = all.findIndex((f) => f.agent.status === 'available');
      const aways = all.slice(from).filter((f) => f.agent.status === 'away');
      assert.equal(aways.length, offered.length, `${ag.username} set away once per rung-out offer: ${JSON.stringify(all.map((f) => [f.agent.status, f.agent.away_reason]))}`);
    }
    assert.ok(offers >= 6, `${offers} offers`);
    assert.deepEqual(await rungOut(ring.name), [offers, offers, offers], 'offers rung out, on each node');
    // One reminder, one end text, one csr_end_session per idle customer (a delivery repeated
    // at-least-once has the same event_id: counted once).
    const once = (events, pred) => new Set(events.filter(pred).map((e) => e.event_id)).size;
    for (const cu of idle) {
      const evs = hook.deliveredTo(echo, cu);
      assert.equal(once(evs, (e) => e.type === 'text' && e.from === 'system' && /still there/.test(e.text[0])), 1, `${cu}: one reminder`);
      assert.equal(once(evs, (e) => e.type === 'text' && e.from === 'system' && /inactive/.test(e.text[0])), 1, `${cu}: one end text`);
      assert.equal(once(evs, (e) => e.type === 'csr_end_session'), 1, `${cu}: one csr_end_session`);
    }
    // wait_time: never the same place and estimate twice in a row, never two within the interval.
    let updates = 0;
    for (const cu of waiting.slice(1)) {
      const seen = new Set();
      const waits = hook.attemptsFor(wt.conn, cu).filter((x) => x.event.type === 'wait_time' && !seen.has(x.event.event_id) && seen.add(x.event.event_id));
      updates += waits.length;
      for (let i = 1; i < waits.length; i++) {
        const [p, q] = [waits[i - 1].event, waits[i].event];
        assert.ok(p.queue_position !== q.queue_position || Math.abs(p.waitTime - q.waitTime) >= 30, `${cu}: wait_time ${JSON.stringify(q)} repeats ${JSON.stringify(p)}`);
        if (i > 1) assert.ok(waits[i].t - waits[i - 1].t >= 700, `${cu}: two wait_time updates ${waits[i].t - waits[i - 1].t} ms apart`);
      }
    }
    console.log(`# ${offers} offers rung out once each, ${idle.length} idle customers ended once each, ${updates} wait_time events for ${waiting.length - 1} waiting customers (three nodes restarted with fast timers in ${restarted} ms)`);
    assert.ok(updates >= waiting.length, `places moved: ${updates} wait_time events`);
    for (const ag of [...ringers, holder]) await ag.disconnect();
  } finally {
    await restartAll(CONFIG);
  }
});

// Presence across nodes (issue 15): two nodes of their own, on a database of their own, with
// agent_offline_after_s 1 and a lease of 4 s (twice the webhook timeout plus 3 s), so that an
// agent wrongly counted as without streams goes offline within two seconds.
test('presence: a restart of one node leaves an agent streaming from another online; the node killed with the stream stops counting when its lease expires', async () => {
  const u = new URL(pg.url);
  execFileSync(path.join(pgBinDir(), 'psql'), ['-qX', '-h', u.hostname, '-p', u.port, '-U', 'parley', '-d', 'postgres', '-c', 'CREATE DATABASE presence']);
  const config = path.join(configDir, 'presence.yaml');
  fs.writeFileSync(config, 'agent_offline_after_s: 1\ndelivery_lease_s: 2\nwait_time_interval_s: 0\n');
  const start = async (name) => {
    const s = new Server({ args: ['--node-id', name, '--config', config, '--webhook-timeout-ms', '500'], env: { PARLEY_MASTER_KEY: masterKey } });
    s.database = pg.url.replace(/\/parley$/, '/presence');
    await s.start();
    return s;
  };
  const p = await start('presence-a');
  const q = await start('presence-b');
  try {
    const agent = await createAgent(p, { queues: ['default'] });
    await agent.connect();
    agent.ws.on('error', () => {});
    await agent.signedIn();
    await agent.available();
    const status = async (node) => (await node.admin('GET', '/api/v1/agents')).json.agents.find((a) => a.username === agent.username)?.status;
    assert.equal(await status(q), 'available');
    // presence-b restarts: it forgets its own streams (none), not presence-a's.
    await q.stop();
    await q.start();
    await delay(2500); // past agent_offline_after_s and a sweep of each node
    assert.equal(await status(q), 'available', 'online through the restart of the other node');
    assert.equal(await status(p), 'available');
    // presence-a dies holding the stream: presence-b's sweep forgets its streams once its lease
    // expired, and the agent goes offline agent_offline_after_s later.
    const t0 = Date.now();
    await p.kill9();
    await waitFor(async () => (await status(q)) === 'offline', { timeout: 15000, interval: 200, message: 'agent offline after the node with the stream was killed' });
    const took = Date.now() - t0;
    assert.ok(took >= 2500, `offline ${took} ms after the kill: not before the lease (4 s, renewed each second) expired`);
    console.log(`# agent offline ${took} ms after the node holding the stream was killed`);
  } finally {
    await p.cleanup();
    await q.cleanup();
  }
});
