// deploy/nginx/parley.conf in front of a real server, with Debian's nginx and a self-signed
// certificate made here by openssl: TLS, the connection_id header (nginx drops names with `_`
// unless told), the WebSocket upgrade of the live events, the redirect from port 80 and the
// probes kept to localhost. Skips (loudly) without /usr/sbin/nginx or openssl.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import WebSocket from 'ws';
import { REPO, makeTempDir, sign, startFixture, textEvent, uid, waitFor, freePort } from './harness.mjs';
import { createAgent } from './agent_support.mjs';
import { nginxMissing, request, selfSigned, startNginx } from './nginx_support.mjs';

const missing = nginxMissing;

const cleanups = [];
after(async () => {
  for (const c of cleanups.reverse()) await c();
});

// The deployed file with this test's ports, certificate and upstream; IPv6 listens dropped.
function siteConfig({ parleyPort, httpPort, tlsPort, cert, key }) {
  let conf = fs.readFileSync(path.join(REPO, 'deploy/nginx/parley.conf'), 'utf8');
  const swap = (from, to) => {
    assert.ok(conf.includes(from), `deploy/nginx/parley.conf no longer has "${from}"`);
    conf = conf.split(from).join(to);
  };
  swap('server 127.0.0.1:8080;', `server 127.0.0.1:${parleyPort};`);
  swap('    listen 80;\n', `    listen 127.0.0.1:${httpPort};\n`);
  swap('    listen [::]:80;\n', '');
  swap('    listen 443 ssl http2;\n', `    listen 127.0.0.1:${tlsPort} ssl http2;\n`);
  swap('    listen [::]:443 ssl http2;\n', '');
  swap('/etc/ssl/certs/chat.example.com.pem', cert);
  swap('/etc/ssl/private/chat.example.com.key', key);
  return conf;
}

test('nginx with deploy/nginx/parley.conf: TLS, connection_id, WebSocket, redirect', { skip: missing ?? false }, async () => {
  const dir = makeTempDir('parley-nginx-');
  const { cert, key, ca } = selfSigned(dir);
  const fx = await startFixture({ receiver: 'nginx', bot: 'echo' });
  cleanups.push(() => fx.close());
  const [httpPort, tlsPort] = [await freePort(), await freePort()];
  const nginx = await startNginx(dir, siteConfig({ parleyPort: fx.server.port, httpPort, tlsPort, cert, key }));
  cleanups.push(nginx.stop);
  const base = `https://127.0.0.1:${tlsPort}`;
  await waitFor(async () => (await request(`${base}/healthz`, { ca })).status === 200, { message: 'nginx up' });

  // Port 80 redirects to TLS.
  const plain = await request(`http://127.0.0.1:${httpPort}/manager/`);
  assert.equal(plain.status, 301);
  assert.equal(plain.headers.location, `https://127.0.0.1/manager/`);

  // POST /messages through TLS, with the connection_id header reaching Parley: a wrong one is
  // refused by Parley (403 connection_mismatch), the right one accepted.
  const { conn, hook, server } = fx;
  const customer = `tls-${uid()}`;
  const post = (connectionId) =>
    request(`${base}/messages`, {
      method: 'POST',
      ca,
      headers: { 'content-type': 'application/json', authorization: `Bearer ${sign(conn)}`, connection_id: connectionId },
      body: JSON.stringify(textEvent(customer, 'through nginx')),
    });
  const wrong = await post('not-this-connection');
  assert.equal(wrong.status, 403, wrong.text);
  assert.equal(wrong.json.error.code, 'connection_mismatch');
  const ok = await post(conn.connection_id);
  assert.equal(ok.status, 200, ok.text);
  await waitFor(() => hook.deliveredTo(conn, customer).length === 1, { message: 'the echo of a message sent through nginx' });

  // The live events through TLS: sign in, open the WebSocket, see the agent's own status event.
  const agent = await createAgent(server, { queues: ['default'] });
  const frames = [];
  const ws = new WebSocket(`wss://127.0.0.1:${tlsPort}/api/v1/events`, { headers: { authorization: `Bearer ${agent.token}` }, ca });
  ws.on('message', (d) => frames.push(JSON.parse(d.toString())));
  await new Promise((resolve, reject) => {
    ws.once('open', resolve);
    ws.once('error', reject);
    ws.once('unexpected-response', (_q, res) => reject(new Error(`upgrade refused through nginx: ${res.statusCode}`)));
  });
  const status = await request(`${base}/api/v1/agents/me/status`, {
    method: 'PUT',
    ca,
    headers: { 'content-type': 'application/json', authorization: `Bearer ${agent.token}` },
    body: JSON.stringify({ status: 'available' }),
  });
  assert.equal(status.status, 200, status.text);
  await waitFor(() => frames.some((f) => f.type === 'agent.status' && f.agent.status === 'available'), {
    message: `agent.status through the WebSocket; got ${JSON.stringify(frames.map((f) => f.type))}`,
  });
  ws.close();

  // The access log saw the upgrade answered 101.
  await waitFor(() => / 101 /.test(fs.readFileSync(nginx.accessLog, 'utf8')), { message: 'the 101 in the access log' });
});
