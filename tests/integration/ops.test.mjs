// The operator's kit: `parley backup` under load and `parley restore`, the /metrics additions,
// `parley status`, `log_format: json` with nothing secret at info, and the served OpenAPI document.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { REPO, Receiver, Server, delay, makeTempDir, runCli, startFixture, textEvent, uid, waitFor } from './harness.mjs';
import { readyAgent, startRouting } from './agent_support.mjs';
import { OPENAPI_FILE } from './openapi.mjs';

const cleanups = [];
after(async () => {
  for (const c of cleanups.reverse()) await c();
});

const masterKey = crypto.randomBytes(32).toString('hex');

// All inbound message_ids of a conversation's transcript, and whether each text got its echo.
async function transcriptOf(server, id) {
  const c = await server.conversation(id);
  const inbound = c.transcript.filter((e) => e.direction === 'in' && e.type === 'text');
  const outbound = c.transcript.filter((e) => e.direction === 'out');
  return { conversation: c, messageIds: inbound.map((e) => e.message_id), outbound };
}

test('a backup taken under load restores every acknowledged message and delivery state', async () => {
  const hook = await Receiver.start('backup');
  cleanups.push(() => hook.close());
  // Customers whose name starts with "dead" have a webhook that always fails: their replies go
  // dead within a second or two; everyone else's are delivered.
  hook.policy = (e) => (String(e.customer_id).startsWith('dead') ? { status: 500 } : undefined);
  const opts = {
    args: ['--retry-initial-ms', '50', '--retry-max-ms', '100', '--retry-for-seconds', '1'],
    env: { PARLEY_MASTER_KEY: masterKey },
  };
  const server = await Server.start(opts);
  cleanups.push(() => server.cleanup());
  const conn = await server.createConnection({ webhook: hook.url, bot: 'echo' });
  hook.trust(conn);

  // Phase 1: settled traffic, known before the backup starts.
  const customers = [...Array.from({ length: 8 }, (_, i) => `ok${i}-${uid()}`), `dead-${uid()}`];
  const acked = new Map(); // message_id -> customer
  for (let round = 0; round < 5; round++) {
    await Promise.all(
      customers.map(async (c) => {
        const ev = textEvent(c, `round ${round}`);
        await server.send(conn, ev);
        acked.set(ev.message_id, c);
      }),
    );
  }
  await waitFor(
    async () => {
      const all = await server.deliveries(conn);
      return all.length === acked.size && all.every((d) => d.status !== 'pending') && all;
    },
    { timeout: 15000, message: 'every reply delivered or dead' },
  );
  const before = new Map((await server.deliveries(conn)).map((d) => [d.event_id, d.status]));
  assert.equal([...before.values()].filter((s) => s === 'dead').length, 5, 'the failing customer has 5 dead replies');

  // Phase 2: load while the backup runs.
  const backupFile = path.join(makeTempDir('parley-backup-'), 'parley-backup.db');
  let loading = true;
  const duringLoad = new Map();
  const run = uid();
  const load = (async () => {
    let n = 0;
    while (loading) {
      const batch = Array.from({ length: 4 }, (_, i) => {
        const c = `load${i}-${run}`;
        const ev = textEvent(c, `load ${n++}`);
        return server.send(conn, ev).then(() => duringLoad.set(ev.message_id, c));
      });
      await Promise.all(batch);
    }
  })();
  await waitFor(() => duringLoad.size >= 20, { message: 'load running' });
  const backup = await runCli(['backup', '--database', `sqlite://${server.dbPath}`, '--to', backupFile]);
  const ackedWhileBackingUp = duringLoad.size;
  loading = false;
  await load;
  assert.equal(backup.code, 0, `backup: ${backup.stderr}`);
  assert.match(backup.stdout, /written to .*parley-backup\.db: \d+ bytes/);
  assert.ok(ackedWhileBackingUp >= 20);

  // A second backup to the same file is refused.
  const again = await runCli(['backup', '--database', `sqlite://${server.dbPath}`, '--to', backupFile]);
  assert.notEqual(again.code, 0);
  assert.match(again.stderr, /exists/);
  // Restore refuses to replace the database of a running server, even with --force.
  const busy = await runCli(['restore', '--database', `sqlite://${server.dbPath}`, '--from', backupFile, '--force']);
  assert.notEqual(busy.code, 0, busy.stdout);
  assert.match(busy.stderr, /in use|stop the server/);

  await server.stop();
  // Without --force an existing database is not replaced.
  const refused = await runCli(['restore', '--database', `sqlite://${server.dbPath}`, '--from', backupFile]);
  assert.notEqual(refused.code, 0);
  assert.match(refused.stderr, /--force/);

  // The restore drill: into a fresh path, then a server on it with the same master key.
  const restoredDir = makeTempDir('parley-restored-');
  const restoredPath = path.join(restoredDir, 'parley.db');
  const restore = await runCli(['restore', '--database', `sqlite://${restoredPath}`, '--from', backupFile]);
  assert.equal(restore.code, 0, restore.stderr);
  const restored = new Server(opts);
  restored.dbPath = restoredPath;
  restored.database = `sqlite://${restoredPath}`;  // start() opens `database`
  restored.adminToken = server.adminToken;
  await restored.start();
  cleanups.push(() => restored.cleanup());

  // Every message acknowledged before the backup began is there, and every delivery state.
  const conversations = await restored.conversations(undefined, { connectionId: conn.connection_id });
  const found = new Set();
  for (const c of conversations) {
    const t = await transcriptOf(restored, c.id);
    for (const id of t.messageIds) found.add(id);
    // A message and its echo are one transaction: never one without the other.
    assert.equal(t.outbound.length, t.messageIds.length, `conversation of ${c.customer_id}: every message has its reply`);
  }
  for (const [id, customer] of acked) assert.ok(found.has(id), `message ${id} of ${customer} is restored`);
  const after = new Map((await restored.deliveries(conn)).map((d) => [d.event_id, d.status]));
  for (const [id, status] of before) assert.equal(after.get(id), status, `delivery ${id} keeps its state`);
  const duringFound = [...duringLoad.keys()].filter((id) => found.has(id)).length;
  assert.ok(duringFound > 0, 'messages written during the backup are in it up to its snapshot');

  // The sealed JWT secret came back too: the restored server takes the connection's tokens.
  const c = `after-${uid()}`;
  await restored.send(conn, textEvent(c, 'after the restore'));
  await waitFor(() => hook.deliveredTo(conn, c).length === 1, { message: 'a reply from the restored server' });
});

test('/metrics shows queues, agents, deliveries, sessions, sign-in failures and accept latency', async () => {
  const fx = await startRouting({ offer_timeout_s: 30 });
  cleanups.push(() => fx.close());
  const { server, direct, hook } = fx;
  const agent = await readyAgent(server, { queues: ['default'] });
  const bad = await server.request('POST', '/api/v1/auth/login', {
    headers: { 'content-type': 'application/json' },
    body: { username: agent.username, password: 'wrong-password-123' },
  });
  assert.equal(bad.status, 401);

  // A customer of the bot-less connection waits in "default" and is offered to the agent.
  const customer = `m-${uid()}`;
  await server.send(direct, textEvent(customer, 'I need a person'));
  const offered = await agent.event((f) => f.type === 'conversation.offered');
  await delay(300);
  await agent.ok('POST', `/api/v1/conversations/${offered.conversation.id}/accept`);
  // The agent steps away: a second customer keeps waiting.
  await agent.ok('PUT', '/api/v1/agents/me/status', { status: 'away' });
  await server.send(direct, textEvent(`w-${uid()}`, 'anyone?'));
  hook.mode = { status: 503 };
  await agent.ok('POST', `/api/v1/conversations/${offered.conversation.id}/messages`, { type: 'text', text: ['hello'] }, 202);
  await waitFor(async () => (await server.deliveries(direct, 'failed')).length > 0, { message: 'a failing delivery' });

  const r = await server.request('GET', '/metrics');
  assert.equal(r.status, 200);
  assert.match(r.headers.get('content-type'), /^text\/plain; version=0\.0\.4/);
  const m = r.text;
  const value = (re) => {
    const hit = m.match(re);
    assert.ok(hit, `missing ${re}\n${m}`);
    return Number(hit[1]);
  };
  assert.equal(value(/^parley_build_info\{version="[^"]+"\} (\d+)$/m), 1);
  assert.ok(value(/^parley_process_start_time_seconds (\S+)$/m) > 1.7e9);
  assert.equal(value(/^parley_ready (\d+)$/m), 1);
  assert.equal(value(/^parley_queue_waiting\{queue="default"\} (\d+)$/m), 1);
  assert.ok(value(/^parley_queue_longest_wait_seconds\{queue="default"\} (\d+)$/m) >= 0);
  assert.equal(value(/^parley_queue_active\{queue="default"\} (\d+)$/m), 1);
  assert.equal(value(/^parley_queue_answered_total\{queue="default"\} (\d+)$/m), 1);
  assert.equal(value(/^parley_queue_offers_total\{queue="default"\} (\d+)$/m), 1);
  assert.equal(value(/^parley_queue_offers_rung_out_total\{queue="default"\} (\d+)$/m), 0);
  assert.equal(value(/^parley_queue_abandoned_total\{queue="default"\} (\d+)$/m), 0);
  assert.equal(value(/^parley_queue_service_level_seconds\{queue="default"\} (\d+)$/m), 60);
  assert.equal(value(/^parley_queue_service_level_ratio\{queue="default"\} (\S+)$/m), 1);
  assert.equal(value(/^parley_agents\{status="away"\} (\d+)$/m), 1);
  assert.equal(value(/^parley_agents\{status="available"\} (\d+)$/m), 0);
  assert.equal(value(/^parley_event_streams (\d+)$/m), 1);
  assert.ok(value(/^parley_sessions (\d+)$/m) >= 1);
  assert.equal(value(/^parley_sign_in_failures_total\{reason="invalid_credentials"\} (\d+)$/m), 1);
  assert.equal(value(/^parley_accept_latency_seconds_count (\d+)$/m), 1);
  assert.ok(value(/^parley_accept_latency_seconds_sum (\S+)$/m) >= 0.3, 'the accept came 300 ms after the offer');
  assert.equal(value(/^parley_accept_latency_seconds_bucket\{le="0.5"\} (\d+)$/m), 1);
  // The accept's own answer: one, well under the 300 ms the agent took to click.
  assert.equal(value(/^parley_accept_answer_seconds_count (\d+)$/m), 1);
  assert.ok(value(/^parley_accept_answer_seconds_sum (\S+)$/m) < 0.3);
  assert.equal(value(/^parley_accept_answer_seconds_bucket\{le="\+Inf"\} (\d+)$/m), 1);
  // The store's jobs waited in their queues: requests' writes (the accept among them), the
  // background lane's (the failing delivery's outcomes, the routing sweep's slices) and reads
  // (sessions).
  for (const kind of ['write', 'background', 'read']) {
    const count = value(new RegExp(`^parley_store_wait_seconds_count\\{kind="${kind}"\\} (\\d+)$`, 'm'));
    assert.ok(count >= 1, `${kind} jobs counted`);
    assert.equal(value(new RegExp(`^parley_store_wait_seconds_bucket\\{kind="${kind}",le="\\+Inf"\\} (\\d+)$`, 'm')), count);
    assert.ok(value(new RegExp(`^parley_store_wait_seconds_sum\\{kind="${kind}"\\} (\\S+)$`, 'm')) >= 0);
  }
  // A database file has a syncer, and the writer's own checkpoints are a histogram beside it
  // (none need have run yet: a few jobs leave the WAL far below a checkpoint).
  assert.ok(value(/^parley_store_sync_seconds_count (\d+)$/m) >= 1);
  const checkpoints = value(/^parley_store_writer_checkpoint_seconds_count (\d+)$/m);
  assert.ok(checkpoints >= 0);
  assert.equal(value(/^parley_store_writer_checkpoint_seconds_bucket\{le="\+Inf"\} (\d+)$/m), checkpoints);
  const id = direct.connection_id;
  assert.ok(value(new RegExp(`^parley_deliveries\\{connection_id="${id}",state="pending"\\} (\\d+)$`, 'm')) >= 1);
  assert.equal(value(new RegExp(`^parley_deliveries\\{connection_id="${id}",state="dead"\\} (\\d+)$`, 'm')), 0);
  assert.ok(value(new RegExp(`^parley_deliveries_failing\\{connection_id="${id}"\\} (\\d+)$`, 'm')) >= 1);
  assert.ok(value(new RegExp(`^parley_delivery_oldest_pending_age_seconds\\{connection_id="${id}"\\} (\\S+)$`, 'm')) >= 0);
  assert.match(m, new RegExp(`^parley_connection_info\\{connection_id="${id}",name="[^"]+"\\} 1$`, 'm'));
  // Every sample's name was announced with HELP and TYPE, once.
  const types = [...m.matchAll(/^# TYPE (\S+) /gm)].map((x) => x[1]);
  assert.equal(new Set(types).size, types.length, 'one TYPE line per metric');
  // ... and every family's samples come in one group after it (the text format's rule).
  const done = new Set();
  let current = null;
  for (const line of m.split('\n').filter(Boolean)) {
    const family = line.startsWith('#')
      ? line.split(' ')[2]
      : types.includes(line.split(/[{ ]/)[0])
        ? line.split(/[{ ]/)[0]
        : line.split(/[{ ]/)[0].replace(/_(bucket|sum|count)$/, '');
    assert.ok(types.includes(family), `no TYPE for ${line}`);
    if (family !== current) {
      assert.ok(!done.has(family), `the samples of ${family} are split: ${line}`);
      if (current) done.add(current);
      current = family;
    }
  }

  // parley status: one screen from the same figures.
  const status = await runCli(['status', '--server', server.url]);
  assert.equal(status.code, 0, status.stderr);
  assert.match(status.stdout, /^Parley \S+ at http:\/\/127\.0\.0\.1:\d+: ready, up \d+s/);
  assert.match(status.stdout, /Agents: +0 available, 1 away, \d+ offline/);
  assert.match(status.stdout, /default +1 +\d+s +1 +0\/1/);
  assert.match(status.stdout, /Deliveries: +\d+ pending \(\d+ failing\), 0 dead/);
  hook.mode = { status: 200 };
  const down = await runCli(['status', '--server', 'http://127.0.0.1:1']);
  assert.notEqual(down.code, 0);
});

test('log_format json: one object a line, ids where known, no customer text or secret at info', async () => {
  const secretWords = `zebra-${uid()}`;
  const password = `pw-${uid()}`;
  const fx = await startFixture({
    receiver: 'logs',
    server: {
      args: ['--log-format', 'json', '--retry-initial-ms', '20', '--retry-max-ms', '50', '--retry-for-seconds', '1'],
      env: { PARLEY_MASTER_KEY: masterKey },
    },
  });
  cleanups.push(() => fx.close());
  const { server, hook, conn } = fx;
  hook.mode = { status: 500 };
  const customer = `cust-${uid()}`;
  await server.send(conn, textEvent(customer, `my card number is ${secretWords}`, { customer_name: `Name ${secretWords}` }));
  const user = `u${uid().slice(0, 8)}`;
  const created = await server.admin('POST', '/api/v1/users', { username: user, password, display_name: 'U', role: 'agent', queues: [], max_chats: 1 });
  assert.equal(created.status, 201, created.text);
  await server.request('POST', '/api/v1/auth/login', { headers: { 'content-type': 'application/json' }, body: { username: user, password: `${password}x` } });
  const [conversation] = await server.conversationsOf(conn, customer);
  await waitFor(() => server.logTail.some((l) => l.includes('dead-lettered')), { message: 'a dead-letter log line' });

  const lines = fs.readFileSync(server.logPath, 'utf8').split('\n').filter((l) => l && !l.startsWith('--- start'));
  assert.ok(lines.length >= 3, lines.join('\n'));
  const objects = lines.map((l) => {
    try {
      return JSON.parse(l);
    } catch {
      assert.fail(`not one JSON object: ${l}`);
    }
  });
  for (const o of objects) {
    assert.match(o.time, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    assert.ok(['trace', 'debug', 'info', 'warning', 'error', 'critical'].includes(o.level), o.level);
    assert.equal(typeof o.msg, 'string');
  }
  const dead = objects.find((o) => o.msg.includes('dead-lettered'));
  assert.equal(dead.conversation_id, conversation.id);
  const text = lines.join('\n');
  for (const secret of [secretWords, password, conn.jwt_secret, server.adminToken, masterKey]) {
    assert.ok(!text.includes(secret), `the log holds a secret or customer text (${secret.slice(0, 6)}…)`);
  }
});

test('the OpenAPI document is served, and the reference page with it', async () => {
  const fx = await startFixture({ receiver: 'openapi' });
  cleanups.push(() => fx.close());
  const r = await fx.server.request('GET', '/api/v1/openapi.json');
  assert.equal(r.status, 200);
  assert.match(r.headers.get('content-type'), /application\/json/);
  assert.deepEqual(r.json, JSON.parse(fs.readFileSync(OPENAPI_FILE, 'utf8')));
  assert.equal(r.json.openapi, '3.1.0');
  const page = await fx.server.request('GET', '/api/');
  assert.equal(page.status, 200);
  assert.match(page.text, /<script type="module" src="\/api\/main.js">/);
  const manager = await fx.server.request('GET', '/manager/');
  assert.match(manager.text, /href="\/api\/"/);
  // docs/api.md points to the document.
  assert.match(fs.readFileSync(path.join(REPO, 'docs/api.md'), 'utf8'), /openapi\.json/);
});
