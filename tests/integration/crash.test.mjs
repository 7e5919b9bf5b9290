// kill -9 under load: every message that was answered 200 is in a transcript after the
// restart, and its echo reaches the webhook; nothing acknowledged is lost.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { Server, Receiver, uid, waitFor, textEvent, range, delay } from './harness.mjs';

let server, hook;

after(async () => {
  await server?.cleanup();
  await hook?.close();
});

const POSTERS = 6;
const CUSTOMERS_PER_POSTER = 3;

// Each poster owns a few customers and posts to them round-robin, one request at a time,
// until told to stop or the server goes away. Returns the acknowledged messages.
async function poster(id, conn, state) {
  const acked = [];
  const customers = range(CUSTOMERS_PER_POSTER).map((i) => `k${id}-${i}-${state.run}`);
  for (let n = 0; !state.stop; n++) {
    const c = customers[n % customers.length];
    const ev = textEvent(c, `${c} r${state.round} m${n}`);
    let r;
    try {
      r = await server.post(conn, ev, { timeout: 5000 });
    } catch {
      return acked; // the server is gone; this message was not acknowledged
    }
    if (r.status === 200) {
      assert.equal(r.json?.status, 'accepted');
      acked.push({ customer: c, message_id: ev.message_id, text: ev.text[0], n });
      state.acked++;
    } else if (r.status !== 503) {
      throw new Error(`unexpected ${r.status} ${r.text}`);
    }
  }
  return acked;
}

// The same customers in every round, so their conversations continue across crashes.
const RUN = Math.random().toString(36).slice(2, 8);

async function roundOfLoad(conn, round) {
  const state = { stop: false, acked: 0, round, run: RUN };
  const posters = range(POSTERS).map((i) => poster(i, conn, state));
  await waitFor(() => state.acked >= 150, { timeout: 20000, message: 'load building up' });
  // a little more load with deliveries in flight, then the crash
  await delay(Math.floor(Math.random() * 100));
  await server.kill9();
  state.stop = true;
  return (await Promise.all(posters)).flat();
}

test('kill -9 under load loses no acknowledged message and no queued delivery', async () => {
  hook = await Receiver.start('crash');
  // a webhook that is a bit slow and sometimes fails, so deliveries are queued at the crash
  let i = 0;
  hook.policy = () => (i++ % 7 === 0 ? { status: 500 } : { status: 200, delayMs: 2 });
  server = await Server.start({ args: ['--retry-initial-ms', '20', '--retry-max-ms', '200'] });
  const conn = await server.createConnection({ webhook: hook.url, bot: 'echo' });
  hook.trust(conn);

  const acked = [];
  for (const round of [1, 2]) {
    acked.push(...(await roundOfLoad(conn, round)));
    await server.start();
  }
  assert.ok(acked.length >= 300, `acknowledged ${acked.length}`);

  // every acknowledged message is in its customer's transcript
  const byCustomer = new Map();
  for (const a of acked) byCustomer.set(a.customer, [...(byCustomer.get(a.customer) ?? []), a]);
  const lost = [];
  for (const [customer, msgs] of byCustomer) {
    const convs = await server.conversationsOf(conn, customer);
    const inbound = new Set();
    for (const c of convs) {
      for (const e of (await server.conversation(c.id)).transcript) {
        if (e.direction === 'in' && e.message_id) inbound.add(e.message_id);
      }
    }
    for (const m of msgs) if (!inbound.has(m.message_id)) lost.push(`${customer}: ${m.text}`);
  }
  assert.deepEqual(lost, [], `acknowledged but not in a transcript: ${lost.length}`);

  // and its echo reaches the webhook, at least once, in the order the messages were sent
  hook.policy = null;
  const echoed = () => new Set(hook.delivered().map((e) => e.text?.[0]));
  await waitFor(() => acked.every((a) => echoed().has(a.text)), {
    timeout: 30000,
    message: () => `echoes of acknowledged messages: ${acked.filter((a) => echoed().has(a.text)).length}/${acked.length}`,
  });
  const violations = hook.orderViolations({ exactlyOnce: false });
  assert.deepEqual(violations, [], violations.join('\n'));
  for (const [customer, msgs] of byCustomer) {
    const firsts = [];
    const seen = new Set();
    for (const e of hook.deliveredTo(conn, customer)) {
      if (!seen.has(e.event_id)) firsts.push(e);
      seen.add(e.event_id);
    }
    assert.deepEqual(firsts.map((e) => e.seq), range(firsts.length), `${customer}: seqs without gaps`);
    const ackedTexts = new Set(msgs.map((m) => m.text));
    const order = firsts.map((e) => e.text[0]).filter((t) => ackedTexts.has(t));
    assert.deepEqual(order, msgs.map((m) => m.text), `${customer}: echoes in the order sent`);
  }
  assert.equal(hook.rejected.length, 0);
  const stopped = await server.stop();
  assert.equal(stopped.code, 0);
});
