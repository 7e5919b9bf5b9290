// Issue 19, part B through the real binary: the satisfaction survey after a chat with a person
// (through POST /messages and the client webhook), business hours with the test clock
// (`serve --test-clock`), and the reports' figures on a scripted day, the same after a restart.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { readyAgent, startRouting } from './agent_support.mjs';
import { sign, textEvent, uid, waitFor } from './harness.mjs';

// Long timers: the scripted day jumps the clock by minutes and hours, and nothing may ring out,
// go idle or expire meanwhile.
const CALM = { offer_timeout_s: 3600, customer_idle_reminder_s: 86400, customer_idle_end_s: 172800, session_idle_s: 86400 };

async function startClocked(settings = {}) {
  const env = await startRouting({ ...CALM, ...settings }, { args: ['--test-clock'] });
  env.offset = 0;
  // Sets (and freezes) the server's clock; the receiver checks webhook tokens against it.
  env.at = async (iso, frozen = true) => {
    const r = await env.server.admin('PUT', '/api/v1/test/clock', { now: iso, frozen });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.now, iso.replace('Z', '.000Z').replace('.000.000Z', '.000Z'));
    env.offset = Date.parse(r.json.now) - Date.now();
    env.hook.clockOffsetMs = env.offset;
  };
  // POST /messages with a token minted at the server's now.
  env.say = async (conn, body) => {
    const iat = Math.floor((Date.now() + env.offset) / 1000);
    const r = await env.server.post(conn, body, { token: sign(conn, { iat }) });
    assert.equal(r.status, 200, r.text);
    return r;
  };
  return env;
}

const types = (events) => events.map((e) => (e.type === 'text' ? `text:${e.text.join(' ')}` : e.type));

test('survey: an agent ends the chat, the customer rates it and comments, then csr_end_session', async () => {
  const env = await startRouting();
  try {
    const { server, direct, hook } = env;
    const bad = await server.admin('POST', '/api/v1/queues', { name: 'default', csat: 'yes' });
    assert.equal(bad.status, 400);
    assert.equal(bad.json.error.code, 'invalid_csat');
    const created = await server.admin('POST', '/api/v1/queues', { name: 'default', csat: true });
    assert.equal(created.status, 201, created.text);
    assert.equal(created.json.csat, true);
    const ann = await readyAgent(server, { display_name: 'Ann' });

    const customer = `s1-${uid()}`;
    await server.send(direct, textEvent(customer, 'my card is blocked'));
    const offer = await ann.event(ann.of('conversation.offered'));
    const id = offer.conversation.id;
    await ann.ok('POST', `/api/v1/conversations/${id}/accept`);
    await ann.ok('POST', `/api/v1/conversations/${id}/messages`, { type: 'text', text: ['Unblocked.'] }, 202);
    await ann.ok('POST', `/api/v1/conversations/${id}/end`);
    // The agent is free at once; the conversation waits for the rating, with nobody but the
    // survey owning it.
    const during = await server.conversation(id);
    assert.equal(during.state, 'bot');
    assert.equal(during.owner, 'survey');
    assert.equal((await ann.ok('GET', '/api/v1/agents/me')).chats, 0);
    const menu = await waitFor(() => hook.deliveredTo(direct, customer).find((e) => e.type === 'menu'), { message: 'the survey menu' });
    assert.equal(menu.title, 'How did we do?');
    assert.deepEqual(menu.items.map((i) => i.payload), ['csat:1', 'csat:2', 'csat:3', 'csat:4', 'csat:5']);
    assert.ok(!hook.deliveredTo(direct, customer).some((e) => e.type === 'csr_end_session'), 'no end before the survey is over');

    await server.send(direct, textEvent(customer, '', { text: [], postback: 'csat:4' }));
    await server.send(direct, textEvent(customer, ['Quick and kind, thanks', 'second line is dropped']));
    await waitFor(() => hook.deliveredTo(direct, customer).some((e) => e.type === 'csr_end_session'), { message: 'csr_end_session' });
    assert.deepEqual(types(hook.deliveredTo(direct, customer)).slice(-4), [
      'menu',
      'text:Thank you! If you like, tell us in one line what we could do better.',
      'text:Thank you for your feedback.',
      'csr_end_session',
    ]);
    const after = await server.conversation(id);
    assert.equal(after.state, 'ended');
    assert.equal(after.csat, 4);
    assert.equal(after.csat_comment, 'Quick and kind, thanks');
    // The overview counts today's rating.
    const overview = await server.admin('GET', '/api/v1/overview');
    const q = overview.json.queues.find((x) => x.name === 'default');
    assert.deepEqual(q.csat_today, { average: 4, count: 1 });
    // The agent's history shows it too (GET conversation is what the console's History opens).
    const mine = await ann.ok('GET', `/api/v1/conversations/${id}`);
    assert.equal(mine.csat, 4);

    // A customer who answers with something else gets no second question: the survey closes.
    const other = `s2-${uid()}`;
    await server.send(direct, textEvent(other, 'hello'));
    const offer2 = await ann.event((f) => f.type === 'conversation.offered' && f.conversation.id !== id);
    await ann.ok('POST', `/api/v1/conversations/${offer2.conversation.id}/accept`);
    await ann.ok('POST', `/api/v1/conversations/${offer2.conversation.id}/end`);
    await waitFor(() => hook.deliveredTo(direct, other).some((e) => e.type === 'menu'), { message: 'second menu' });
    await server.send(direct, textEvent(other, 'where is my parcel?'));
    await waitFor(() => hook.deliveredTo(direct, other).some((e) => e.type === 'csr_end_session'), { message: 'closed unanswered' });
    const unanswered = await server.conversation(offer2.conversation.id);
    assert.equal(unanswered.state, 'ended');
    assert.equal(unanswered.csat, null);
    await ann.disconnect();
  } finally {
    await env.close();
  }
});

test('survey: nothing is asked after a chat the bot handled alone, nor when csat is off', async () => {
  const env = await startRouting();
  try {
    const { server, bank, direct, hook } = env;
    const customer = `s3-${uid()}`;
    await server.send(bank, textEvent(customer, 'hello'));
    await server.send(bank, { type: 'customer_end_session', customer_id: customer });
    await waitFor(async () => (await server.conversationsOf(bank, customer))[0]?.state === 'ended', { message: 'ended' });
    assert.ok(!hook.deliveredTo(bank, customer).some((e) => e.type === 'menu' && e.title === 'How did we do?'));

    await server.admin('POST', '/api/v1/queues', { name: 'default' }); // csat off by default
    const ann = await readyAgent(server);
    const other = `s4-${uid()}`;
    await server.send(direct, textEvent(other, 'hi'));
    const offer = await ann.event(ann.of('conversation.offered'));
    await ann.ok('POST', `/api/v1/conversations/${offer.conversation.id}/accept`);
    const ended = await ann.ok('POST', `/api/v1/conversations/${offer.conversation.id}/end`);
    assert.equal(ended.state, 'ended');
    await waitFor(() => hook.deliveredTo(direct, other).some((e) => e.type === 'csr_end_session'), { message: 'end' });
    assert.ok(!hook.deliveredTo(direct, other).some((e) => e.type === 'menu'));
    await ann.disconnect();
  } finally {
    await env.close();
  }
});

test('business hours: validated, open and opens_at by the test clock, closed_text with the next opening', async () => {
  const env = await startClocked();
  try {
    const { server, direct } = env;
    const hours = {
      time_zone: 'Europe/London',
      weekly: { mon: [['09:00', '17:30']], tue: [['09:00', '17:30']], wed: [['09:00', '17:30']], thu: [['09:00', '17:30']], fri: [['09:00', '17:30']], sat: [], sun: [] },
      closed_on: ['2026-12-25'],
    };
    for (const bad of [
      { ...hours, time_zone: 'Europe/Atlantis' },
      { ...hours, weekly: { mon: [['9am', '5pm']] } },
      { ...hours, weekly: { mon: [['09:00', '13:00'], ['12:30', '17:00']] } },
      { ...hours, weekly: { mon: [['17:00', '09:00']] } },
      { ...hours, closed_on: ['25/12/2026'] },
    ]) {
      const r = await server.admin('POST', '/api/v1/queues', { name: 'default', hours: bad });
      assert.equal(r.status, 400, JSON.stringify(bad));
      assert.equal(r.json.error.code, 'invalid_hours');
      assert.ok(r.json.error.message.length > 10);
    }
    assert.equal((await server.admin('GET', '/api/v1/queues/default')).status, 404, 'a refused queue is not created');
    const created = await server.admin('POST', '/api/v1/queues', { name: 'default', hours, closed_text: 'We are closed.' });
    assert.equal(created.status, 201, created.text);
    assert.equal(created.json.hours.time_zone, 'Europe/London');

    // Monday 7 December 2026, 08:59 in London (GMT): closed, opens at 09:00.
    await env.at('2026-12-07T08:59:00Z');
    let q = (await server.admin('GET', '/api/v1/queues/default')).json;
    assert.equal(q.open, false);
    assert.equal(q.opens_at, '2026-12-07T09:00:00.000Z');
    const early = `h1-${uid()}`;
    await env.say(direct, textEvent(early, 'anyone there?'));
    const [conv] = await server.conversationsOf(direct, early);
    assert.equal(conv.state, 'bot', 'outside hours the customer stays with the bot');
    const told = (await server.conversation(conv.id)).transcript.filter((e) => e.direction === 'out' && e.type === 'text').map((e) => e.payload.text.join(' '));
    assert.deepEqual(told, ['We are closed. We open again on Monday 2026-12-07 09:00 (Europe/London).']);

    // 09:00: open, and a customer is queued.
    await env.at('2026-12-07T09:00:00Z');
    q = (await server.admin('GET', '/api/v1/queues')).json.queues[0];
    assert.equal(q.open, true);
    assert.equal(q.opens_at, null);
    const ontime = `h2-${uid()}`;
    await env.say(direct, textEvent(ontime, 'hello'));
    assert.equal((await server.conversationsOf(direct, ontime))[0].state, 'queued');

    // Thursday 24 December 18:00: the 25th is closed_on, then the weekend: Monday 28th.
    await env.at('2026-12-24T18:00:00Z');
    q = (await server.admin('GET', '/api/v1/queues/default')).json;
    assert.equal(q.open, false);
    assert.equal(q.opens_at, '2026-12-28T09:00:00.000Z');

    // A day in summer time: 09:00 London is 08:00 UTC.
    await env.at('2026-07-06T08:00:00Z');
    assert.equal((await server.admin('GET', '/api/v1/queues/default')).json.open, true);

    // null: always open again.
    const cleared = await server.admin('PUT', '/api/v1/queues/default', { hours: null });
    assert.equal(cleared.status, 200, cleared.text);
    assert.equal(cleared.json.hours, null);
    assert.equal(cleared.json.open, true);
  } finally {
    await env.close();
  }
});

test('the test clock exists only with --test-clock', async () => {
  const env = await startRouting();
  try {
    const r = await env.server.admin('PUT', '/api/v1/test/clock', { now: '2026-12-07T08:59:00Z' });
    assert.equal(r.status, 404);
  } finally {
    await env.close();
  }
});

test('reports: the figures of a scripted day, by queue and hour and by agent, in JSON and CSV, after a restart too', async () => {
  const env = await startClocked();
  try {
    const { server, direct } = env;
    assert.equal((await server.admin('POST', '/api/v1/queues', { name: 'default', csat: true, service_level_s: 60 })).status, 201);
    const D = '2026-12-01';
    await env.at(`${D}T08:55:00Z`);
    const ann = await readyAgent(server, { username: `ann${uid().slice(0, 6)}`, display_name: 'Ann' });
    const bob = await readyAgent(server, { username: `bob${uid().slice(0, 6)}`, display_name: 'Bob' });
    const c = [1, 2, 3, 4].map((n) => `r${n}-${uid()}`);
    const idOf = async (customer) => (await server.conversationsOf(direct, customer))[0].id;

    await env.at(`${D}T09:00:00Z`);
    await env.say(direct, textEvent(c[0], 'one'));
    const c1 = await idOf(c[0]);
    await env.at(`${D}T09:00:30Z`);
    await ann.ok('POST', `/api/v1/conversations/${c1}/accept`); // waited 30 s
    await env.at(`${D}T09:01:00Z`);
    await env.say(direct, textEvent(c[1], 'two'));
    await env.at(`${D}T09:01:08Z`);
    await env.say(direct, { type: 'customer_end_session', customer_id: c[1] }); // abandoned after 8 s
    await env.at(`${D}T09:02:00Z`);
    await env.say(direct, textEvent(c[2], 'three'));
    const c3 = await idOf(c[2]);
    await env.at(`${D}T09:03:30Z`);
    await ann.ok('POST', `/api/v1/conversations/${c3}/accept`); // waited 90 s: past the 60 s
    await env.at(`${D}T09:05:30Z`);
    await ann.ok('POST', `/api/v1/conversations/${c1}/end`); // handled 300 s
    await env.at(`${D}T09:05:40Z`);
    await env.say(direct, textEvent(c[0], '', { text: [], postback: 'csat:4' }));
    await env.at(`${D}T10:00:00Z`);
    await env.say(direct, textEvent(c[3], 'four'));
    await env.at(`${D}T10:00:40Z`);
    await env.say(direct, { type: 'customer_end_session', customer_id: c[3] }); // abandoned after 40 s
    await env.at(`${D}T10:01:00Z`);
    await ann.ok('POST', `/api/v1/conversations/${c3}/transfer`, { queue: 'default' }); // joins again
    await env.at(`${D}T10:01:20Z`);
    await bob.ok('POST', `/api/v1/conversations/${c3}/accept`); // waited 20 s
    await env.at(`${D}T10:03:20Z`);
    await bob.ok('POST', `/api/v1/conversations/${c3}/end`); // handled 120 s
    await env.say(direct, { type: 'customer_end_session', customer_id: c[2] }); // leaves the survey
    // The next day does not count.
    await env.at('2026-12-02T00:00:05Z');
    await env.say(direct, textEvent(`r5-${uid()}`, 'tomorrow'));

    const check = async () => {
      const r = await server.admin('GET', `/api/v1/reports/queues?from=${D}&to=${D}&interval=hour`);
      assert.equal(r.status, 200, r.text);
      assert.equal(r.json.from, `${D}T00:00:00.000Z`);
      assert.equal(r.json.to, '2026-12-02T00:00:00.000Z');
      const [q] = r.json.queues;
      assert.equal(q.queue, 'default');
      assert.deepEqual(q.totals, {
        offered: 5, answered: 3, abandoned: 2, abandoned_10s: 1, avg_wait_s: 46.667, p90_wait_s: 90,
        service_level: 0.4, avg_handle_s: 210, transfers: 1, csat_avg: 4, csat_count: 1,
      });
      assert.equal(q.intervals.length, 24);
      const { start, end, ...nine } = q.intervals[9];
      assert.equal(start, `${D}T09:00:00.000Z`);
      assert.equal(end, `${D}T10:00:00.000Z`);
      assert.deepEqual(nine, {
        offered: 3, answered: 2, abandoned: 1, abandoned_10s: 1, avg_wait_s: 60, p90_wait_s: 90,
        service_level: 0.333, avg_handle_s: 300, transfers: 0, csat_avg: 4, csat_count: 1,
      });
      const { start: s10, end: e10, ...ten } = q.intervals[10];
      assert.deepEqual(ten, {
        offered: 2, answered: 1, abandoned: 1, abandoned_10s: 0, avg_wait_s: 20, p90_wait_s: 20,
        service_level: 0.5, avg_handle_s: 120, transfers: 1, csat_avg: null, csat_count: 0,
      });
      const agents = await server.admin('GET', `/api/v1/reports/agents?from=${D}&to=${D}`);
      assert.equal(agents.status, 200, agents.text);
      const by = Object.fromEntries(agents.json.agents.map((a) => [a.agent, a.totals]));
      const chats = ({ answered, handled, avg_handle_s, transfers, csat_avg, csat_count }) => ({ answered, handled, avg_handle_s, transfers, csat_avg, csat_count });
      assert.deepEqual(chats(by[ann.username]), { answered: 2, handled: 1, avg_handle_s: 300, transfers: 1, csat_avg: 4, csat_count: 1 });
      assert.deepEqual(chats(by[bob.username]), { answered: 1, handled: 1, avg_handle_s: 120, transfers: 0, csat_avg: null, csat_count: 0 });
      // Part A's status periods: both available from 08:55 to the end of the day.
      assert.equal(by[ann.username].available_s, 15 * 3600 + 5 * 60);
      assert.equal(by[ann.username].away_s, 0);
      assert.deepEqual(by[ann.username].away_by_reason, {});
      const csv = await server.request('GET', `/api/v1/reports/queues?from=${D}&to=${D}&format=csv`, { headers: { authorization: `Bearer ${server.adminToken}` } });
      assert.equal(csv.status, 200);
      assert.match(csv.headers.get('content-type'), /^text\/csv/);
      assert.equal(csv.text, [
        'queue,start,end,offered,answered,abandoned,abandoned_10s,avg_wait_s,p90_wait_s,service_level,avg_handle_s,transfers,csat_avg,csat_count',
        `default,${D}T00:00:00.000Z,2026-12-02T00:00:00.000Z,5,3,2,1,46.667,90,0.4,210,1,4,1`,
        '',
      ].join('\r\n'));
    };
    await check();
    // RFC 3339 times work as well as dates: 09:00-10:00 is hour nine alone.
    const hour = await server.admin('GET', `/api/v1/reports/queues?from=${D}T09:00:00Z&to=${D}T10:00:00%2B00:00`);
    assert.equal(hour.status, 200, hour.text);
    assert.equal(hour.json.queues[0].totals.offered, 3);
    // time_zone: 1 December in New York (EST, UTC-5) runs from 05:00Z to 05:00Z the next day, so
    // the customer of 00:05Z on the 2nd is in it, and 09:00Z is its hour 04:00.
    const ny = await server.admin('GET', `/api/v1/reports/queues?from=${D}&to=${D}&interval=hour&time_zone=America/New_York`);
    assert.equal(ny.status, 200, ny.text);
    assert.equal(ny.json.time_zone, 'America/New_York');
    assert.equal(ny.json.from, `${D}T05:00:00.000Z`);
    assert.equal(ny.json.to, '2026-12-02T05:00:00.000Z');
    assert.equal(ny.json.queues[0].totals.offered, 6);
    assert.equal(ny.json.queues[0].intervals[4].start, `${D}T09:00:00.000Z`);
    assert.equal(ny.json.queues[0].intervals[4].offered, 3);
    const utc = await server.admin('GET', `/api/v1/reports/queues?from=${D}&to=${D}`);
    assert.equal(utc.json.time_zone, 'UTC');
    for (const zone of ['Mars/Olympus', '../../etc/passwd', '']) {
      const r = await server.admin('GET', `/api/v1/reports/queues?from=${D}&to=${D}&time_zone=${encodeURIComponent(zone)}`);
      assert.equal(r.status, 400, zone);
      assert.equal(r.json.error.code, 'invalid_time_zone', zone);
    }
    for (const [query, code] of [
      [`from=${D}`, 'invalid_report_range'],
      [`from=${D}&to=2026-11-30`, 'invalid_report_range'],
      [`from=${D}&to=${D}&interval=week`, 'invalid_report_range'],
      [`from=${D}&to=${D}&format=xml`, 'invalid_format'],
    ]) {
      const r = await server.admin('GET', `/api/v1/reports/queues?${query}`);
      assert.equal(r.status, 400, query);
      assert.equal(r.json.error.code, code);
    }
    const forbidden = await ann.api('GET', `/api/v1/reports/queues?from=${D}&to=${D}`);
    assert.equal(forbidden.status, 403, 'agents do not read reports');

    await ann.disconnect();
    await bob.disconnect();
    await server.restart();
    await check();
  } finally {
    await env.close();
  }
});
