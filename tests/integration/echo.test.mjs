// The full loop: a customer text goes in through POST /messages, the echo bot's reply comes
// out at a real webhook, signed, with event_id, seq, from and message_id.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startFixture, jwt, uid, waitFor, textEvent, range } from './harness.mjs';

let fixture, server, hook, conn;

before(async () => {
  fixture = await startFixture({
    receiver: 'echo',
    server: { args: ['--retry-initial-ms', '20', '--retry-max-ms', '200'] },
  });
  ({ server, hook, conn } = fixture);
});

after(() => fixture?.close());

test('healthz and readyz answer ok', async () => {
  for (const p of ['/healthz', '/readyz']) {
    const r = await server.request('GET', p);
    assert.equal(r.status, 200, `${p}: ${r.text}`);
    assert.equal(r.json?.status, 'ok', p);
  }
});

test('the server prints exactly one line on stdout: listening on http://127.0.0.1:PORT', () => {
  assert.deepEqual(server.stdoutLines, [`listening on http://127.0.0.1:${server.port}`]);
});

test('a customer text is echoed to the webhook, signed, with event_id, seq 1, from bot', async () => {
  const cid = `c-${uid()}`;
  const ev = textEvent(cid, ['hello parley', 'second line']);
  const r = await server.post(conn, ev);
  assert.equal(r.status, 200, r.text);
  assert.deepEqual(r.json, { status: 'accepted' });
  const [got] = await waitFor(() => hook.deliveredTo(conn, cid).length && hook.deliveredTo(conn, cid), {
    message: 'the echo at the webhook',
  });
  assert.equal(got.type, 'text');
  assert.equal(got.customer_id, cid);
  assert.deepEqual(got.text, ['hello parley', 'second line']);
  assert.equal(got.seq, 1);
  assert.equal(got.from, 'bot');
  assert.equal(typeof got.event_id, 'string');
  assert.ok(got.event_id.length > 0);
  assert.equal(typeof got.message_id, 'string');
  assert.ok(got.message_id.length > 0);
  assert.notEqual(got.message_id, ev.message_id, 'the reply has its own message_id');
  const attempt = hook.attemptsFor(conn, cid)[0];
  assert.equal(attempt.claims.iss, conn.connection_id);
  assert.equal(hook.rejected.length, 0, `rejected outbound requests: ${JSON.stringify(hook.rejected)}`);
});

test('an outbound token is HS256 over the connection secret, iss = connection id, iat = now', async () => {
  const cid = `c-${uid()}`;
  await server.send(conn, textEvent(cid, 'check my token'));
  await waitFor(() => hook.deliveredTo(conn, cid).length, { message: 'the echo' });
  const a = hook.attemptsFor(conn, cid)[0];
  assert.ok(Math.abs(a.claims.iat - Date.now() / 1000) < 30, 'iat is now');
  assert.equal(a.claims.iss, conn.connection_id);
  // the receiver verified it with this connection's secret; another secret must not verify it
  const other = await server.createConnection({ webhook: hook.url });
  const token = a.token;
  assert.throws(() => jwt.verify(token, other.jwt_secret, { algorithms: ['HS256'] }));
  assert.equal(jwt.verify(token, conn.jwt_secret, { algorithms: ['HS256'], maxAge: 300 }).iss, conn.connection_id);
});

test('seq counts 1, 2, 3 per conversation and conversations count separately', async () => {
  const a = `a-${uid()}`;
  const b = `b-${uid()}`;
  for (let i = 1; i <= 3; i++) {
    await server.send(conn, textEvent(a, `a${i}`));
    await server.send(conn, textEvent(b, `b${i}`));
  }
  await waitFor(() => hook.deliveredTo(conn, a).length >= 3 && hook.deliveredTo(conn, b).length >= 3, {
    message: 'three echoes each',
  });
  assert.deepEqual(hook.deliveredTo(conn, a).map((e) => [e.seq, e.text[0]]), [[1, 'a1'], [2, 'a2'], [3, 'a3']]);
  assert.deepEqual(hook.deliveredTo(conn, b).map((e) => [e.seq, e.text[0]]), [[1, 'b1'], [2, 'b2'], [3, 'b3']]);
  const ids = [...hook.deliveredTo(conn, a), ...hook.deliveredTo(conn, b)].map((e) => e.event_id);
  assert.equal(new Set(ids).size, ids.length, 'event_ids are unique');
});

test('a postback is echoed as its payload', async () => {
  const cid = `c-${uid()}`;
  await server.send(conn, { type: 'text', customer_id: cid, message_id: uid(), postback: 'PAYLOAD_42' });
  const [got] = await waitFor(() => hook.deliveredTo(conn, cid).length && hook.deliveredTo(conn, cid), {
    message: 'the echo of the postback',
  });
  assert.deepEqual(got.text, ['PAYLOAD_42']);
});

test('numeric ids and a lone string are accepted; ids come back as strings', async () => {
  const cid = Math.floor(Math.random() * 1e12);
  await server.send(conn, { type: 'text', customer_id: cid, message_id: Math.floor(Math.random() * 1e12), text: 'lone' });
  const [got] = await waitFor(() => hook.deliveredTo(conn, String(cid)).length && hook.deliveredTo(conn, String(cid)), {
    message: 'the echo to a numeric customer',
  });
  assert.equal(got.customer_id, String(cid));
  assert.deepEqual(got.text, ['lone']);
});

test('a connection with bot "none" queues the customer for a person: only the wait time is sent', async () => {
  const quiet = await server.createConnection({ webhook: hook.url, bot: 'none' });
  hook.trust(quiet);
  const cid = `q-${uid()}`;
  await server.send(quiet, textEvent(cid, 'anyone there?'));
  // Something observable must happen first so that "nothing" is not just "not yet": an echo
  // connection's reply posted after it arrives.
  const probe = `p-${uid()}`;
  await server.send(conn, textEvent(probe, 'probe'));
  await waitFor(() => hook.deliveredTo(conn, probe).length, { message: 'the probe echo' });
  const convs = await server.conversationsOf(quiet, cid);
  assert.equal(convs.length, 1, 'the message opened a conversation');
  assert.equal(convs[0].state, 'queued');
  assert.equal(convs[0].queue, 'default');
  // No agent is signed in: the customer is told their place rather than an estimate.
  await waitFor(() => hook.deliveredTo(quiet, cid).length === 1, { message: 'the wait notice' });
  const [wait] = hook.deliveredTo(quiet, cid);
  assert.equal(wait.type, 'text');
  assert.deepEqual(wait.text, ['All our agents are busy right now. You are number 1 in the queue.']);
  assert.equal(wait.from, 'system');
});

test('many concurrent conversations each get their echo', async () => {
  const customers = range(20).map((i) => `m${i}-${uid()}`);
  await Promise.all(customers.map((c) => server.send(conn, textEvent(c, `hi from ${c}`))));
  await waitFor(() => customers.every((c) => hook.deliveredTo(conn, c).length === 1), {
    message: 'twenty echoes',
  });
  for (const c of customers) assert.deepEqual(hook.deliveredTo(conn, c)[0].text, [`hi from ${c}`]);
  assert.deepEqual(hook.orderViolations(), []);
  assert.equal(hook.rejected.length, 0);
});

test('/metrics shows what the store did: commits, the jobs they carried, commit-time histograms', async () => {
  const metric = (text, name) => {
    const line = text.split('\n').find((l) => l.startsWith(`${name} `));
    assert.ok(line, `${name} in /metrics:\n${text}`);
    return Number(line.slice(name.length + 1));
  };
  const before = await server.request('GET', '/metrics');
  assert.equal(before.status, 200, before.text);
  const commits0 = metric(before.text, 'parley_store_commits_total');
  const cid = `c-${uid()}`;
  for (const line of ['one', 'two', 'three']) {
    const r = await server.post(conn, textEvent(cid, [line]));
    assert.equal(r.status, 200, r.text);
  }
  await waitFor(() => hook.deliveredTo(conn, cid).length === 3, { message: 'three echoes' });
  const m = await server.request('GET', '/metrics');
  const commits = metric(m.text, 'parley_store_commits_total');
  // Three messages, each acknowledged only after its commit: at least three more commits.
  assert.ok(commits >= commits0 + 3, `commits ${commits0} -> ${commits}`);
  assert.ok(metric(m.text, 'parley_store_committed_jobs_total') >= commits);
  assert.equal(metric(m.text, 'parley_store_failed_commits_total'), 0);
  for (const h of ['parley_store_batch_seconds', 'parley_store_commit_seconds']) {
    assert.match(m.text, new RegExp(`# TYPE ${h} histogram\\n`));
    // Every commit is counted once, in the +Inf bucket and in _count.
    const inf = metric(m.text, `${h}_bucket{le="+Inf"}`);
    assert.equal(metric(m.text, `${h}_count`), inf, h);
    assert.ok(inf >= commits, `${h}: ${inf} observations for ${commits} commits`);
    assert.ok(metric(m.text, `${h}_sum`) > 0, `${h}_sum`);
  }
  assert.ok(metric(m.text, 'parley_store_wal_frames') >= 0);
});
