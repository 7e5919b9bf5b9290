// `parley user …` and `parley queue …` against a running server: create (password from
// stdin), list, show, update, password, delete; queue create/list/delete; errors on stderr
// with exit 1; --help everywhere.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { Server, BIN, runCli, uid } from './harness.mjs';

let server;

before(async () => {
  server = await Server.start();
});

after(() => server?.cleanup());

const PASSWORD = 'correct-horse-battery';

// Runs the CLI with `input` on stdin; resolves {code, stdout, stderr}.
function cli(args, { input = '', env } = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(BIN, args, {
      env: env ?? { ...process.env, PARLEY_URL: server.url, PARLEY_ADMIN_TOKEN: server.adminToken },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), 15000);
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
    child.stdin.on('error', () => {}); // the CLI may exit before reading
    child.stdin.end(input);
  });
}

function ok(r, what) {
  assert.equal(r.code, 0, `${what}: exit ${r.code}\nstdout ${r.stdout}\nstderr ${r.stderr}`);
  return JSON.parse(r.stdout);
}

function failed(r, pattern, what) {
  assert.equal(r.code, 1, `${what}: exit ${r.code}\nstdout ${r.stdout}\nstderr ${r.stderr}`);
  assert.equal(r.stdout, '', `${what}: nothing on stdout`);
  assert.match(r.stderr, pattern, what);
}

const login = (username, password) =>
  server.request('POST', '/api/v1/auth/login', {
    headers: { 'content-type': 'application/json' },
    body: { username, password },
  });

test('user create, list, show, update, password and delete', async () => {
  const username = `cli-${uid().slice(0, 8)}`;
  const created = ok(
    await cli(
      ['user', 'create', '--username', username, '--display-name', 'Cli Agent', '--role', 'agent',
        '--queue', 'cards', '--queue', 'general', '--max-chats', '4', '--password-stdin'],
      { input: `${PASSWORD}\n` },
    ),
    'create',
  );
  assert.equal(created.username, username);
  assert.deepEqual(created.queues, ['cards', 'general']);
  assert.equal(created.max_chats, 4);
  assert.equal(created.role, 'agent');
  assert.ok(!('password_hash' in created));
  assert.equal((await login(username, PASSWORD)).status, 200, 'the piped password signs in');

  const list = ok(await cli(['user', 'list', '--json']), 'list');
  assert.ok(list.users.some((u) => u.username === username));

  const shown = ok(await cli(['user', 'show', username]), 'show');
  assert.equal(shown.display_name, 'Cli Agent');

  const updated = ok(
    await cli(['user', 'update', username, '--display-name', 'Renamed', '--queue', 'vip', '--max-chats', '2']),
    'update',
  );
  assert.equal(updated.display_name, 'Renamed');
  assert.deepEqual(updated.queues, ['vip']);
  assert.equal(updated.max_chats, 2);
  const disabled = ok(await cli(['user', 'update', username, '--disable']), 'disable');
  assert.equal(disabled.enabled, false);
  assert.equal((await login(username, PASSWORD)).status, 401, 'a disabled user cannot sign in');
  assert.equal(ok(await cli(['user', 'update', username, '--enable']), 'enable').enabled, true);

  ok(await cli(['user', 'password', username, '--password-stdin'], { input: 'another-long-password\n' }), 'password');
  assert.equal((await login(username, PASSWORD)).status, 401, 'the old password is gone');
  assert.equal((await login(username, 'another-long-password')).status, 200);

  ok(await cli(['user', 'delete', username]), 'delete');
  failed(await cli(['user', 'show', username]), /404 user_not_found: /, 'show deleted');
});

test('user errors go to stderr with exit 1', async () => {
  const username = `cli-${uid().slice(0, 8)}`;
  failed(
    await cli(['user', 'create', '--username', username, '--display-name', 'X', '--password-stdin'], { input: 'short\n' }),
    /400 password_too_short: /,
    'short password',
  );
  failed(
    await cli(['user', 'create', '--username', 'Bad Name', '--display-name', 'X', '--password-stdin'], { input: `${PASSWORD}\n` }),
    /400 invalid_username: /,
    'bad username',
  );
  failed(
    await cli(['user', 'create', '--username', username, '--display-name', 'X', '--password-stdin'], { input: '' }),
    /no password on standard input/,
    'empty stdin',
  );
  failed(await cli(['user', 'update', username]), /nothing to change/, 'update without changes');
  failed(
    await cli(['user', 'list'], { env: { ...process.env, PARLEY_URL: server.url, PARLEY_ADMIN_TOKEN: 'wrong-token' } }),
    /401 unauthenticated: /,
    'wrong token',
  );
  const r = await runCli(['user', 'create', '--username', username, '--display-name', 'X'], {
    env: { PARLEY_URL: server.url, PARLEY_ADMIN_TOKEN: server.adminToken },
  });
  assert.notEqual(r.code, 0, 'create without --password-stdin is refused');
  assert.match(r.stderr, /password-stdin/);
});

test('queue create, list and delete go to /api/v1/queues', async () => {
  const qname = `q-${uid().slice(0, 8)}`;
  const created = ok(
    await cli(['queue', 'create', qname, '--display-name', 'Cards', '--auto-accept', '--max-wait-s', '300',
      '--closed-text', 'We are busy.']),
    'queue create',
  );
  assert.equal(created.name, qname);
  assert.equal(created.display_name, 'Cards');
  assert.equal(created.auto_accept, true);
  assert.equal(created.max_wait_s, 300);
  assert.equal(created.closed_text, 'We are busy.');
  const plain = ok(await cli(['queue', 'create', `${qname}-2`, '--display-name', 'Plain']), 'plain queue');
  assert.equal(plain.auto_accept, false);
  assert.equal(plain.max_wait_s, null);
  ok(await cli(['queue', 'delete', `${qname}-2`]), 'delete plain');
  const list = ok(await cli(['queue', 'list', '--json']), 'queue list');
  assert.ok(JSON.stringify(list).includes(qname));
  ok(await cli(['queue', 'delete', qname]), 'queue delete');
  const after = ok(await cli(['queue', 'list', '--json']), 'queue list after delete');
  assert.ok(!JSON.stringify(after).includes(qname));
  failed(await cli(['queue', 'delete', qname]), /404 /, 'delete twice');
  failed(await cli(['queue', 'create', 'Bad Name', '--display-name', 'X']), /400 /, 'bad queue name');
});

test('every user and queue subcommand has --help', async () => {
  for (const args of [['user'], ['user', 'create'], ['user', 'list'], ['user', 'show'], ['user', 'update'],
    ['user', 'delete'], ['user', 'password'], ['queue'], ['queue', 'create'], ['queue', 'list'], ['queue', 'delete']]) {
    const r = await runCli([...args, '--help']);
    assert.equal(r.code, 0, `${args.join(' ')} --help: ${r.stderr}`);
    assert.match(r.stdout, /Usage|usage|OPTIONS|Options/, args.join(' '));
  }
});
