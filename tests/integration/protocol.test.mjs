// Every refusal of PROTOCOL.md §2–3: the status, an error body {"error":{"code","message"}},
// and nothing changed; duplicates; limits; the server keeps serving.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { startFixture, jwt, sign, uid, waitFor, textEvent, rawConnect, waitClosed } from './harness.mjs';

let fixture, server, hook, conn, conn2;
const refusedCustomers = new Set();

before(async () => {
  fixture = await startFixture({
    receiver: 'protocol',
    server: { args: ['--retry-initial-ms', '20', '--retry-max-ms', '200'] },
    connections: 2,
  });
  ({ server, hook } = fixture);
  [conn, conn2] = fixture.conns;
});

after(() => fixture?.close());

function assertErrorBody(r, what) {
  assert.match(r.json?.error?.code ?? '', /^[a-z][a-z0-9_]*$/, `${what}: error.code in ${r.text}`);
  assert.equal(typeof r.json?.error?.message, 'string', `${what}: error.message in ${r.text}`);
  assert.ok(r.json.error.message.length > 0, `${what}: empty error.message`);
  assert.match(r.headers.get('content-type') ?? '', /^application\/json/, `${what}: content-type`);
}

function freshText() {
  const cid = `refused-${uid()}`;
  refusedCustomers.add(cid);
  return textEvent(cid, 'must not be stored');
}

const b64 = (o) => Buffer.from(JSON.stringify(o)).toString('base64url');
function handMade(header, claims, secret) {
  const head = `${b64(header)}.${b64(claims)}`;
  const sig = crypto.createHmac('sha256', secret).update(head).digest('base64url');
  return `${head}.${sig}`;
}

test('tokens that must be refused get 401 with an error body', async () => {
  const now = Math.floor(Date.now() / 1000);
  const iss = conn.connection_id;
  const good = sign(conn);
  const [h, p, s] = good.split('.');
  const cases = {
    'no Authorization header': { token: '' },
    'empty Bearer': { headers: { authorization: 'Bearer ' } },
    'Basic scheme': { headers: { authorization: `Basic ${good}` } },
    'token without scheme': { headers: { authorization: good } },
    'two parts': { token: `${h}.${p}` },
    'four parts': { token: `${good}.x` },
    garbage: { token: 'a.b.c' },
    'not base64': { token: '!!!.@@@.###' },
    'wrong secret': { token: jwt.sign({ iss }, 'not-the-secret-not-the-secret-123456', { algorithm: 'HS256' }) },
    'alg none': { token: jwt.sign({ iss }, null, { algorithm: 'none' }) },
    'alg none, signature kept': { token: `${b64({ alg: 'none', typ: 'JWT' })}.${p}.${s}` },
    HS512: { token: jwt.sign({ iss }, conn.jwt_secret, { algorithm: 'HS512' }) },
    HS384: { token: jwt.sign({ iss }, conn.jwt_secret, { algorithm: 'HS384' }) },
    'RS256 header over an HMAC': { token: handMade({ alg: 'RS256', typ: 'JWT' }, { iss, iat: now }, conn.jwt_secret) },
    'tampered claims': { token: `${h}.${b64({ iss, iat: now, admin: true })}.${s}` },
    'tampered signature': { token: `${h}.${p}.${s.slice(0, -2)}${s.endsWith('AA') ? 'BB' : 'AA'}` },
    'older than 5 minutes': { token: sign(conn, { iat: now - 301 }) },
    'issued 10 minutes ahead': { token: sign(conn, { iat: now + 600 }) },
    'issued 60 s ahead': { token: sign(conn, { iat: now + 60 }) },
    'expired exp': { token: sign(conn, { iat: now - 200, exp: now - 100 }) },
    'nbf in the future': { token: sign(conn, { iat: now, nbf: now + 120 }) },
    'no iat': { token: sign(conn, {}, { noTimestamp: true }) },
    'iat a string': { token: handMade({ alg: 'HS256', typ: 'JWT' }, { iss, iat: String(now) }, conn.jwt_secret) },
    'no iss': { token: handMade({ alg: 'HS256', typ: 'JWT' }, { iat: now }, conn.jwt_secret) },
    'secret base64-decoded': {
      token: jwt.sign({ iss }, Buffer.from(conn.jwt_secret, 'base64url'), { algorithm: 'HS256' }),
    },
  };
  for (const [name, o] of Object.entries(cases)) {
    const r = await server.post(conn, freshText(), o);
    assert.equal(r.status, 401, `${name}: ${r.status} ${r.text}`);
    assertErrorBody(r, name);
  }
});

test('tokens at the edges of the time rules are accepted', async () => {
  const now = Math.floor(Date.now() / 1000);
  const cases = {
    'iat 290 s ago': sign(conn, { iat: now - 290 }),
    'iat 20 s ahead (skew)': sign(conn, { iat: now + 20 }),
    'exp in the future': sign(conn, { iat: now, exp: now + 60 }),
    'nbf now': sign(conn, { iat: now, nbf: now }),
    'extra claims': sign(conn, { sub: 'bridge', jti: uid() }),
  };
  for (const [name, token] of Object.entries(cases)) {
    const r = await server.post(conn, textEvent(`edge-${uid()}`, name), { token });
    assert.equal(r.status, 200, `${name}: ${r.status} ${r.text}`);
  }
  const noHeader = await server.post(conn, textEvent(`edge-${uid()}`, 'no connection_id header'), {
    headers: { connection_id: null },
  });
  assert.equal(noHeader.status, 200, `the connection_id header is optional: ${noHeader.text}`);
});

test('an unknown issuer and a wrong secret look the same (401), a header/issuer mismatch is 403', async () => {
  const ghost = { connection_id: crypto.randomUUID(), jwt_secret: crypto.randomBytes(32).toString('base64url') };
  const unknown = await server.post(ghost, freshText());
  const wrong = await server.post(conn, freshText(), { secret: ghost.jwt_secret });
  assert.equal(unknown.status, 401, unknown.text);
  assert.equal(wrong.status, 401, wrong.text);
  assertErrorBody(unknown, 'unknown issuer');
  assert.deepEqual(unknown.json, wrong.json, 'the body does not tell whether the connection exists');

  const mismatch = await server.post(conn, freshText(), { token: sign(conn2) });
  assert.equal(mismatch.status, 403, `conn2's token under conn's header: ${mismatch.text}`);
  assertErrorBody(mismatch, 'header/issuer mismatch');
});

test('bad payloads get 400 with an error body', async () => {
  const cid = () => {
    const c = `refused-${uid()}`;
    refusedCustomers.add(c);
    return c;
  };
  const t = (extra) => ({ type: 'text', customer_id: cid(), message_id: uid(), text: ['x'], ...extra });
  const bad = {
    'not JSON': { raw: '{"type":"text",' },
    'empty body': { raw: '' },
    'an array': { raw: '[1,2,3]' },
    'a string': { raw: '"text"' },
    null: { raw: 'null' },
    'trailing garbage': { raw: `${JSON.stringify(t())} x` },
    'invalid UTF-8': { raw: Buffer.concat([Buffer.from('{"type":"text","customer_id":"'), Buffer.from([0xff, 0xfe]), Buffer.from('","message_id":"1","text":["x"]}')]) },
    'no type': { body: { customer_id: cid(), message_id: uid(), text: ['x'] } },
    'unknown type': { body: { type: 'sticker', customer_id: cid(), message_id: uid() } },
    'type a number': { body: { type: 7, customer_id: cid(), message_id: uid(), text: ['x'] } },
    'no customer_id': { body: { type: 'text', message_id: uid(), text: ['x'] } },
    'empty customer_id': { body: t({ customer_id: '' }) },
    'customer_id of 257': { body: t({ customer_id: 'c'.repeat(257) }) },
    'customer_id an object': { body: t({ customer_id: { id: 1 } }) },
    'customer_id true': { body: t({ customer_id: true }) },
    'no message_id': { body: { type: 'text', customer_id: cid(), text: ['x'] } },
    'message_id of 257': { body: t({ message_id: 'm'.repeat(257) }) },
    'message_id null': { body: t({ message_id: null }) },
    'text a number': { body: t({ text: 42 }) },
    'text of numbers': { body: t({ text: [1, 2] }) },
    'text an object': { body: t({ text: { line: 'x' } }) },
    'no text, postback or attachments': { body: { type: 'text', customer_id: cid(), message_id: uid() } },
    'customer_name of 257': { body: t({ customer_name: 'n'.repeat(257) }) },
    'customer_name a number': { body: t({ customer_name: 5 }) },
    'postback of 1025': { body: t({ postback: 'p'.repeat(1025) }) },
    'postback an object': { body: t({ postback: { a: 1 } }) },
    '11 attachments': { body: t({ attachments: Array.from({ length: 11 }, (_, i) => ({ url: `https://x.example/${i}` })) }) },
    'attachments an object': { body: t({ attachments: { url: 'https://x.example/a' } }) },
    'attachment without url': { body: t({ attachments: [{ file_name: 'a.png' }] }) },
    'context_data an array': { body: t({ context_data: ['a'] }) },
    'context_data nested': { body: t({ context_data: { a: { b: 1 } } }) },
    'context_data over 4 KiB': { body: t({ context_data: { big: 'x'.repeat(4200) } }) },
    'typing without customer_id': { body: { type: 'typing_indicator' } },
    'end without customer_id': { body: { type: 'customer_end_session' } },
  };
  for (const [name, o] of Object.entries(bad)) {
    const r = await server.post(conn, o.body, { raw: o.raw });
    assert.equal(r.status, 400, `${name}: ${r.status} ${r.text}`);
    assertErrorBody(r, name);
  }
});

test('values at the limits are accepted', async () => {
  const c = `limits-${uid()}`;
  const ok = {
    'customer_id of 256': { type: 'text', customer_id: 'c'.repeat(255) + uid().slice(0, 1), message_id: uid(), text: ['x'] },
    'message_id of 256': { ...textEvent(c, 'x'), message_id: `${uid()}${'m'.repeat(220)}` },
    'customer_name of 256': textEvent(c, 'x', { customer_name: 'n'.repeat(256) }),
    'postback of 1024': { type: 'text', customer_id: c, message_id: uid(), postback: 'p'.repeat(1024) },
    '10 attachments': {
      type: 'text',
      customer_id: c,
      message_id: uid(),
      attachments: Array.from({ length: 10 }, (_, i) => ({ url: `https://x.example/${i}.png`, content_type: 'image/png', file_name: `${i}.png`, size: 10 })),
    },
    'context_data of scalars': textEvent(c, 'x', { context_data: { s: 'a', n: 1.5, b: true } }),
    'unknown fields': textEvent(c, 'x', { future_field: { anything: [1] } }),
    'unicode text': textEvent(c, ['héllo 👋 مرحبا', 'z\u0301'.repeat(100)]),
    'a 60 KiB text': textEvent(c, ['y'.repeat(60 * 1024)]),
    typing: { type: 'typing_indicator', customer_id: c },
  };
  for (const [name, body] of Object.entries(ok)) {
    const r = await server.post(conn, body);
    assert.equal(r.status, 200, `${name}: ${r.status} ${r.text.slice(0, 300)}`);
  }
});

test('a 200 KiB body gets 413, text/plain 415; the server keeps serving', async () => {
  const big = await server.post(conn, freshText(), { raw: JSON.stringify({ ...freshText(), text: ['y'.repeat(200 * 1024)] }) });
  assert.equal(big.status, 413, `200 KiB: ${big.status}`);
  assertErrorBody(big, '413');
  const over = await server.post(conn, null, { raw: JSON.stringify({ ...freshText(), text: ['y'.repeat(65 * 1024)] }) });
  assert.equal(over.status, 413, `65 KiB: ${over.status}`);

  const plain = await server.post(conn, freshText(), { contentType: 'text/plain' });
  assert.equal(plain.status, 415, `text/plain: ${plain.status} ${plain.text}`);
  assertErrorBody(plain, '415');
  const form = await server.post(conn, freshText(), { contentType: 'application/x-www-form-urlencoded' });
  assert.equal(form.status, 415, `form: ${form.status}`);
  const none = await server.post(conn, freshText(), { contentType: null });
  assert.equal(none.status, 415, `no content type: ${none.status}`);
  const charset = await server.post(conn, textEvent(`cs-${uid()}`, 'x'), { contentType: 'application/json; charset=utf-8' });
  assert.equal(charset.status, 200, `application/json; charset=utf-8: ${charset.text}`);

  const later = await server.post(conn, textEvent(`later-${uid()}`, 'still fine'));
  assert.equal(later.status, 200, 'the server keeps working after bad input');
});

test('unknown paths get 404 with an error body', async () => {
  const r = await server.request('GET', '/no/such/path');
  assert.equal(r.status, 404);
  assertErrorBody(r, '404');
});

test('a repeated message_id is answered duplicate and changes nothing', async () => {
  const cid = `dup-${uid()}`;
  const first = textEvent(cid, 'once');
  const r1 = await server.post(conn, first);
  assert.deepEqual(r1.json, { status: 'accepted' });
  const r2 = await server.post(conn, first);
  assert.equal(r2.status, 200);
  assert.deepEqual(r2.json, { status: 'duplicate' });
  const r3 = await server.post(conn, { ...first, text: ['changed'] });
  assert.deepEqual(r3.json, { status: 'duplicate' }, 'same message_id, other text');
  // numeric and string ids are the same id
  const n = Math.floor(Math.random() * 1e12);
  assert.deepEqual((await server.post(conn, { ...textEvent(cid, 'num'), message_id: n })).json, { status: 'accepted' });
  assert.deepEqual((await server.post(conn, { ...textEvent(cid, 'num'), message_id: String(n) })).json, { status: 'duplicate' });
  // idempotency is per connection
  const elsewhere = await server.post(conn2, first);
  assert.deepEqual(elsewhere.json, { status: 'accepted' }, 'the same message_id on another connection');

  await waitFor(() => hook.deliveredTo(conn, cid).length >= 2 && hook.deliveredTo(conn2, cid).length >= 1, {
    message: 'the echoes',
  });
  const [conv] = await server.conversationsOf(conn, cid);
  const inbound = (await server.conversation(conv.id)).transcript.filter((e) => e.direction === 'in');
  assert.deepEqual(inbound.map((e) => e.payload?.text ?? e.text), [['once'], ['num']], 'one transcript entry each');
  // a later message's echo proves the duplicates produced no extra echo before it
  await server.send(conn, textEvent(cid, 'last'));
  await waitFor(() => hook.deliveredTo(conn, cid).length >= 3, { message: 'the last echo' });
  assert.deepEqual(hook.deliveredTo(conn, cid).map((e) => e.text[0]), ['once', 'num', 'last']);
});

test('refused requests changed nothing: no conversation for any refused customer', async () => {
  assert.ok(refusedCustomers.size > 40);
  const all = await server.conversations();
  const leaked = all.filter((c) => refusedCustomers.has(c.customer_id));
  assert.deepEqual(leaked, []);
  assert.equal(hook.rejected.length, 0);
});

// Raw HTTP for what fetch does not send: chunked bodies.
async function rawPost(body, headers) {
  const s = await rawConnect(server.port);
  const closed = waitClosed(s, 10000).catch(() => null);
  const lines = [`POST /messages HTTP/1.1`, `Host: 127.0.0.1`, `Content-Type: application/json`,
    `Authorization: Bearer ${sign(conn)}`, `connection_id: ${conn.connection_id}`, 'Connection: close', ...headers];
  s.write(`${lines.join('\r\n')}\r\n\r\n`);
  if (body) s.write(body);
  await closed;
  s.destroy();
  return s.received;
}

test('a chunked body is accepted; a chunked body over the limit gets 413', async () => {
  const json = JSON.stringify(textEvent(`chunked-${uid()}`, 'sent in chunks'));
  const half = Math.floor(json.length / 2);
  const chunk = (x) => `${Buffer.byteLength(x).toString(16)}\r\n${x}\r\n`;
  const ok = await rawPost(chunk(json.slice(0, half)) + chunk(json.slice(half)) + '0\r\n\r\n', ['Transfer-Encoding: chunked']);
  assert.match(ok, /^HTTP\/1\.1 200/, `chunked: ${ok.slice(0, 200)}`);
  const big = 'x'.repeat(16 * 1024);
  const over = await rawPost(chunk(big).repeat(8) + '0\r\n\r\n', ['Transfer-Encoding: chunked']);
  assert.match(over, /^HTTP\/1\.1 413/, `chunked over the limit: ${over.slice(0, 200)}`);
});

