// Retries keep the event_id; ordering per conversation holds under random failures.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startFixture, uid, waitFor, textEvent, range } from './harness.mjs';

let fixture, server, hook, conn;

before(async () => {
  fixture = await startFixture({ receiver: 'retries', server: {
    args: ['--retry-initial-ms', '20', '--retry-max-ms', '150', '--webhook-timeout-ms', '1000'],
  } });
  ({ server, hook, conn } = fixture);
});

after(() => fixture?.close());

async function retriedUntilOk(cid, failures) {
  for (const f of failures) hook.plan.push(f);
  await server.send(conn, textEvent(cid, 'retry me'));
  await waitFor(() => hook.deliveredTo(conn, cid).length === 1, {
    timeout: 15000,
    message: () => `a delivery after ${failures.length} failures; attempts ${JSON.stringify(hook.attemptsFor(conn, cid).map((a) => a.outcome))}`,
  });
  return hook.attemptsFor(conn, cid);
}

test('a webhook answering 500 is retried with the same event_id until 2xx', async () => {
  const cid = `c-${uid()}`;
  const tries = await retriedUntilOk(cid, [{ status: 500 }, { status: 500 }, { status: 503 }]);
  assert.deepEqual(tries.map((a) => a.outcome), ['status 500', 'status 500', 'status 503', 'ok']);
  assert.equal(new Set(tries.map((a) => a.event.event_id)).size, 1, 'one event_id on every try');
  assert.ok(tries.every((a) => a.event.seq === 1));
  assert.deepEqual(tries[0].event.text, tries[3].event.text);
});

test('a webhook that resets the connection is retried with the same event_id', async () => {
  const cid = `c-${uid()}`;
  const tries = await retriedUntilOk(cid, [{ close: true }, { close: true }]);
  assert.deepEqual(tries.map((a) => a.outcome), ['closed', 'closed', 'ok']);
  assert.equal(new Set(tries.map((a) => a.event.event_id)).size, 1);
});

test('4xx answers are retried too (the receiver may be misconfigured for a while)', async () => {
  const cid = `c-${uid()}`;
  const tries = await retriedUntilOk(cid, [{ status: 404 }, { status: 429 }]);
  assert.equal(tries.length, 3);
  assert.equal(new Set(tries.map((a) => a.event.event_id)).size, 1);
});

test('the retry schedule backs off: later retries wait longer than the first', async () => {
  const cid = `c-${uid()}`;
  const tries = await retriedUntilOk(cid, range(8).map(() => ({ status: 500 })));
  const gaps = tries.slice(1).map((a, i) => a.t - tries[i].t);
  // initial 20 ms, cap 150 ms: the later gaps sit near the cap (even full jitter keeps their
  // sum well above 100 ms), and none is absurdly long.
  assert.ok(gaps.every((g) => g < 2000), `gaps ${gaps}`);
  const late = gaps.slice(3).reduce((a, b) => a + b, 0);
  assert.ok(late >= 100, `backoff grows: gaps ${gaps}`);
});

test('under random failures every conversation is delivered in seq order, without gaps', async () => {
  const conversations = 8;
  const perConversation = 12;
  let rnd = 12345;
  const random = () => ((rnd = (rnd * 1103515245 + 12345) % 2147483648) / 2147483648);
  hook.policy = () => {
    const x = random();
    if (x < 0.25) return { status: 500 };
    if (x < 0.3) return { close: true };
    if (x < 0.35) return { status: 502, delayMs: 30 };
    if (x < 0.5) return { status: 200, delayMs: 15 };
    return undefined;
  };
  try {
    const customers = range(conversations).map((i) => `order${i}-${uid()}`);
    // Posters per conversation run concurrently; each conversation's messages go in order.
    await Promise.all(
      customers.map(async (c) => {
        for (let i = 1; i <= perConversation; i++) await server.send(conn, textEvent(c, `${c} #${i}`));
      }),
    );
    await waitFor(() => customers.every((c) => hook.deliveredTo(conn, c).length >= perConversation), {
      timeout: 60000,
      message: () =>
        `all echoes: ${customers.map((c) => hook.deliveredTo(conn, c).length).join(',')} of ${perConversation}`,
    });
    const violations = hook.orderViolations();
    assert.deepEqual(violations, [], violations.join('\n'));
    for (const c of customers) {
      const got = hook.deliveredTo(conn, c);
      assert.deepEqual(got.map((e) => e.seq), range(perConversation), `${c}: seqs`);
      assert.deepEqual(got.map((e) => e.text[0]), range(perConversation).map((i) => `${c} #${i}`), `${c}: texts`);
    }
    const failed = hook.attempts.filter((a) => a.outcome !== 'ok' && a.key.includes('order')).length;
    assert.ok(failed > 10, `the policy did fail some attempts (${failed})`);
    assert.equal(hook.rejected.length, 0);
  } finally {
    hook.policy = null;
  }
});
