// scratch: not committed
import { startStack, newPage, Receiver, screenshots } from './support.mjs';
process.env.PARLEY_BIN ||= '/tmp/pages-parley';
const stack = await startStack();
console.log('features', stack.features, 'own pages', stack.pagesFromParley);
const hook = await Receiver.start('hook');
const page = await newPage(stack);
const token = stack.server.adminToken;
await page.route('**/api/v1/**', async (route) => {
  const u = new URL(route.request().url());
  if (u.pathname === '/api/v1/auth/me') return route.fulfill({ status: 200, contentType: 'application/json', body: JSON.stringify({ user: { username: 'admin', display_name: 'Admin', role: 'admin' }, csrf: 'x' }) });
  return route.continue({ headers: { ...route.request().headers(), authorization: `Bearer ${token}` } });
});
try {
  await page.goto(stack.origin() + '/manager#connections');
  await page.getByRole('button', { name: 'Add connection' }).click();
  await page.getByRole('button', { name: 'Client Channel API' }).click();
  await page.getByLabel('Name').fill('Acme <b>Teams</b>');
  await page.getByLabel('Client webhook').fill(hook.url);
  await page.getByRole('button', { name: 'Save' }).click();
  const id = await page.getByLabel('Connection ID').inputValue();
  console.log('id', id, await page.getByLabel('JWT Secret').inputValue(), await page.getByLabel('Digital Messaging Webhook').inputValue());
  await screenshots(page, 'scratch-created');
  await page.getByRole('button', { name: 'Done' }).click();
  await page.getByRole('link', { name: 'Acme <b>Teams</b>' }).click();
  await page.getByRole('button', { name: 'Disable' }).click();
  await page.getByRole('dialog').getByRole('button', { name: 'Disable' }).click();
  await page.getByText('Disabled', { exact: true }).waitFor();
  await page.getByRole('button', { name: 'Enable' }).click();
  await page.getByText('Enabled', { exact: true }).waitFor();
  await page.getByRole('button', { name: 'Rotate secret' }).click();
  await page.getByRole('dialog').getByRole('button', { name: 'Rotate secret' }).click();
  console.log('new secret', await page.getByLabel('JWT Secret').inputValue());
  await page.getByRole('button', { name: 'Done' }).click();
  await screenshots(page, 'scratch-detail');
  for (const v of ['overview', 'bots', 'users', 'queues']) { await page.goto(stack.origin() + '/manager#' + v); await page.waitForTimeout(300); await screenshots(page, 'scratch-' + v); }
  await page.goto(stack.origin() + '/manager#connections');
  await page.getByRole('link', { name: 'Acme <b>Teams</b>' }).click();
  await page.getByRole('button', { name: 'Delete' }).click();
  await page.getByRole('dialog').getByRole('button', { name: 'Delete' }).click();
  await page.getByText('No connections yet').waitFor();
  console.log('errors', page.errors);
} catch (e) { console.log('FAIL', e.message, page.errors); await page.screenshot({ path: '/tmp/pages-scratch/fail.png' }); }
await hook.close();
await stack.close();
