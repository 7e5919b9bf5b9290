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
  assert.deepEqual(sent.stdout.split('\n'), ['HTTP 200', '{"status":"accepted"}', ''], 'the accepted answer on stdout');
  assert.equal(sent.stderr, '', 'nothing on stderr when accepted');

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
  assert.equal(refused.code, 1, `client send with a wrong secret fails: ${refused.stdout} ${refused.stderr}`);
  assert.equal(refused.stdout, '', 'a refusal is not printed on stdout');
  assert.match(refused.stderr, /^error: HTTP 401 [a-z_]+: \S.*\n$/, `the refusal on stderr, one line: ${refused.stderr}`);

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

test('client send: accepted and duplicate answers on stdout, 400 and 403 refusals on stderr with exit 1', async () => {
  // No echo is needed here: the webhook is never reached, only the answers to /messages count.
  const conn = await server.createConnection({ webhook: 'http://127.0.0.1:9/unused', bot: 'none' });
  const send = (args, { customer = `c-${uid()}` } = {}) =>
    runCli(['client', 'send', '--url', server.url, '--connection-id', conn.connection_id, '--customer', customer, ...args], {
      env: { PARLEY_JWT_SECRET: conn.jwt_secret },
    });
  const messageId = uid();
  const first = await send(['--message-id', messageId, 'once']);
  assert.equal(first.code, 0, first.stderr);
  assert.deepEqual(first.stdout.split('\n'), ['HTTP 200', '{"status":"accepted"}', '']);
  assert.equal(first.stderr, '');
  const dup = await send(['--message-id', messageId, 'once']);
  assert.equal(dup.code, 0, dup.stderr);
  assert.deepEqual(dup.stdout.split('\n'), ['HTTP 200', '{"status":"duplicate"}', ''], 'a duplicate is an answer, not a refusal');
  assert.equal(dup.stderr, '');

  const bad = await send(['hello'], { customer: 'c'.repeat(5000) });
  assert.equal(bad.code, 1, `${bad.stdout} ${bad.stderr}`);
  assert.equal(bad.stdout, '');
  assert.match(bad.stderr, /^error: HTTP 400 [a-z_]+: \S.*\n$/, bad.stderr);

  const off = await server.admin('PATCH', `/api/v1/connections/${conn.connection_id}`, { enabled: false });
  assert.equal(off.status, 200, off.text);
  const disabled = await send(['hello?']);
  assert.equal(disabled.code, 1, `${disabled.stdout} ${disabled.stderr}`);
  assert.equal(disabled.stdout, '');
  assert.match(disabled.stderr, /^error: HTTP 403 [a-z_]+: \S.*\n$/, disabled.stderr);
});

test('the CLI fails with a non-zero exit and a message on stderr for a wrong admin token', async () => {
  const r = await runCli(['connection', 'list', '--server', server.url, '--admin-token', 'wrong']);
  assert.notEqual(r.code, 0);
  assert.ok(r.stderr.trim().length > 0, 'an error on stderr');
});

test('parley --version prints the version', async () => {
  const r = await runCli(['--version']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^parley \d+\.\d+\.\d+\n$/);
});

test('list commands print a table by default and the JSON answer with --json', async () => {
  const conn = await server.createConnection({ name: `table-${uid().slice(0, 6)}`, webhook: 'http://127.0.0.1:9/unused', bot: 'none' });
  const table = await runCli(['connection', 'list', ...adminArgs()]);
  assert.equal(table.code, 0, table.stderr);
  const lines = table.stdout.trimEnd().split('\n');
  assert.match(lines[0], /^ID\s+NAME\s+BOT\s+ENABLED\s+CLIENT WEBHOOK$/);
  const row = lines.find((l) => l.startsWith(conn.connection_id));
  assert.ok(row, table.stdout);
  assert.match(row, new RegExp(`^${conn.connection_id}\\s+${conn.name}\\s+none\\s+true\\s+http://127\\.0\\.0\\.1:9/unused$`));
  // Columns line up: every row's second column starts where the heading's does.
  const at = lines[0].indexOf('NAME');
  assert.equal(row.indexOf(conn.name), at);

  const asJson = await runCli(['connection', 'list', '--json', ...adminArgs()]);
  assert.equal(asJson.code, 0, asJson.stderr);
  assert.ok(JSON.parse(asJson.stdout).connections.some((c) => c.connection_id === conn.connection_id));

  const q = await server.admin('POST', '/api/v1/queues', { name: `q-${uid().slice(0, 6)}`, display_name: 'Table queue' });
  assert.equal(q.status, 201, q.text);
  const u = await server.admin('POST', '/api/v1/users', { username: `u${uid().slice(0, 6)}`, password: 'correct-horse-battery', display_name: 'Table User', role: 'agent', queues: [q.json.name] });
  assert.equal(u.status, 201, u.text);
  for (const [cmd, heading, row] of [
    [['user', 'list'], /^USERNAME\s+NAME\s+ROLE\s+QUEUES\s+MAX CHATS\s+ENABLED$/, new RegExp(`^${u.json.username}\\s+Table User\\s+agent\\s+${q.json.name}\\s+3\\s+true$`)],
    [['queue', 'list'], /^NAME\s+DISPLAY NAME\s+WAITING\s+AGENTS AVAILABLE\s+AUTO-ACCEPT$/, new RegExp(`^${q.json.name}\\s+Table queue\\s+0\\s+0\\s+false$`)],
  ]) {
    const r = await runCli([...cmd, ...adminArgs()]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout.split('\n')[0], heading, r.stdout);
    assert.ok(r.stdout.split('\n').some((l) => row.test(l)), r.stdout);
    const j = await runCli([...cmd, '--json', ...adminArgs()]);
    assert.equal(j.code, 0, j.stderr);
    assert.equal(typeof JSON.parse(j.stdout), 'object');
  }
});

test('a 401 names --admin-token, PARLEY_ADMIN_TOKEN and the demo\'s admin-token file', async () => {
  for (const args of [['connection', 'list'], ['user', 'list'], ['queue', 'list'], ['connection', 'show', 'x']]) {
    const r = await runCli([...args, '--server', server.url, '--admin-token', 'wrong']);
    assert.equal(r.code, 1, args.join(' '));
    assert.equal(r.stdout, '');
    assert.match(r.stderr, /^parley: 401 [a-z_]+: .+\nparley: give the admin token with --admin-token or PARLEY_ADMIN_TOKEN .*admin-token/, r.stderr);
  }
});

test('connection create and update --capabilities: a comma-separated list or none; a wrong name is refused and changes nothing', async () => {
  const ALL = ['menu', 'carousel', 'link_button', 'typing_indicator'];
  const name = `caps-${uid().slice(0, 8)}`;
  const created = await runCli(['connection', 'create', ...adminArgs(), '--name', name, '--webhook', 'http://127.0.0.1:9/unused', '--bot', 'none', '--capabilities', 'link_button, menu']);
  assert.equal(created.code, 0, created.stderr);
  const conn = parseJson(created.stdout, 'connection create');
  assert.deepEqual(conn.capabilities, ['menu', 'link_button']);
  assert.deepEqual((await server.admin('GET', `/api/v1/connections/${conn.connection_id}`)).json.capabilities, ['menu', 'link_button']);

  const plain = await runCli(['connection', 'update', conn.connection_id, ...adminArgs(), '--capabilities', 'none']);
  assert.equal(plain.code, 0, plain.stderr);
  assert.deepEqual(parseJson(plain.stdout, 'connection update').capabilities, []);

  const back = await runCli(['connection', 'update', conn.connection_id, ...adminArgs(), '--capabilities', 'typing_indicator,carousel,link_button,menu']);
  assert.equal(back.code, 0, back.stderr);
  assert.deepEqual(parseJson(back.stdout, 'connection update').capabilities, ALL);

  // Without the option, update leaves the capabilities alone and create gives all four.
  const renamed = await runCli(['connection', 'update', conn.connection_id, ...adminArgs(), '--name', `${name}-2`, '--capabilities', 'menu']);
  assert.equal(renamed.code, 0, renamed.stderr);
  const untouched = await runCli(['connection', 'update', conn.connection_id, ...adminArgs(), '--enable']);
  assert.deepEqual(parseJson(untouched.stdout, 'connection update').capabilities, ['menu']);
  const plainCreate = await runCli(['connection', 'create', ...adminArgs(), '--name', `${name}-d`, '--webhook', 'http://127.0.0.1:9/unused', '--bot', 'none']);
  assert.equal(plainCreate.code, 0, plainCreate.stderr);
  assert.deepEqual(parseJson(plainCreate.stdout, 'connection create').capabilities, ALL);

  // A name that is not a capability, or an empty one: refused before any request, saying what
  // to write; nothing is created or changed.
  for (const bad of ['menu,buttons', 'menu,,carousel', '']) {
    const upd = await runCli(['connection', 'update', conn.connection_id, ...adminArgs(), '--capabilities', bad]);
    assert.notEqual(upd.code, 0, `update --capabilities '${bad}' was accepted`);
    assert.equal(upd.stdout, '');
    assert.match(upd.stderr, /--capabilities.*menu, carousel, link_button and typing_indicator separated by commas, or none/, upd.stderr);
    if (bad === 'menu,buttons') assert.match(upd.stderr, /'buttons' is none of them/);
    const badName = `${name}-bad`;
    const cr = await runCli(['connection', 'create', ...adminArgs(), '--name', badName, '--webhook', 'http://127.0.0.1:9/unused', '--capabilities', bad]);
    assert.notEqual(cr.code, 0, `create --capabilities '${bad}' was accepted`);
    const list = await server.admin('GET', '/api/v1/connections');
    assert.ok(!list.json.connections.some((c) => c.name === badName), 'no connection created');
  }
  assert.deepEqual((await server.admin('GET', `/api/v1/connections/${conn.connection_id}`)).json.capabilities, ['menu']);
});
