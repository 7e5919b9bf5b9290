// Issue 17, defect 2 (idle expiry) and defect 5, through the real binary: an agent's event
// stream closes (1008) when its session idles out, never before session_idle_s of silence and
// within a second of the session's end. Slow on purpose (session_idle_s is at least 60 s, and
// the last use is written at most once a minute): about two minutes, more than
// scripts/run-integration's 120 s per file, so it runs on its own:
//   node --test --test-timeout=300000 tests/integration/session-expiry.slow.mjs
// (named .slow.mjs so that the test runner does not pick it up with the other files).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { readyAgent, startRouting } from './agent_support.mjs';

test('the event stream closes with 1008 when its session idles out, not before', { timeout: 240000 }, async () => {
  const env = await startRouting({ session_idle_s: 60 });
  try {
    const { server } = env;
    const t0 = Date.now(); // the sign-in is the session's last recorded use
    const ann = await readyAgent(server, { queues: ['default'] });
    const t1 = Date.now(); // the sign-in happened between t0 and t1
    const closed = new Promise((resolve) => ann.ws.once('close', (code) => resolve({ code, at: Date.now() })));
    const { code, at } = await closed;
    const after = (at - t0) / 1000;
    assert.equal(code, 1008);
    // The session ends between session_idle_s and session_idle_s + 60 s after its last use.
    assert.ok(after >= 60, `closed ${after} s after the sign-in: too early`);
    assert.ok((at - t1) / 1000 <= 121, `closed ${(at - t1) / 1000} s after signing in: late`);
    assert.equal((await ann.api('GET', '/api/v1/agents/me')).status, 401, 'the session is over for REST too');
    console.log(`# session-expiry: stream closed ${after.toFixed(1)} s after the sign-in (session_idle_s 60)`);
  } finally {
    await env.close();
  }
});
