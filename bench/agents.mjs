// The agents' benchmark phases (issue 9), run by bench/run; each starts its own `parley serve`
// (free loopback port, fresh SQLite database on disk under $BENCH_DB_DIR or /tmp, default
// settings) through the black-box test harness, and stops it at the end.
//
//   agent-reply     C customers escalated from a connection with bot `none`; N agents (users
//                   created by the admin API, signed in, event streams open) each pull their
//                   share (POST accept) and go available; then an open loop of agent replies, POST
//                   /api/v1/conversations/{id}/messages at RATE/s spread round-robin over the
//                   conversations. Each reply is matched by the event_id of its 202 answer to
//                   its arrival at a webhook receiver (a worker thread of this process). The
//                   latency counts from the reply's due time (start + j/RATE), so a stall is
//                   charged to every reply it delayed.
//   routing-drain   Q customers queued (bot none); then A agents (max_chats M, streams open)
//                   go available at once and accept each offer as it arrives on their stream:
//                   the time from the first `available` to the Q-th accept answered. Then the
//                   same on a new server with queue `default` set to auto_accept: the time to
//                   the Q-th `conversation.assigned` frame. Both also poll queue default
//                   for the moment it has none waiting (the server's view, frames aside).
//
// Usage: node bench/agents.mjs agent-reply|routing-drain [--rate 500] [--duration 20]
//        [--warmup 2] [--agents 20] [--conversations 100] [--queued 1000] [--drain-agents 100]
//        [--max-chats 10] [--drain-timeout 180] [--json-file F]
// Needs the npm packages of tests/ (ws, jsonwebtoken): bench/run installs them when missing.
import {
  agent, boundRun, closeAgents, cpuWindow, drain, makeAgents, ms, now, ok, pct, pool, printCpu,
  queueCustomers, request, sign, startReceiver, startServer, stopServer, until,
  writeJson as writeJsonTo,
} from './support.mjs';

// ---- options -------------------------------------------------------------------------------
const argv = process.argv.slice(2);
const phase = argv.shift();
const opt = {
  rate: 500,
  duration: 20,
  warmup: 2,
  agents: 20,
  conversations: 100,
  queued: 1000,
  'drain-agents': 100,
  'max-chats': 10,
  'drain-timeout': 180,
  'json-file': '',
};
while (argv.length) {
  const k = argv.shift().replace(/^--/, '');
  if (!(k in opt) || !argv.length) usage(`unknown or incomplete option --${k}`);
  const v = argv.shift();
  opt[k] = typeof opt[k] === 'number' ? Number(v) : v;
  if (typeof opt[k] === 'number' && !(opt[k] >= 0)) usage(`--${k} needs a number`);
}
if (phase !== 'agent-reply' && phase !== 'routing-drain') usage(`unknown phase '${phase}'`);
function usage(why) {
  process.stderr.write(`bench/agents.mjs: ${why}\nusage: node bench/agents.mjs agent-reply|routing-drain [--rate N] [--duration S] ...\n`);
  process.exit(2);
}

boundRun('bench/agents.mjs', 15);
const writeJson = (obj) => writeJsonTo(opt['json-file'], obj);

// ---- phase: agent-reply ----------------------------------------------------------------------
async function agentReply() {
  const hook = await startReceiver();
  const server = await startServer();
  let agents = [];
  let failed = false;
  try {
    const conn = await server.createConnection({ webhook: hook.url, bot: 'none' });
    const nConv = opt.conversations;
    const nAgents = opt.agents;
    const maxChats = Math.max(1, Math.ceil(nConv / nAgents));
    console.log(`  setup: ${nAgents} agents (max_chats ${maxChats}), ${nConv} customers escalated (bot none → queue default) and accepted`);
    await queueCustomers(server, conn, nConv);
    agents = await makeAgents(server, nAgents, maxChats);
    // Each agent pulls its share of the queue (POST accept without an offer) and only then
    // goes available (at capacity, so nothing more is offered): the setup does not depend on
    // offers reaching the streams (see docs/performance.md, "Agents (issue 9)").
    const listed = await ok(server.port, 'GET', '/api/v1/conversations?state=queued&limit=1000', { token: server.adminToken });
    const queued = listed.conversations ?? [];
    if (queued.length !== nConv) throw new Error(`expected ${nConv} queued conversations, the API lists ${queued.length}`);
    const owned = await pool(queued, 8, async (c, i) => {
      const a = agents[i % nAgents];
      await ok(server.port, 'POST', `/api/v1/conversations/${c.id}/accept`, { token: a.token });
      return { agent: a, id: c.id };
    });
    await pool(agents, 8, (a) => ok(server.port, 'PUT', '/api/v1/agents/me/status', { token: a.token, body: { status: 'available' } }));
    for (const a of agents) a.onFrame = () => {};

    // The open loop: reply j is due at start + j/rate; conversations in turn.
    const rate = opt.rate;
    const total = Math.round(rate * (opt.warmup + opt.duration));
    const warm = Math.round(rate * opt.warmup);
    const sends = new Array(total); // [due, sent, answered, status, event_id]
    let inFlight = 0;
    let maxInFlight = 0;
    console.log(`  open loop: ${rate} replies/s for ${opt.warmup} s warm-up + ${opt.duration} s over ${nConv} conversations`);
    const start = now() + 50;
    let cpu = null;
    let j = 0;
    await new Promise((resolve) => {
      const tick = () => {
        const t = now();
        if (cpu === null && j >= warm) cpu = cpuWindow(server.child.pid);
        while (j < total && start + (j * 1000) / rate <= t) {
          const i = j++;
          const due = start + (i * 1000) / rate;
          const { agent: a, id } = owned[i % owned.length];
          const rec = [due, now(), NaN, 0, null];
          sends[i] = rec;
          inFlight++;
          maxInFlight = Math.max(maxInFlight, inFlight);
          a.api('POST', `/api/v1/conversations/${id}/messages`, { type: 'text', text: [`reply ${i}`] }).then(
            (r) => {
              inFlight--;
              rec[2] = now();
              rec[3] = r.status;
              rec[4] = r.json?.event_id ?? null;
            },
            () => {
              inFlight--;
              rec[2] = now();
              rec[3] = -1;
            },
          );
        }
        if (j < total) setTimeout(tick, Math.max(0, Math.min(1, start + (j * 1000) / rate - now())));
        else resolve();
      };
      setTimeout(tick, 50);
    });
    const tSent = now();
    // Every answer, then every webhook arrival (bounded).
    await until(() => inFlight === 0, 60000, 'every reply answered');
    const ids = sends.filter((s) => s[3] === 202 && s[4]).map((s) => s[4]);
    let got = await hook.collect();
    const end = now() + 60000;
    while (ids.some((id) => !got.arrivals.has(id)) && now() < end) {
      await new Promise((r) => setTimeout(r, 100));
      got = await hook.collect();
    }
    const c = cpu();
    const measured = sends.slice(warm);
    const refused = measured.filter((s) => s[3] !== 202);
    const hookLat = [];
    const hookFromSend = [];
    const postLat = [];
    let missing = 0;
    let repeated = 0;
    for (const s of measured) {
      if (s[3] !== 202) continue;
      postLat.push(s[2] - s[0]);
      const a = got.arrivals.get(s[4]);
      if (!a) {
        missing++;
        continue;
      }
      if (a.length > 3) repeated++;
      hookLat.push(a[0] - s[0]);
      hookFromSend.push(a[0] - s[1]);
    }
    for (const v of [hookLat, hookFromSend, postLat]) v.sort((x, y) => x - y);
    const firstDue = measured[0][0];
    const lastArrival = Math.max(...measured.map((s) => got.arrivals.get(s[4])?.[0] ?? 0));
    const sendSpan = (tSent - firstDue) / 1000;
    console.log(`  replies          ${measured.length} measured (${warm} warm-up not counted), ${refused.length} not 202, ${missing} never reached the webhook, ${repeated} delivered twice`);
    console.log(`  achieved rate    ${(measured.length / sendSpan).toFixed(0)} replies/s sent; ${(hookLat.length / ((lastArrival - firstDue) / 1000)).toFixed(0)} /s delivered (first due → last arrival); at most ${maxInFlight} POSTs in flight`);
    console.log(`  POST → webhook   p50 ${ms(pct(hookLat, 50))}  p99 ${ms(pct(hookLat, 99))}  p99.9 ${ms(pct(hookLat, 99.9))}  max ${ms(hookLat.at(-1))}  (from the due time)`);
    console.log(`                   p50 ${ms(pct(hookFromSend, 50))}  p99 ${ms(pct(hookFromSend, 99))}  p99.9 ${ms(pct(hookFromSend, 99.9))}  max ${ms(hookFromSend.at(-1))}  (from the actual send)`);
    console.log(`  POST → 202       p50 ${ms(pct(postLat, 50))}  p99 ${ms(pct(postLat, 99))}  p99.9 ${ms(pct(postLat, 99.9))}  max ${ms(postLat.at(-1))}  (from the due time)`);
    if (refused.length) console.log(`  refusals         ${[...new Set(refused.map((s) => s[3]))].join(', ')} (status; -1 = transport error)`);
    printCpu(c);
    writeJson({
      phase: 'agent-reply', rate, duration_s: opt.duration, agents: nAgents, conversations: nConv, replies: measured.length,
      refused: refused.length, missing, repeated,
      webhook_ms: { p50: pct(hookLat, 50), p99: pct(hookLat, 99), p999: pct(hookLat, 99.9), max: hookLat.at(-1) },
      post_ms: { p50: pct(postLat, 50), p99: pct(postLat, 99), p999: pct(postLat, 99.9), max: postLat.at(-1) },
      cpu: c,
    });
    if (refused.length || missing) process.exitCode = 1;
  } catch (e) {
    failed = true;
    throw e;
  } finally {
    closeAgents();
    await stopServer(server, failed);
    await hook.close();
  }
}

// ---- phase: routing-drain --------------------------------------------------------------------
async function routingDrain(autoAccept) {
  const hook = await startReceiver();
  const server = await startServer();
  let agents = [];
  let failed = false;
  try {
    const conn = await server.createConnection({ webhook: hook.url, bot: 'none' });
    const q = opt.queued;
    const n = opt['drain-agents'];
    const m = opt['max-chats'];
    // Customers first: each enqueue also sends queue.updated to every user of the queue, so
    // queueing 1,000 with 100 agents signed in costs far more than the drain itself.
    let t = now();
    await queueCustomers(server, conn, q);
    const tQueued = now() - t;
    // Queue `default` exists once the first customer is escalated to it.
    if (autoAccept) await ok(server.port, 'PATCH', '/api/v1/queues/default', { token: server.adminToken, body: { auto_accept: true } });
    t = now();
    agents = await makeAgents(server, n, m);
    console.log(`  setup            ${q} customers queued in ${(tQueued / 1000).toFixed(1)} s; ${n} agents created, signed in, streams open in ${((now() - t) / 1000).toFixed(1)} s`);
    console.log(`  ${autoAccept ? 'auto_accept: true' : 'auto_accept off, each offer accepted as it arrives'}: ${q} queued, ${n} agents × max_chats ${m} go available at once`);
    const r = await drain(server, agents, q, autoAccept, opt['drain-timeout'] * 1000);
    const s = r.elapsed_ms / 1000;
    const what = autoAccept ? 'conversation.assigned frame' : 'accept answered';
    if (r.complete) {
      console.log(`  drained          ${q} conversations in ${(s * 1000).toFixed(0)} ms (first \`available\` sent → ${q}th ${what}); ${(q / s).toFixed(1)} assignments/s`);
    } else {
      console.log(`  NOT DRAINED      only ${r.done} of ${q} assigned when the phase gave up after ${s.toFixed(0)} s; ${(r.done / s).toFixed(1)} assignments/s`);
    }
    console.log(`  server's view    ${Number.isFinite(r.emptyAt) ? `queue default had none waiting ${(r.emptyAt / 1000).toFixed(2)} s after the first \`available\`` : 'queue default still had customers waiting at the end'} (GET /api/v1/queues/default every 50 ms)`);
    const marks = [1, 10, 100, 250, 500, 750, 1000].filter((k) => k <= r.doneAt.length);
    console.log(`  progress         ${marks.map((k) => `${k}th at ${(r.doneAt[k - 1] / 1000).toFixed(2)} s`).join(', ')}`);
    console.log(`  offers           ${r.offers} offered, ${(r.offers / s).toFixed(0)} offers/s${autoAccept ? '' : `; accepts ${r.acceptsOk} × 200, ${r.acceptsRefused} refused${r.refusals.size ? ` (${[...r.refusals].map(([k, v]) => `${k} ${v}`).join(', ')})` : ''}`}`);
    console.log(`  available        ${r.availableOk} of ${n} PUT status answered 200, the last after ${(r.available_ms / 1000).toFixed(1)} s${r.availableOk < n ? ' (the others: no answer within the bound)' : ''}`);
    if (!autoAccept) {
      const t = r.acceptTimes;
      console.log(`  accept answer    p50 ${ms(pct(t, 50))}  p99 ${ms(pct(t, 99))}  max ${ms(t.at(-1))}`);
    }
    printCpu(r.cpu);
    writeJson({
      phase: autoAccept ? 'routing-drain-auto' : 'routing-drain', queued: q, agents: n, max_chats: m, complete: r.complete, assigned: r.done, drain_ms: r.elapsed_ms, server_empty_ms: r.emptyAt,
      offers: r.offers, offers_per_s: r.offers / s, accepts_ok: r.acceptsOk, accepts_refused: r.acceptsRefused, cpu: r.cpu,
    });
  } catch (e) {
    failed = true;
    throw e;
  } finally {
    closeAgents();
    await stopServer(server, failed);
    await hook.close();
  }
}

try {
  if (phase === 'agent-reply') await agentReply();
  else {
    await routingDrain(false);
    console.log();
    await routingDrain(true);
  }
  agent.destroy();
} catch (e) {
  process.stderr.write(`bench/agents.mjs ${phase}: ${e.stack ?? e}\n`);
  process.exit(1);
}
