// The CLI end to end: `parley connection create|list|show|update|delete` against the running
// server, `parley client listen` as the webhook and `parley client send` as the integration
// layer.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import readline from 'node:readline';
import { Server, uid, waitFor, runCli, spawnCli } from './harness.mjs';

let server, listener;

before(async () => {
  server = await Server.start({ args: ['--retry-initial-ms', '20', '--retry-max-ms', '200'] });
});

after(async () => {
  try {
    listener?.kill('SIGTERM');
    await server?.stop();
  } finally {
    listener?.kill('SIGKILL');
    await server?.cleanup();
  }
});

const adminArgs = () => ['--server', server.url, '--admin-token', server.adminToken];

function parseJson(out, what) {
  try {
    return JSON.parse(out);
  } catch {
    throw new Error(`${what} did not print JSON: ${out}`);
  }
}

test('connection create, client listen, client send: a text and its echo, end to end', async () => {
  const name = `cli-${uid()}`;
  // the listener's port is known only once it runs, and it needs the secret: create with a
  // placeholder webhook, then point the connection at the listener
  const created = await runCli(['connection', 'create', ...adminArgs(), '--name', name, '--webhook', 'http://127.0.0.1:9/placeholder', '--bot', 'echo']);
  assert.equal(created.code, 0, `create: ${created.stderr}`);
  const conn = parseJson(created.stdout, 'connection create');
  assert.equal(conn.name, name);
  assert.match(conn.connection_id, /^[0-9a-f-]{36}$/);
  assert.ok(conn.jwt_secret.length >= 43);
  assert.equal(conn.bot, 'echo');

  listener = spawnCli(['client', 'listen', '--port', '0', '--secret', conn.jwt_secret, '--connection-id', conn.connection_id]);
  const events = [];
  const nonJson = [];
  readline.createInterface({ input: listener.stdout }).on('line', (line) => {
    try {
      events.push(JSON.parse(line));
    } catch {
      nonJson.push(line);
    }
  });
  let stderr = '';
  const listenUrl = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`client listen printed no "listening on": ${stderr}`)), 10000);
    listener.stderr.on('data', (d) => {
      stderr += d;
      const m = /listening on (http:\/\/[^\s]+)/.exec(stderr);
      if (m) {
        clearTimeout(timer);
        resolve(m[1].replace(/\/$/, ''));
      }
    });
    listener.on('exit', (code) => reject(new Error(`client listen exited ${code}: ${stderr}`)));
  });

  const updated = await runCli(['connection', 'update', conn.connection_id, '--webhook', listenUrl], {
    env: { PARLEY_URL: server.url, PARLEY_ADMIN_TOKEN: server.adminToken },
  });
  assert.equal(updated.code, 0, `update (server and token from the environment): ${updated.stderr}`);
  const shown = await server.admin('GET', `/api/v1/connections/${conn.connection_id}`);
  assert.equal(shown.json.client_webhook, listenUrl);

  const customer = `cli-customer-${uid()}`;
  const sent = await runCli([
    'client', 'send',
    '--url', conn.digital_messaging_webhook,
    '--connection-id', conn.connection_id,
    '--secret', conn.jwt_secret,
    '--customer', customer,
    'hello from the CLI',
  ]);
  assert.equal(sent.code, 0, `client send: ${sent.stdout} ${sent.stderr}`);

  const echo = await waitFor(() => events.find((e) => e.customer_id === customer), {
    timeout: 10000,
    message: () => `the echo printed by client listen (stdout ${JSON.stringify(nonJson)}, stderr ${stderr})`,
  });
  assert.equal(echo.type, 'text');
  assert.deepEqual(echo.text, ['hello from the CLI']);
  assert.equal(echo.seq, 1);
  assert.equal(echo.from, 'bot');
  assert.ok(echo.event_id);

  // a wrong secret: client send fails with a non-zero exit and says why
  const refused = await runCli([
    'client', 'send', '--url', conn.digital_messaging_webhook, '--connection-id', conn.connection_id,
    '--secret', 'x'.repeat(43), '--customer', customer, 'nope',
  ]);
  assert.notEqual(refused.code, 0, 'client send with a wrong secret fails');
  assert.match(refused.stdout + refused.stderr, /401/, `the output names the status: ${refused.stdout} ${refused.stderr}`);

  const list = await runCli(['connection', 'list', ...adminArgs()]);
  assert.equal(list.code, 0, list.stderr);
  assert.ok(list.stdout.includes(conn.connection_id), `list shows the connection: ${list.stdout}`);
  assert.ok(!list.stdout.includes(conn.jwt_secret), 'list shows no secret');

  const show = await runCli(['connection', 'show', conn.connection_id, ...adminArgs()]);
  assert.equal(show.code, 0, show.stderr);
  assert.ok(show.stdout.includes(conn.connection_id));

  const del = await runCli(['connection', 'delete', conn.connection_id, ...adminArgs()]);
  assert.equal(del.code, 0, del.stderr);
  assert.equal((await server.admin('GET', `/api/v1/connections/${conn.connection_id}`)).status, 404);
});

test('the CLI fails with a non-zero exit and a message on stderr for a wrong admin token', async () => {
  const r = await runCli(['connection', 'list', '--server', server.url, '--admin-token', 'wrong']);
  assert.notEqual(r.code, 0);
  assert.ok(r.stderr.trim().length > 0, 'an error on stderr');
});
