// Users and sign-in against the real binary: the admin users API, login/me/logout, the
// session cookie with its CSRF header, 401 and 403 answers, the end of a disabled user's
// sessions, and the throttle on failed sign-ins (429 with Retry-After).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Server, delay, uid } from './harness.mjs';

let server;

before(async () => {
  server = await Server.start();
});

after(() => server?.cleanup());

const PASSWORD = 'correct-horse-battery';
const USER_KEYS = ['created_at', 'display_name', 'enabled', 'max_chats', 'queues', 'role', 'updated_at', 'username'];

function assertError(r, status, code, what) {
  assert.equal(r.status, status, `${what}: ${r.status} ${r.text}`);
  assert.equal(r.json?.error?.code, code, `${what}: ${r.text}`);
  assert.equal(typeof r.json.error.message, 'string');
  assert.ok(r.json.error.message.length > 0);
}

function assertUser(u) {
  assert.deepEqual(Object.keys(u).sort(), USER_KEYS, JSON.stringify(u));
  assert.ok(!JSON.stringify(u).includes('argon2'), 'no password hash');
}

// A fresh user name (the throttle counts per name, so tests do not share them).
const name = (prefix) => `${prefix}-${uid().slice(0, 8)}`;

async function createUser({ role = 'agent', queues = ['cards'], username = name(role), max_chats } = {}) {
  const body = { username, password: PASSWORD, display_name: `Display ${username}`, role, queues };
  if (max_chats !== undefined) body.max_chats = max_chats;
  const r = await server.admin('POST', '/api/v1/users', body);
  assert.equal(r.status, 201, r.text);
  return r.json;
}

function login(srv, username, password = PASSWORD) {
  return srv.request('POST', '/api/v1/auth/login', {
    headers: { 'content-type': 'application/json' },
    body: { username, password },
  });
}

async function signIn(username) {
  const r = await login(server, username);
  assert.equal(r.status, 200, r.text);
  return r.json;
}

const bearer = (token) => ({ authorization: `Bearer ${token}` });

test('the admin creates, lists, shows, updates and deletes users; the hash never shows', async () => {
  const username = name('agent');
  const created = await createUser({ username, queues: ['cards', 'general'] });
  assertUser(created);
  assert.equal(created.username, username);
  assert.equal(created.role, 'agent');
  assert.deepEqual(created.queues, ['cards', 'general']);
  assert.equal(created.max_chats, 3);
  assert.equal(created.enabled, true);
  assert.ok(!Number.isNaN(Date.parse(created.created_at)));

  const dup = await server.admin('POST', '/api/v1/users', {
    username, password: PASSWORD, display_name: 'Again', role: 'agent', queues: [],
  });
  assertError(dup, 409, 'user_exists', 'duplicate');

  const list = await server.admin('GET', '/api/v1/users');
  assert.equal(list.status, 200);
  const mine = list.json.users.find((u) => u.username === username);
  assert.ok(mine, 'listed');
  for (const u of list.json.users) assertUser(u);

  const shown = await server.admin('GET', `/api/v1/users/${username}`);
  assert.equal(shown.status, 200);
  assert.deepEqual(shown.json, created);

  const patched = await server.admin('PATCH', `/api/v1/users/${username}`, {
    display_name: 'New Name', max_chats: 5, queues: ['general'], role: 'admin',
  });
  assert.equal(patched.status, 200, patched.text);
  assertUser(patched.json);
  assert.equal(patched.json.display_name, 'New Name');
  assert.equal(patched.json.max_chats, 5);
  assert.deepEqual(patched.json.queues, ['general']);
  assert.equal(patched.json.role, 'admin');

  const del = await server.admin('DELETE', `/api/v1/users/${username}`);
  assert.equal(del.status, 200, del.text);
  assertError(await server.admin('GET', `/api/v1/users/${username}`), 404, 'user_not_found', 'gone');
  assertError(await server.admin('DELETE', `/api/v1/users/${username}`), 404, 'user_not_found', 'delete twice');
  assertError(await server.admin('PATCH', `/api/v1/users/${username}`, { max_chats: 2 }), 404, 'user_not_found', 'patch gone');
});

test('bad user input answers 400 with a field-specific code', async () => {
  const good = { username: name('v'), password: PASSWORD, display_name: 'V', role: 'agent', queues: [] };
  const cases = [
    [{ ...good, username: 'Bad Name' }, 'invalid_username'],
    [{ ...good, username: '' }, 'invalid_username'],
    [{ ...good, username: 'x'.repeat(65) }, 'invalid_username'],
    [{ ...good, password: 'short' }, 'password_too_short'],
    [{ ...good, password: 'p'.repeat(1025) }, 'password_too_long'],
    [{ ...good, display_name: '' }, 'invalid_display_name'],
    [{ ...good, display_name: 'd'.repeat(101) }, 'invalid_display_name'],
    [{ ...good, role: 'owner' }, 'invalid_role'],
    [{ ...good, queues: ['Cards'] }, 'invalid_queues'],
    [{ ...good, queues: ['cards', 'cards'] }, 'invalid_queues'],
    [{ ...good, max_chats: 0 }, 'invalid_max_chats'],
    [{ ...good, max_chats: 21 }, 'invalid_max_chats'],
  ];
  for (const [body, code] of cases) {
    assertError(await server.admin('POST', '/api/v1/users', body), 400, code, JSON.stringify(body).slice(0, 80));
  }
  const u = await createUser();
  assertError(await server.admin('PATCH', `/api/v1/users/${u.username}`, { max_chats: 99 }), 400, 'invalid_max_chats', 'patch');
  assertError(await server.admin('POST', `/api/v1/users/${u.username}/password`, { password: 'short' }), 400, 'password_too_short', 'password');
});

test('login gives a token and a cookie; me and logout; the token ends with logout', async () => {
  const u = await createUser();
  const r = await login(server, u.username);
  assert.equal(r.status, 200, r.text);
  assert.match(r.json.token, /^[A-Za-z0-9_-]{43,}$/);
  assert.match(r.json.csrf, /^[A-Za-z0-9_-]{20,}$/);
  assertUser(r.json.user);
  assert.equal(r.json.user.username, u.username);
  const cookie = r.headers.get('set-cookie');
  assert.ok(cookie.startsWith(`parley_session=${r.json.token}`), cookie);
  for (const attr of ['HttpOnly', 'SameSite=Strict', 'Path=/']) assert.ok(cookie.includes(attr), `${attr} in ${cookie}`);
  assert.ok(!cookie.includes('Secure'), 'no Secure over http');

  const me = await server.request('GET', '/api/v1/auth/me', { headers: bearer(r.json.token) });
  assert.equal(me.status, 200, me.text);
  assert.equal(me.json.user.username, u.username);
  assert.equal(me.json.csrf, r.json.csrf);

  const byCookie = await server.request('GET', '/api/v1/auth/me', { headers: { cookie: `parley_session=${r.json.token}` } });
  assert.equal(byCookie.status, 200, 'me needs no CSRF header');

  const out = await server.request('POST', '/api/v1/auth/logout', { headers: bearer(r.json.token) });
  assert.equal(out.status, 200, out.text);
  assertError(await server.request('GET', '/api/v1/auth/me', { headers: bearer(r.json.token) }), 401, 'unauthenticated', 'after logout');
});

test('wrong password and unknown user get the same 401', async () => {
  const u = await createUser();
  const wrong = await login(server, u.username, 'not-the-password');
  const unknown = await login(server, name('nobody'));
  assertError(wrong, 401, 'invalid_credentials', 'wrong password');
  assertError(unknown, 401, 'invalid_credentials', 'unknown user');
  assert.equal(wrong.text, unknown.text);
  assert.equal((await login(server, u.username)).status, 200, 'the right password still works');
});

test('the cookie needs the X-Parley-CSRF header; bearer tokens do not', async () => {
  const admin = await createUser({ role: 'admin', queues: [] });
  const s = await signIn(admin.username);
  const cookie = { cookie: `parley_session=${s.token}` };
  assertError(await server.request('GET', '/api/v1/users', { headers: cookie }), 403, 'csrf_failed', 'no csrf');
  assertError(
    await server.request('GET', '/api/v1/users', { headers: { ...cookie, 'x-parley-csrf': 'wrong' } }),
    403, 'csrf_failed', 'wrong csrf',
  );
  const ok = await server.request('GET', '/api/v1/users', { headers: { ...cookie, 'x-parley-csrf': s.csrf } });
  assert.equal(ok.status, 200, ok.text);
  const viaBearer = await server.request('GET', '/api/v1/users', { headers: bearer(s.token) });
  assert.equal(viaBearer.status, 200, 'an admin user can use the admin API');
  assertError(await server.request('POST', '/api/v1/auth/logout', { headers: cookie }), 403, 'csrf_failed', 'logout by cookie');
});

test('401 without valid credentials, 403 for an agent on an admin route', async () => {
  const agent = await createUser();
  const s = await signIn(agent.username);
  for (const headers of [{}, bearer('not-a-token'), bearer(`${s.token}x`), { authorization: `Basic ${s.token}` },
    { cookie: 'parley_session=not-a-token' }]) {
    assertError(await server.request('GET', '/api/v1/auth/me', { headers }), 401, 'unauthenticated', JSON.stringify(headers));
    assertError(await server.request('GET', '/api/v1/users', { headers }), 401, 'unauthenticated', JSON.stringify(headers));
  }
  const admin = [
    ['GET', '/api/v1/users'],
    ['POST', '/api/v1/users', { username: name('x'), password: PASSWORD, display_name: 'X', role: 'admin', queues: [] }],
    ['GET', `/api/v1/users/${agent.username}`],
    ['PATCH', `/api/v1/users/${agent.username}`, { role: 'admin' }],
    ['DELETE', `/api/v1/users/${agent.username}`],
    ['POST', `/api/v1/users/${agent.username}/password`, { password: 'a-new-password' }],
  ];
  for (const [method, p, body] of admin) {
    assertError(await server.admin(method, p, body, { token: s.token }), 403, 'forbidden', `${method} ${p}`);
  }
  const still = await server.admin('GET', `/api/v1/users/${agent.username}`);
  assert.equal(still.json.role, 'agent', 'nothing changed');
});

test("disabling a user, changing their password or deleting them ends their sessions at once", async () => {
  const u = await createUser();
  const s = await signIn(u.username);
  assert.equal((await server.request('GET', '/api/v1/auth/me', { headers: bearer(s.token) })).status, 200);
  const off = await server.admin('PATCH', `/api/v1/users/${u.username}`, { enabled: false });
  assert.equal(off.status, 200, off.text);
  assert.equal(off.json.enabled, false);
  assertError(await server.request('GET', '/api/v1/auth/me', { headers: bearer(s.token) }), 401, 'unauthenticated', 'disabled');
  assertError(await login(server, u.username), 401, 'invalid_credentials', 'disabled user signs in');
  assert.equal((await server.admin('PATCH', `/api/v1/users/${u.username}`, { enabled: true })).status, 200);

  const s2 = await signIn(u.username);
  const pw = await server.admin('POST', `/api/v1/users/${u.username}/password`, { password: 'a-brand-new-password' });
  assert.equal(pw.status, 200, pw.text);
  assertError(await server.request('GET', '/api/v1/auth/me', { headers: bearer(s2.token) }), 401, 'unauthenticated', 'new password');
  assertError(await login(server, u.username), 401, 'invalid_credentials', 'old password');
  const s3 = await login(server, u.username, 'a-brand-new-password');
  assert.equal(s3.status, 200, s3.text);

  assert.equal((await server.admin('DELETE', `/api/v1/users/${u.username}`)).status, 200);
  assertError(await server.request('GET', '/api/v1/auth/me', { headers: bearer(s3.json.token) }), 401, 'unauthenticated', 'deleted');
});

test('the static admin token still works everywhere an admin may go', async () => {
  const me = await server.admin('GET', '/api/v1/auth/me');
  assert.equal(me.status, 200, me.text);
  assert.equal(me.json.user.role, 'admin');
  assert.equal((await server.admin('GET', '/api/v1/users')).status, 200);
  assert.equal((await server.admin('GET', '/api/v1/connections')).status, 200);
  assert.equal((await server.admin('GET', '/api/v1/users', undefined, { token: server.adminToken.toUpperCase() })).status, 401);
});

test('failed sign-ins of a user from an address get growing delays: 429 with Retry-After, even to the right password', async () => {
  // A server of its own: every request here comes from 127.0.0.1, which the throttle counts too.
  const own = await Server.start();
  try {
    const username = name('t');
    const c = await own.admin('POST', '/api/v1/users', {
      username, password: PASSWORD, display_name: 'T', role: 'agent', queues: [],
    });
    assert.equal(c.status, 201, c.text);
    for (let i = 0; i < 5; i++) assertError(await login(own, username, `wrong-${i}-password`), 401, 'invalid_credentials', `failure ${i}`);
    const blocked = await login(own, username);
    assertError(blocked, 429, 'too_many_attempts', 'right password while in the delay');
    const retry = Number(blocked.headers.get('retry-after'));
    assert.equal(retry, 1, `Retry-After ${retry}: the first delay is a second`);
    assertError(await login(own, name('other')), 401, 'invalid_credentials', 'same address, other name: not slowed');
    await delay(1100);
    assertError(await login(own, username, 'wrong-again-password'), 401, 'invalid_credentials', 'after the delay');
    const longer = await login(own, username);
    assertError(longer, 429, 'too_many_attempts', 'the next delay');
    assert.equal(Number(longer.headers.get('retry-after')), 2, 'the delay doubles');
    assert.equal((await own.admin('GET', '/api/v1/users')).status, 200, 'the admin token is not throttled');
  } finally {
    await own.cleanup();
  }
});
