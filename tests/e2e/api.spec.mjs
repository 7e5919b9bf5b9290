// The API reference page (/api/, linked from the manager): the OpenAPI document rendered in a
// real browser, under the pages' Content-Security-Policy, with no script error.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { newPage, startStack } from './support.mjs';

let stack;
before(async () => {
  stack = await startStack();
});
after(() => stack?.close());

test('the manager links the API reference, which renders every route of the document', async () => {
  const page = await newPage(stack);
  await page.goto(`${stack.origin()}/manager/`);
  await page.getByRole('link', { name: 'API reference' }).click();
  await page.getByRole('heading', { name: 'Parley API reference' }).waitFor();
  await page.getByRole('heading', { name: 'Client Channel API', level: 2 }).waitFor();
  for (const name of ['Connections', 'Agents and routing', 'Live events', 'Webhooks: what Parley sends', 'Schemas']) {
    assert.ok(await page.getByRole('heading', { name, level: 2 }).isVisible(), name);
  }
  const doc = await (await fetch(`${stack.server.url}/api/v1/openapi.json`)).json();
  const operations = Object.values(doc.paths).flatMap((item) => Object.keys(item).filter((k) => k !== 'parameters'));
  assert.equal(await page.locator('section[id^="tag-"] details.op').count(), operations.length);
  // An operation opens to its answers and error codes.
  await page.getByText('Send one customer event').click();
  assert.ok(await page.getByText('invalid_signature').first().isVisible());
  assert.deepEqual(page.errors, []);
});
