// deploy/nginx/parley-nodes.conf in front of two `parley serve` nodes on one PostgreSQL
// database (issue 15), with Debian's nginx and a self-signed certificate: requests spread over
// the nodes, the agent's WebSocket through nginx, and one node stopped while traffic goes on
// through the other (nginx skips it; the agent's stream reconnects, with `after`, to the other).
// Each node has its own --node-id, as deploy/parley@.service gives it, and trusts nginx's address
// (trusted_proxies): the audit log shows the client's address from X-Forwarded-For. Skips
// (loudly) without /usr/sbin/nginx; FAILS without PostgreSQL's server binaries.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import WebSocket from 'ws';
import { REPO, Receiver, Server, makeTempDir, sign, textEvent, uid, waitFor, freePort, range } from './harness.mjs';
import { createAgent } from './agent_support.mjs';
import { nginxMissing, request, selfSigned, startNginx } from './nginx_support.mjs';
import { startPostgres } from './pg_support.mjs';

const cleanups = [];
after(async () => {
  for (const c of cleanups.reverse()) await c();
});

// The deployed file with this test's nodes, ports and certificate; IPv6 listens dropped.
function siteConfig({ ports, httpPort, tlsPort, cert, key }) {
  let conf = fs.readFileSync(path.join(REPO, 'deploy/nginx/parley-nodes.conf'), 'utf8');
  const swap = (from, to) => {
    assert.ok(conf.includes(from), `deploy/nginx/parley-nodes.conf no longer has "${from}"`);
    conf = conf.split(from).join(to);
  };
  const upstreams = ['10.0.0.11', '10.0.0.12', '10.0.0.13'].map((ip) => `    server ${ip}:8080 max_fails=2 fail_timeout=10s;\n`);
  upstreams.forEach((line, i) => swap(line, i < ports.length ? line.replace(/10\.0\.0\.1\d:8080/, `127.0.0.1:${ports[i]}`) : ''));
  swap('    listen 80;\n', `    listen 127.0.0.1:${httpPort};\n`);
  swap('    listen [::]:80;\n', '');
  swap('    listen 443 ssl http2;\n', `    listen 127.0.0.1:${tlsPort} ssl http2;\n`);
  swap('    listen [::]:443 ssl http2;\n', '');
  swap('/etc/ssl/certs/chat.example.com.pem', cert);
  swap('/etc/ssl/private/chat.example.com.key', key);
  return conf;
}

test('nginx with deploy/nginx/parley-nodes.conf: requests spread over two nodes, the WebSocket, one node stopped', { skip: nginxMissing ?? false }, async () => {
  const pg = await startPostgres();
  cleanups.push(() => pg.stop());
  const masterKey = crypto.randomBytes(32).toString('hex');
  const nodes = [];
  for (const id of ['node-1', 'node-2']) {
    const node = new Server({ args: ['--node-id', id], env: { PARLEY_MASTER_KEY: masterKey, PARLEY_TRUSTED_PROXIES: '127.0.0.1/32' } });
    node.nodeId = id;
    node.database = pg.url;
    if (nodes.length) node.adminToken = nodes[0].adminToken; // one admin token for the site
    await node.start();
    cleanups.push(() => node.cleanup());
    nodes.push(node);
  }
  const hook = await Receiver.start('nginx-nodes');
  cleanups.push(() => hook.close());

  const dir = makeTempDir('parley-nginx-nodes-');
  const { cert, key, ca } = selfSigned(dir);
  const [httpPort, tlsPort] = [await freePort(), await freePort()];
  const nginx = await startNginx(dir, siteConfig({ ports: nodes.map((n) => n.port), httpPort, tlsPort, cert, key }));
  cleanups.push(nginx.stop);
  const base = `https://127.0.0.1:${tlsPort}`;
  await waitFor(async () => (await request(`${base}/readyz`, { ca })).status === 200, { message: 'nginx up' });
  // Which node answered: /metrics names it (the probes are allowed from localhost).
  const nodeOf = async () => /parley_node_info\{node_id="([^"]+)"\}/.exec((await request(`${base}/metrics`, { ca })).text)?.[1];

  // Requests spread over the two nodes.
  const seen = [];
  for (let i = 0; i < 8; i++) seen.push(await nodeOf());
  assert.deepEqual([...new Set(seen)].sort(), ['node-1', 'node-2'], `nodes that answered: ${seen}`);

  // A connection made through nginx (on either node) is known to both within a second; a
  // customer's messages through nginx keep their order and seq, whichever node took each.
  // The admin calls from 127.0.0.2 (another loopback address: not nginx's, so not a trusted
  // proxy) with an X-Forwarded-For of its own, which nginx keeps and appends the caller to.
  const connName = `nx-${uid()}`;
  const created = await request(`${base}/api/v1/connections`, {
    method: 'POST',
    ca,
    localAddress: '127.0.0.2',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${nodes[0].adminToken}`, 'x-forwarded-for': '203.0.113.9' },
    body: JSON.stringify({ name: connName, client_webhook: hook.url, bot: 'none' }),
  });
  assert.equal(created.status, 201, created.text);
  const conn = created.json;
  // X-Forwarded-For through nginx: the node (whichever answered) recorded the caller's own
  // address, the rightmost one that is not a trusted proxy, not nginx's 127.0.0.1 nor the
  // address the caller claimed.
  const audited = await waitFor(async () => (await nodes[1].admin('GET', '/api/v1/audit?limit=20')).json.entries.find((e) => e.action === 'connection.create' && e.target === connName), {
    message: 'the audit entry of the connection made through nginx',
  });
  assert.equal(audited.address, '127.0.0.2', `the audit entry: ${JSON.stringify(audited)}`);
  hook.trust(conn);
  const post = (customer, text) =>
    request(`${base}/messages`, {
      method: 'POST',
      ca,
      headers: { 'content-type': 'application/json', authorization: `Bearer ${sign(conn)}`, connection_id: conn.connection_id },
      body: JSON.stringify(textEvent(customer, text)),
    });
  await waitFor(async () => (await post(`probe-${uid()}`, 'known?')).status === 200 && (await post(`probe-${uid()}`, 'known?')).status === 200, {
    timeout: 2000,
    message: 'the connection known to both nodes',
  });

  // The agent's live events through nginx (TLS, WebSocket upgrade), signed in on node 1.
  const agent = await createAgent(nodes[0], { queues: ['default'], max_chats: 3 });
  const frames = [];
  let closed;
  const openStream = async (after) => {
    const ws = new WebSocket(`wss://127.0.0.1:${tlsPort}/api/v1/events${after === undefined ? '' : `?after=${after}`}`, {
      headers: { authorization: `Bearer ${agent.token}` },
      ca,
    });
    ws.on('message', (d) => frames.push(JSON.parse(d.toString())));
    closed = new Promise((resolve) => ws.once('close', (code) => resolve(code)));
    await new Promise((resolve, reject) => {
      ws.once('open', resolve);
      ws.once('error', reject);
      ws.once('unexpected-response', (_q, res) => reject(new Error(`upgrade refused through nginx: ${res.statusCode}`)));
    });
    return ws;
  };
  let ws = await openStream();
  agent.ws = ws;
  await agent.signedIn(); // the node records the stream just after the handshake
  const status = await request(`${base}/api/v1/agents/me/status`, {
    method: 'PUT',
    ca,
    headers: { 'content-type': 'application/json', authorization: `Bearer ${agent.token}` },
    body: JSON.stringify({ status: 'available' }),
  });
  assert.equal(status.status, 200, status.text);
  const customer = `nx-${uid().slice(0, 8)}`;
  for (const m of range(6)) assert.equal((await post(customer, `m${m}`)).status, 200);
  const offered = await waitFor(() => frames.find((f) => f.type === 'conversation.offered' && f.conversation.customer_id === customer), {
    message: () => `the offer through the WebSocket; got ${JSON.stringify(frames)}`,
  });
  const accepted = await request(`${base}/api/v1/conversations/${offered.conversation.id}/accept`, {
    method: 'POST',
    ca,
    headers: { authorization: `Bearer ${agent.token}` },
  });
  assert.equal(accepted.status, 200, accepted.text);
  const [conv] = await nodes[1].conversationsOf(conn, customer);
  assert.deepEqual(
    (await nodes[1].conversation(conv.id)).transcript.filter((e) => e.direction === 'in').map((e) => [e.seq, e.payload.text[0]]),
    range(6).map((m) => [m, `m${m}`]),
  );

  // The node holding the stream stops (SIGTERM: it drains and exits 0). Traffic goes on through
  // the other: every request answered, all by it; the stream closes with 1001 and reconnects
  // through nginx with `after`, missing nothing.
  const lastSeq = () => frames.reduce((m, f) => (typeof f.seq === 'number' && f.seq > m ? f.seq : m), 0);
  // The node holding the stream is the one stopped.
  const streams = async (n) => Number(/^parley_event_streams (\d+)/m.exec((await n.request('GET', '/metrics')).text)[1]);
  const victim = (await streams(nodes[0])) > 0 ? nodes[0] : nodes[1];
  const survivor = nodes.find((n) => n !== victim);
  const stopped = await victim.stop();
  const t0 = Date.now();
  const answered = [];
  for (const m of range(6, 7)) {
    const r = await post(customer, `m${m}`);
    assert.equal(r.status, 200, r.text);
    answered.push(await nodeOf());
  }
  assert.deepEqual([...new Set(answered)], [survivor.nodeId], `after the stop: ${answered}`);
  assert.equal(await closed, 1001, 'the stopped node closed the stream with 1001');
  ws = await openStream(lastSeq());
  await waitFor(() => frames.some((f) => f.type === 'conversation.message' && f.entry?.payload?.text?.[0] === 'm12'), {
    message: () => `m12 on the stream after the stop; got ${JSON.stringify(frames.map((f) => f.type))}`,
  });
  const texts = frames.filter((f) => f.type === 'conversation.message' && f.conversation?.id === offered.conversation.id).map((f) => f.entry.payload.text[0]);
  assert.deepEqual(texts.filter((t) => /^m(7|8|9|10|11|12)$/.test(t)), range(6, 7).map((m) => `m${m}`), 'the messages after the stop, once each, in order');
  console.log(`# ${victim.nodeId} (the stream's) stopped in ${stopped.ms} ms; 6 messages through ${survivor.nodeId}, m12 on the stream reconnected through nginx ${Date.now() - t0} ms after the stop`);
  ws.close();
  // The upgrade went through nginx (101 in its access log).
  await waitFor(() => / 101 /.test(fs.readFileSync(nginx.accessLog, 'utf8')), { message: 'the 101 in the access log' });
});
