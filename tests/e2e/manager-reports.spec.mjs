// Browser test of the manager's Reports section (issue 19): a scripted day through the API with
// the test clock (`serve --test-clock`), then the charts, their tables and the CSV download, by
// role and label as a person reads them.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { Receiver, createQueue, createUser, newPage, screenshots, sign, signIn, startStack, uid } from './support.mjs';
import { createAgent } from '../integration/agent_support.mjs';

describe('Digital Messaging Manager: reports with charts', () => {
  let stack;
  let hook;
  let offset = 0;
  const at = async (iso) => {
    const r = await stack.server.admin('PUT', '/api/v1/test/clock', { now: iso, frozen: true });
    if (r.status !== 200) throw new Error(`clock: ${r.status} ${r.text}`);
    offset = Date.parse(r.json.now) - Date.now();
    hook.clockOffsetMs = offset;
  };
  const say = async (conn, body) => {
    const r = await stack.server.post(conn, body, { token: sign(conn, { iat: Math.floor((Date.now() + offset) / 1000) }) });
    if (r.status !== 200) throw new Error(`POST /messages: ${r.status} ${r.text}`);
  };
  before(async () => {
    hook = await Receiver.start('hook');
    stack = await startStack({ serverArgs: ['--test-clock'] });
  });
  after(async () => {
    await stack?.close();
    await hook?.close();
  });

  test('charts of a scripted day with accessible names and tables, and the CSV download', async () => {
    await createQueue(stack.server, { name: 'default', display_name: 'Default', csat: true });
    const direct = await stack.server.createConnection({ name: 'Reports chat', webhook: hook.url, bot: 'none' });
    hook.trust(direct);
    await at('2026-12-01T08:50:00Z');
    const ann = await createAgent(stack.server, { username: 'ann', display_name: 'Ann Agent', queues: ['default'] });
    const one = `r1-${uid().slice(0, 6)}`;
    const two = `r2-${uid().slice(0, 6)}`;
    await at('2026-12-01T09:00:00Z');
    await say(direct, { type: 'text', customer_id: one, message_id: uid(), text: ['hello'] });
    await say(direct, { type: 'text', customer_id: two, message_id: uid(), text: ['hi'] });
    const [c1] = await stack.server.conversationsOf(direct, one);
    await at('2026-12-01T09:00:20Z');
    await ann.ok('POST', `/api/v1/conversations/${c1.id}/accept`, {});
    await at('2026-12-01T09:00:50Z');
    await say(direct, { type: 'customer_end_session', customer_id: two });
    await at('2026-12-01T09:04:20Z');
    await ann.ok('POST', `/api/v1/conversations/${c1.id}/end`, {});
    await say(direct, { type: 'text', customer_id: one, message_id: uid(), text: [], postback: 'csat:5' });
    await at('2026-12-02T08:00:00Z');

    const admin = await createUser(stack.server, { role: 'admin', username: `admin${Date.now() % 100000}`, display_name: 'Ada Admin' });
    const page = await newPage(stack);
    await signIn(page, stack.origin(), '/manager', admin);
    await page.getByRole('navigation', { name: 'Sections' }).getByRole('link', { name: 'Reports' }).click();
    await page.getByRole('heading', { name: 'Reports' }).waitFor();
    await page.getByLabel('From', { exact: true }).fill('2026-12-01');
    await page.getByLabel('To', { exact: true }).fill('2026-12-01');
    await page.getByRole('button', { name: 'Show report' }).click();

    const hourly = page.getByRole('img', { name: 'Customers who joined the queue and customers answered, per hour (UTC)' });
    await hourly.waitFor();
    // One bar a series and hour with something in it: 09:00, two joined and one answered.
    assert.deepEqual(await hourly.locator('rect.bar title').allTextContents(), ['Joined the queue, 09:00: 2', 'Answered, 09:00: 1']);
    const hours = page.getByRole('table', { name: 'Waiting and answered per hour (table)' });
    const nine = hours.getByRole('row', { name: /2026-12-01 09:00/ });
    assert.deepEqual(await nine.getByRole('cell').allTextContents(), ['2', '1', '1']);
    await page.getByRole('img', { name: 'Share of customers answered within the service level threshold, per day' }).waitFor();
    const days = page.getByRole('table', { name: 'Service level per day (table)' });
    assert.deepEqual(await days.getByRole('row', { name: /2026-12-01/ }).getByRole('cell').allTextContents(), ['50 %', '1', '1']);
    await page.getByRole('img', { name: 'Average handle time per agent, in seconds' }).waitFor();
    const agents = page.getByRole('table', { name: 'Handle time per agent (table)' });
    assert.deepEqual((await agents.getByRole('row', { name: /ann/ }).getByRole('cell').allTextContents()).slice(0, 4), ['1', '240 s', '0', '5 (1)']);
    const totals = page.getByRole('table', { name: 'Queue totals' });
    assert.deepEqual((await totals.getByRole('row', { name: /default/ }).getByRole('cell').allTextContents()).slice(0, 7), ['2', '1', '1', '0', '20 s', '20 s', '50 %']);

    const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Download queues CSV' }).click()]);
    assert.equal(download.suggestedFilename(), 'parley-queues-2026-12-01-2026-12-01.csv');
    const csv = fs.readFileSync(await download.path(), 'utf8');
    const lines = csv.split('\r\n');
    assert.equal(lines[0], 'queue,start,end,offered,answered,abandoned,abandoned_10s,avg_wait_s,p90_wait_s,service_level,avg_handle_s,transfers,csat_avg,csat_count');
    assert.ok(lines.includes('default,2026-12-01T09:00:00.000Z,2026-12-01T10:00:00.000Z,2,1,1,0,20,20,0.5,240,0,5,1'), csv);
    assert.equal(lines.length, 24 + 2, 'a line per hour, the header and the final line end');

    await screenshots(page, 'manager-reports');
    assert.deepEqual(page.errors, []);
    await page.context().close();

    // A supervisor reads the same day on the wallboard's Reports view, in New York's time: the
    // customers of 09:00 UTC came at 04:00 there (EST, UTC-5).
    const sue = await createUser(stack.server, { role: 'supervisor', username: `sue${Date.now() % 100000}`, display_name: 'Sue Supervisor' });
    const board = await newPage(stack);
    await signIn(board, stack.origin(), '/supervisor', sue);
    await board.getByRole('navigation', { name: 'Views' }).getByRole('link', { name: 'Reports' }).click();
    await board.getByRole('heading', { name: 'Reports' }).waitFor();
    await board.getByLabel('From', { exact: true }).fill('2026-12-01');
    await board.getByLabel('To', { exact: true }).fill('2026-12-01');
    await board.getByLabel('Time zone', { exact: true }).fill('America/New_York');
    await board.getByRole('button', { name: 'Show report' }).click();
    await board.getByRole('img', { name: 'Customers who joined the queue and customers answered, per hour (America/New_York)' }).waitFor();
    const local = board.getByRole('table', { name: 'Waiting and answered per hour (table)' });
    assert.deepEqual(await local.getByRole('row', { name: /2026-12-01 04:00/ }).getByRole('cell').allTextContents(), ['2', '1', '1']);
    await screenshots(board, 'supervisor-reports');
    // A zone the server does not know is refused with a sentence, in the form.
    await board.getByLabel('Time zone', { exact: true }).fill('Mars/Olympus');
    await board.getByRole('button', { name: 'Show report' }).click();
    await board.getByRole('alert').filter({ hasText: 'Mars/Olympus' }).waitFor();
    await board.getByRole('navigation', { name: 'Views' }).getByRole('link', { name: 'Live floor' }).click();
    await board.getByRole('heading', { name: 'Queues' }).waitFor();
    assert.deepEqual(board.errors, []);
    await board.context().close();
  });
});
