// The body limit is a setting: a server started with --max-body-bytes above the 1 MiB it
// reads by default accepts bodies up to that limit, and answers 413 only past it.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startFixture, textEvent, uid } from './harness.mjs';

let fixture, server, conn;
const limit = 2 * 1024 * 1024;

before(async () => {
  fixture = await startFixture({
    receiver: 'limits',
    server: { args: ['--max-body-bytes', String(limit)] },
    connections: 1,
    bot: 'none',
  });
  ({ server } = fixture);
  [conn] = fixture.conns;
});

after(() => fixture?.close());

test('a 1.5 MiB message is accepted when the limit is 2 MiB; 2.5 MiB gets 413', async () => {
  const big = textEvent(`big-${uid()}`, ['y'.repeat(1536 * 1024)]);
  const ok = await server.post(conn, big, { timeout: 30000 });
  assert.equal(ok.status, 200, `1.5 MiB: ${ok.status} ${ok.text.slice(0, 300)}`);

  const over = textEvent(`over-${uid()}`, ['y'.repeat(2560 * 1024)]);
  const refused = await server.post(conn, over, { timeout: 30000 });
  assert.equal(refused.status, 413, `2.5 MiB: ${refused.status}`);
  assert.match(refused.json?.error?.message ?? '', /2097152 bytes/);

  const later = await server.post(conn, textEvent(`later-${uid()}`, 'still fine'));
  assert.equal(later.status, 200, 'the server keeps serving');
});
