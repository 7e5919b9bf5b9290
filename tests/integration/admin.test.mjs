// The Digital Messaging Manager's REST API: create, list, show, update, disable, delete,
// rotate-secret (with a grace period for the old secret), refusals.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Server, startFixture, Receiver, uid, waitFor, textEvent } from './harness.mjs';

let fixture, server, hook;

before(async () => {
  fixture = await startFixture({
    receiver: 'admin',
    server: { args: ['--retry-initial-ms', '20', '--retry-max-ms', '200'] },
    connections: 0,
  });
  ({ server, hook } = fixture);
});

after(() => fixture?.close());

function assertErrorBody(r, what) {
  assert.match(r.json?.error?.code ?? '', /^[a-z][a-z0-9_]*$/, `${what}: error.code in ${r.text}`);
  assert.equal(typeof r.json?.error?.message, 'string', `${what}: error.message in ${r.text}`);
  assert.ok(r.json.error.message.length > 0, `${what}: error.message`);
}

const UUID_V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

test('admin endpoints answer 401 without the admin token, with a wrong one, or with Basic', async () => {
  const conn = await server.createConnection({ webhook: hook.url });
  const id = conn.connection_id;
  const endpoints = [
    ['GET', '/api/v1/connections'],
    ['POST', '/api/v1/connections', { name: `x-${uid()}`, client_webhook: hook.url }],
    ['GET', `/api/v1/connections/${id}`],
    ['PATCH', `/api/v1/connections/${id}`, { name: 'hijacked' }],
    ['DELETE', `/api/v1/connections/${id}`],
    ['POST', `/api/v1/connections/${id}/rotate-secret`],
    ['GET', `/api/v1/connections/${id}/deliveries`],
    ['POST', `/api/v1/deliveries/${uid()}/replay`],
    ['GET', '/api/v1/conversations'],
    ['GET', `/api/v1/conversations/${uid()}`],
  ];
  for (const [method, p, body] of endpoints) {
    for (const token of [null, 'wrong-token', `${server.adminToken}x`, server.adminToken.slice(0, -1)]) {
      const r = await server.admin(method, p, body, { token });
      assert.equal(r.status, 401, `${method} ${p} with token ${token}: ${r.status} ${r.text}`);
      assertErrorBody(r, `${method} ${p}`);
    }
    const basic = await server.request(method, p, {
      headers: { authorization: `Basic ${Buffer.from(`admin:${server.adminToken}`).toString('base64')}` },
    });
    assert.equal(basic.status, 401, `${method} ${p} with Basic`);
  }
  const after = await server.admin('GET', `/api/v1/connections/${id}`);
  assert.equal(after.status, 200, 'nothing was changed by the refused calls');
  assert.equal(after.json.name, conn.name);
  assert.equal(after.json.jwt_secret, conn.jwt_secret);
});

test('create returns the four settings; list hides secrets; show has them', async () => {
  const name = `crm-${uid()}`;
  const r = await server.admin('POST', '/api/v1/connections', { name, client_webhook: hook.url, bot: 'echo' });
  assert.equal(r.status, 201, r.text);
  const c = r.json;
  assert.match(c.connection_id, UUID_V4);
  assert.equal(c.name, name);
  assert.equal(c.client_webhook, hook.url);
  assert.equal(c.digital_messaging_webhook, `${server.url}/messages`);
  assert.match(c.jwt_secret, /^[A-Za-z0-9_-]{43,}$/, 'secret: 43+ URL-safe characters');
  assert.equal(c.bot, 'echo');
  assert.equal(c.enabled, true);
  assert.ok(!Number.isNaN(Date.parse(c.created_at)), `created_at ${c.created_at}`);

  const other = await server.createConnection({ webhook: hook.url });
  assert.notEqual(other.jwt_secret, c.jwt_secret);
  assert.notEqual(other.connection_id, c.connection_id);

  const list = await server.admin('GET', '/api/v1/connections');
  assert.equal(list.status, 200);
  const ids = list.json.connections.map((x) => x.connection_id);
  assert.ok(ids.includes(c.connection_id) && ids.includes(other.connection_id));
  for (const x of list.json.connections) {
    assert.ok(!('jwt_secret' in x), `no secret in the list: ${JSON.stringify(x)}`);
    assert.ok(!JSON.stringify(x).includes(c.jwt_secret));
  }
  const mine = list.json.connections.find((x) => x.connection_id === c.connection_id);
  assert.equal(mine.name, name);
  assert.equal(mine.client_webhook, hook.url);
  assert.equal(mine.enabled, true);

  const show = await server.admin('GET', `/api/v1/connections/${c.connection_id}`);
  assert.equal(show.status, 200);
  assert.equal(show.json.jwt_secret, c.jwt_secret);
  assert.equal(show.json.name, name);

  const missing = await server.admin('GET', `/api/v1/connections/${uid()}`);
  assert.equal(missing.status, 404);
  assertErrorBody(missing, 'unknown connection');
});

test('bad connections are refused with 400 (or 409 for a taken name) and an error body', async () => {
  const taken = await server.createConnection({ webhook: hook.url });
  const bad = {
    'ftp webhook': { name: `n-${uid()}`, client_webhook: 'ftp://example.com/hook' },
    'not a URL': { name: `n-${uid()}`, client_webhook: 'not a url' },
    'relative URL': { name: `n-${uid()}`, client_webhook: '/hook' },
    'empty webhook': { name: `n-${uid()}`, client_webhook: '' },
    'no webhook': { name: `n-${uid()}` },
    'webhook a number': { name: `n-${uid()}`, client_webhook: 42 },
    'no name': { client_webhook: hook.url },
    'empty name': { name: '', client_webhook: hook.url },
    'name of 101 characters': { name: 'n'.repeat(101), client_webhook: hook.url },
    'unknown bot': { name: `n-${uid()}`, client_webhook: hook.url, bot: 'no-such-bot' },
  };
  for (const [what, body] of Object.entries(bad)) {
    const r = await server.admin('POST', '/api/v1/connections', body);
    assert.equal(r.status, 400, `${what}: ${r.status} ${r.text}`);
    assertErrorBody(r, what);
  }
  const notJson = await server.request('POST', '/api/v1/connections', {
    headers: { authorization: `Bearer ${server.adminToken}`, 'content-type': 'application/json' },
    raw: '{"name":',
  });
  assert.equal(notJson.status, 400, `not JSON: ${notJson.text}`);
  assertErrorBody(notJson, 'not JSON');

  const dup = await server.admin('POST', '/api/v1/connections', { name: taken.name, client_webhook: hook.url });
  assert.ok([400, 409].includes(dup.status), `duplicate name: ${dup.status} ${dup.text}`);
  assertErrorBody(dup, 'duplicate name');

  const longest = await server.admin('POST', '/api/v1/connections', { name: 'L'.repeat(64) + uid(), client_webhook: hook.url });
  assert.equal(longest.status, 201, `a name of 100 characters is fine: ${longest.text}`);

  const list = await server.admin('GET', '/api/v1/connections');
  const names = list.json.connections.map((x) => x.name);
  assert.equal(names.filter((n) => n === taken.name).length, 1, 'the refused duplicate was not stored');
  assert.ok(!names.includes(''), 'nothing refused was stored');
});

test('patch changes name, webhook, enabled and bot; a disabled connection is refused with 403', async () => {
  const conn = await server.createConnection({ webhook: hook.url });
  hook.trust(conn);
  const id = conn.connection_id;
  const rename = await server.admin('PATCH', `/api/v1/connections/${id}`, { name: `renamed-${uid()}` });
  assert.equal(rename.status, 200, rename.text);
  assert.match(rename.json.name, /^renamed-/);

  // a new webhook gets the next reply
  const hook2 = await Receiver.start('admin2');
  try {
    hook2.trust(conn);
    const move = await server.admin('PATCH', `/api/v1/connections/${id}`, { client_webhook: hook2.url });
    assert.equal(move.status, 200, move.text);
    assert.equal(move.json.client_webhook, hook2.url);
    const cid = `c-${uid()}`;
    await server.send(conn, textEvent(cid, 'to the new webhook'));
    await waitFor(() => hook2.deliveredTo(conn, cid).length === 1, { message: 'the echo at the new webhook' });
    assert.equal(hook.attemptsFor(conn, cid).length, 0);
  } finally {
    await hook2.close();
  }
  const back = await server.admin('PATCH', `/api/v1/connections/${id}`, { client_webhook: hook.url });
  assert.equal(back.status, 200);

  const badHook = await server.admin('PATCH', `/api/v1/connections/${id}`, { client_webhook: 'ftp://x/y' });
  assert.equal(badHook.status, 400, `patch with a bad webhook: ${badHook.text}`);
  assertErrorBody(badHook, 'patch bad webhook');
  assert.equal((await server.admin('GET', `/api/v1/connections/${id}`)).json.client_webhook, hook.url);

  const off = await server.admin('PATCH', `/api/v1/connections/${id}`, { enabled: false });
  assert.equal(off.status, 200, off.text);
  assert.equal(off.json.enabled, false);
  const refused = await server.post(conn, textEvent(`c-${uid()}`, 'while disabled'));
  assert.equal(refused.status, 403, refused.text);
  assertErrorBody(refused, 'disabled connection');

  const on = await server.admin('PATCH', `/api/v1/connections/${id}`, { enabled: true });
  assert.equal(on.status, 200);
  assert.equal((await server.post(conn, textEvent(`c-${uid()}`, 'enabled again'))).status, 200);

  const quiet = await server.admin('PATCH', `/api/v1/connections/${id}`, { bot: 'none' });
  assert.equal(quiet.status, 200, quiet.text);
  assert.equal(quiet.json.bot, 'none');

  const unknown = await server.admin('PATCH', `/api/v1/connections/${uid()}`, { name: 'x' });
  assert.equal(unknown.status, 404);
});

test('rotate-secret: the new secret signs outbound; the old one is still accepted in the grace period', async () => {
  const conn = await server.createConnection({ webhook: hook.url });
  const r = await server.admin('POST', `/api/v1/connections/${conn.connection_id}/rotate-secret`);
  assert.equal(r.status, 200, r.text);
  const fresh = r.json.jwt_secret;
  assert.match(fresh, /^[A-Za-z0-9_-]{43,}$/);
  assert.notEqual(fresh, conn.jwt_secret);
  const until = Date.parse(r.json.previous_secret_valid_until);
  assert.ok(until > Date.now() + 3600e3, `grace period ends ${r.json.previous_secret_valid_until}`);

  // the receiver now trusts only the new secret: outbound tokens must be signed with it
  hook.trust(conn, fresh);
  const rejectedBefore = hook.rejected.length;
  const oldCid = `old-${uid()}`;
  const newCid = `new-${uid()}`;
  const withOld = await server.post(conn, textEvent(oldCid, 'old secret'), { secret: conn.jwt_secret });
  assert.equal(withOld.status, 200, `old secret inside the grace period: ${withOld.text}`);
  const withNew = await server.post(conn, textEvent(newCid, 'new secret'), { secret: fresh });
  assert.equal(withNew.status, 200, withNew.text);
  await waitFor(() => hook.deliveredTo(conn, oldCid).length && hook.deliveredTo(conn, newCid).length, {
    message: () => `echoes signed with the new secret (rejected: ${JSON.stringify(hook.rejected.slice(rejectedBefore).map((x) => x.error))})`,
  });
  assert.equal(hook.rejected.length, rejectedBefore);

  const show = await server.admin('GET', `/api/v1/connections/${conn.connection_id}`);
  assert.equal(show.json.jwt_secret, fresh);

  // a second rotation: the first secret is no longer the previous one
  const r2 = await server.admin('POST', `/api/v1/connections/${conn.connection_id}/rotate-secret`);
  assert.equal(r2.status, 200);
  const ancient = await server.post(conn, textEvent(`c-${uid()}`, 'two rotations ago'), { secret: conn.jwt_secret });
  assert.equal(ancient.status, 401, `a secret two rotations old: ${ancient.text}`);
  const previous = await server.post(conn, textEvent(`c-${uid()}`, 'one rotation ago'), { secret: fresh });
  assert.equal(previous.status, 200, previous.text);

  const unknown = await server.admin('POST', `/api/v1/connections/${uid()}/rotate-secret`);
  assert.equal(unknown.status, 404);
});

test('delete: gone from the list, 404 on show, 401 on /messages', async () => {
  const conn = await server.createConnection({ webhook: hook.url });
  assert.equal((await server.post(conn, textEvent(`c-${uid()}`, 'before'))).status, 200);
  const del = await server.admin('DELETE', `/api/v1/connections/${conn.connection_id}`);
  assert.ok([200, 204].includes(del.status), `delete: ${del.status} ${del.text}`);
  assert.equal((await server.admin('GET', `/api/v1/connections/${conn.connection_id}`)).status, 404);
  const list = await server.admin('GET', '/api/v1/connections');
  assert.ok(!list.json.connections.some((x) => x.connection_id === conn.connection_id));
  const r = await server.post(conn, textEvent(`c-${uid()}`, 'after'));
  assert.equal(r.status, 401, r.text);
  assertErrorBody(r, 'deleted connection');
  assert.equal((await server.admin('DELETE', `/api/v1/connections/${conn.connection_id}`)).status, 404);
});

test('without --allow-insecure-webhooks, http and private, loopback or link-local targets are refused; --public-url', async () => {
  const strict = await Server.start({ insecure: false, args: ['--public-url', 'https://parley.example.com'] });
  try {
    const refused = [
      'http://93.184.216.34/hook',
      'http://127.0.0.1:9/hook',
      'https://127.0.0.1/hook',
      'https://127.1.2.3/hook',
      'https://localhost/hook',
      'https://10.1.2.3/hook',
      'https://172.16.5.4/hook',
      'https://192.168.1.1/hook',
      'https://169.254.169.254/latest',
      'https://0.0.0.0/hook',
      'https://[::1]/hook',
      'https://[fe80::1]/hook',
      'https://[fd00::1]/hook',
      'https://[::ffff:127.0.0.1]/hook',
    ];
    const accepted = [];
    for (const url of refused) {
      const r = await strict.admin('POST', '/api/v1/connections', { name: `s-${uid()}`, client_webhook: url });
      if (r.status === 400) assertErrorBody(r, url);
      else accepted.push(`${url} (${r.status})`);
    }
    assert.deepEqual(accepted, [], 'webhooks that must be refused without --allow-insecure-webhooks');
    const ok = await strict.admin('POST', '/api/v1/connections', {
      name: `s-${uid()}`,
      client_webhook: 'https://93.184.216.34/hook',
    });
    assert.equal(ok.status, 201, `a public https address is fine: ${ok.text}`);
    assert.equal(ok.json.digital_messaging_webhook, 'https://parley.example.com/messages', '--public-url');
    const patch = await strict.admin('PATCH', `/api/v1/connections/${ok.json.connection_id}`, {
      client_webhook: 'https://127.0.0.1/hook',
    });
    assert.equal(patch.status, 400, `patch to loopback: ${patch.text}`);
    await strict.stop();
  } finally {
    await strict.cleanup();
  }
});
