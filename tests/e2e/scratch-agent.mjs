// scratch: not committed. Fakes the agent API in the browser to look at the console.
import { startStack, newPage, screenshots } from './support.mjs';
const stack = await startStack();
const page = await newPage(stack);
const now = Date.now();
const iso = (ms) => new Date(ms).toISOString();
const N = Number(process.env.N || 20), M = Number(process.env.M || 500);
const convs = Array.from({ length: N }, (_, i) => ({ id: `c${i}`, connection_id: 'x', customer_id: `cust${i}`, customer_name: i === 0 ? 'Ada <b>Lovelace</b>' : `Customer ${i}`, state: 'active', owner: 'agent:amy', queue: 'general', agent: 'amy', transfer_note: i === 0 ? 'Wants a new card' : null, context: { plan: 'gold' }, created_at: iso(now) }));
function transcript(i) {
  const t = [];
  for (let p = 1; p <= M; p++) {
    const from = p % 3 === 1 ? 'customer' : p % 3 === 2 ? 'bot' : 'csr';
    t.push({ position: p, seq: p, direction: from === 'customer' ? 'in' : 'out', from, type: 'text', csr_name: from === 'csr' ? 'Amy' : undefined, event_id: from === 'customer' ? undefined : `e${i}-${p}`, payload: { text: [p === 1 ? '<img src=x onerror="window.__pwned=1">' : `message ${p}`] }, created_at: iso(now - (M - p) * 1000), delivery_status: from === 'customer' ? undefined : p === M ? 'dead' : 'delivered', last_error: p === M ? 'the webhook answered 500' : null });
  }
  t.push({ position: M + 1, seq: 1, direction: 'out', from: 'bot', type: 'menu', payload: { title: 'Pick one', items: [{ text: 'Cards', payload: 'cards' }, { text: 'Loans', payload: 'l' }] }, created_at: iso(now), delivery_status: 'delivered' });
  return t;
}
await page.route('**/api/v1/**', async (route) => {
  const u = new URL(route.request().url());
  const j = (body, status = 200) => route.fulfill({ status, contentType: 'application/json', body: JSON.stringify(body) });
  const p = u.pathname;
  if (p === '/api/v1/auth/me') return j({ user: { username: 'amy', display_name: 'Amy', role: 'agent' }, csrf: 'x' });
  if (p === '/api/v1/agents/me') return j({ username: 'amy', display_name: 'Amy', status: 'available', queues: ['general', 'cards'], chats: N, max_chats: 3 });
  if (p === '/api/v1/queues') return j({ queues: [{ name: 'general', display_name: 'General', waiting: 2, oldest_wait_s: 95, estimated_wait_s: 60 }, { name: 'cards', display_name: 'Cards', waiting: 0 }] });
  if (p === '/api/v1/conversations' && u.searchParams.get('state') === 'active') return j({ conversations: convs, next: null });
  if (p === '/api/v1/conversations' && u.searchParams.get('state') === 'queued') return j({ conversations: [{ ...convs[0], id: 'q1', customer_name: 'Waiting Wendy', state: 'queued', agent: null, offered_to: 'amy', offer_expires_at: iso(Date.now() + 30000) }], next: null });
  let m = /^\/api\/v1\/conversations\/(c\d+)$/.exec(p);
  if (m) return j({ ...convs[Number(m[1].slice(1))], transcript: transcript(Number(m[1].slice(1))) });
  if (/assist$/.test(p)) return j({ understood: true, intent: 'lost_card', confidence: 0.82, suggestions: [{ type: 'text', text: ['I have blocked your card.'] }] });
  if (/messages$/.test(p)) return j({ event_id: 'new1', seq: 99 }, 202);
  return j({ error: { code: 'not_found', message: 'no' } }, 404);
});
await page.goto(stack.origin() + '/agent');
await page.getByRole('button', { name: /Ada/ }).click();
const t0 = Date.now();
await page.getByText('message 499').waitFor();
console.log('open chat ms', Date.now() - t0);
await page.waitForTimeout(500);
const t1 = Date.now();
await page.getByRole('button', { name: /Customer 7/ }).click();
await page.getByText('message 499').waitFor();
console.log('switch ms', Date.now() - t1);
await page.getByRole('button', { name: /Ada/ }).click();
await page.getByRole('button', { name: 'Suggest: I have blocked your card.' }).first().click();
console.log('composer', await page.getByLabel('Message').inputValue());
await page.getByLabel('Message').press('Enter');
await page.waitForTimeout(300);
console.log('pwned', await page.evaluate(() => window.__pwned), 'imgs', await page.locator('main img').count());
await screenshots(page, 'scratch-agent');
console.log('errors', page.errors.filter((e) => !/WebSocket/.test(e)));
await stack.close();
