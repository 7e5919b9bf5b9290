// deploy/nginx/parley.conf in front of a real server, with Debian's nginx and a self-signed
// certificate made here by openssl: TLS, the connection_id header (nginx drops names with `_`
// unless told), the WebSocket upgrade of the live events, the redirect from port 80 and the
// probes kept to localhost. Skips (loudly) without /usr/sbin/nginx or openssl.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import https from 'node:https';
import http from 'node:http';
import path from 'node:path';
import WebSocket from 'ws';
import { REPO, makeTempDir, sign, startFixture, textEvent, uid, waitFor, freePort } from './harness.mjs';
import { createAgent } from './agent_support.mjs';

const NGINX = '/usr/sbin/nginx';
const missing = !fs.existsSync(NGINX) ? `${NGINX} is missing (scripts/install-deps installs nginx)` : null;

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

function request(url, { method = 'GET', headers = {}, body, ca } = {}) {
  return new Promise((resolve, reject) => {
    const u = new URL(url);
    const mod = u.protocol === 'https:' ? https : http;
    const req = mod.request(u, { method, headers, ca, timeout: 10000 }, (res) => {
      let text = '';
      res.on('data', (d) => (text += d));
      res.on('end', () => {
        let json = null;
        try {
          json = JSON.parse(text);
        } catch {
          // not JSON
        }
        resolve({ status: res.statusCode, headers: res.headers, text, json });
      });
    });
    req.on('error', reject);
    req.on('timeout', () => req.destroy(new Error('timeout')));
    if (body !== undefined) req.write(body);
    req.end();
  });
}

test('nginx with deploy/nginx/parley.conf: TLS, connection_id, WebSocket, redirect', { skip: missing ?? false }, async () => {
  const dir = makeTempDir('parley-nginx-');
  const cert = path.join(dir, 'cert.pem');
  const key = path.join(dir, 'key.pem');
  execFileSync('openssl', [
    'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=127.0.0.1',
    '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', key, '-out', cert,
  ], { stdio: 'ignore' });
  const ca = fs.readFileSync(cert);

  const fx = await startFixture({ receiver: 'nginx', bot: 'echo' });
  cleanups.push(() => fx.close());
  const [httpPort, tlsPort] = [await freePort(), await freePort()];
  for (const d of ['tmp', 'logs']) fs.mkdirSync(path.join(dir, d));
  fs.writeFileSync(path.join(dir, 'site.conf'), siteConfig({ parleyPort: fx.server.port, httpPort, tlsPort, cert, key }));
  const temp = ['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi']
    .map((t) => `  ${t}_temp_path ${path.join(dir, 'tmp', t)};`)
    .join('\n');
  fs.writeFileSync(
    path.join(dir, 'nginx.conf'),
    `daemon off;\nworker_processes 1;\npid ${path.join(dir, 'nginx.pid')};\nerror_log ${path.join(dir, 'logs/error.log')} warn;\n` +
      `events { worker_connections 256; }\nhttp {\n  access_log ${path.join(dir, 'logs/access.log')};\n${temp}\n  include ${path.join(dir, 'site.conf')};\n}\n`,
  );
  execFileSync(NGINX, ['-t', '-p', dir, '-c', path.join(dir, 'nginx.conf'), '-e', path.join(dir, 'logs/error.log')], { stdio: 'pipe' });
  const nginx = spawn(NGINX, ['-p', dir, '-c', path.join(dir, 'nginx.conf'), '-e', path.join(dir, 'logs/error.log')], { stdio: 'ignore' });
  const exited = new Promise((resolve) => nginx.on('exit', resolve));
  cleanups.push(async () => {
    nginx.kill('SIGQUIT');
    await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
    nginx.kill('SIGKILL');
  });
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
  await waitFor(() => / 101 /.test(fs.readFileSync(path.join(dir, 'logs/access.log'), 'utf8')), { message: 'the 101 in the access log' });
});
