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
import { execFileSync, spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Server, Receiver, makeTempDir, removeTempDir, textEvent, uid, waitFor, delay, range, freePort } from './harness.mjs';
import { Agent, createAgent } from './agent_support.mjs';

const LEASE_S = 4;
const WEBHOOK_TIMEOUT_MS = 3000;
// The lease a node uses: delivery_lease_s, raised to twice the webhook timeout plus 3 s.
const LEASE_MS = Math.max(LEASE_S * 1000, 2 * WEBHOOK_TIMEOUT_MS + 3000);
let pg;
let nodes = [];
let hook;
let configDir;
const masterKey = crypto.randomBytes(32).toString('hex');

// --- a throwaway PostgreSQL server -------------------------------------------------------

function pgBinDir() {
  const root = '/usr/lib/postgresql';
  const versions = fs.existsSync(root) ? fs.readdirSync(root).sort((a, b) => Number(b) - Number(a)) : [];
  for (const v of versions) {
    const bin = path.join(root, v, 'bin');
    if (fs.existsSync(path.join(bin, 'initdb')) && fs.existsSync(path.join(bin, 'pg_ctl'))) return bin;
  }
  throw new Error('multinode: PostgreSQL server binaries not found under /usr/lib/postgresql; run scripts/install-deps');
}

async function startPostgres() {
  const bin = pgBinDir();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'parley-mn-pg-'));
  fs.chmodSync(dir, 0o755);
  const asRoot = process.getuid?.() === 0;
  if (asRoot) execFileSync('chown', ['postgres:', dir]);
  const run = (cmd, args) => {
    const argv = asRoot ? ['runuser', '-u', 'postgres', '--', cmd, ...args] : [cmd, ...args];
    const r = spawnSync(argv[0], argv.slice(1), { encoding: 'utf8', timeout: 90000 });
    if (r.status !== 0) throw new Error(`${argv.join(' ')} failed: ${r.stderr || r.stdout}`);
  };
  const data = path.join(dir, 'data');
  run(path.join(bin, 'initdb'), ['-D', data, '-U', 'parley', '--auth=trust', '-E', 'UTF8', '--locale=C.UTF-8', '-N']);
  const port = await freePort();
  const opts = `-c listen_addresses=127.0.0.1 -p ${port} -c unix_socket_directories=${dir} -c fsync=on -c synchronous_commit=on -c max_connections=100`;
  run(path.join(bin, 'pg_ctl'), ['-D', data, '-l', path.join(dir, 'server.log'), '-w', '-t', '60', '-o', opts, 'start']);
  const stop = () => {
    try {
      run(path.join(bin, 'pg_ctl'), ['-D', data, '-m', 'immediate', '-w', '-t', '30', 'stop']);
    } catch {
      // already gone
    }
    fs.rmSync(dir, { recursive: true, force: true });
  };
  try {
    execFileSync(path.join(bin, 'psql'), ['-qX', '-h', '127.0.0.1', '-p', String(port), '-U', 'parley', '-d', 'postgres', '-c', 'CREATE DATABASE parley']);
  } catch (e) {
    stop();
    throw e;
  }
  return { url: `postgresql://parley@127.0.0.1:${port}/parley`, stop };
}

// --- three nodes -------------------------------------------------------------------------

// A node on the shared database; it keeps its own folder (log) but not its own database.
async function startNode(name) {
  const server = new Server({
    args: ['--log-level', process.env.MN_LOG_LEVEL || 'info', '--node-id', name, '--config', path.join(configDir, 'parley.yaml'), '--webhook-timeout-ms', String(WEBHOOK_TIMEOUT_MS), '--retry-initial-ms', '50', '--retry-max-ms', '400'],
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
  fs.writeFileSync(path.join(configDir, 'parley.yaml'), `delivery_lease_s: ${LEASE_S}\noffer_timeout_s: 30\nwait_time_interval_s: 0\n`);
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
  const conn = await a.createConnection(opts);
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
