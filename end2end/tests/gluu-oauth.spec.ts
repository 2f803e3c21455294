// The OAuth editor's main flow: an OP client registered from the UI at the real test OP, a protection document
// built visually, and the proxy enforcing it for a real token (allowed path 200 from the upstream, the other 403).
import type { Server } from 'node:http';
import { expect, test } from '../support/fixtures';
import { adminApi, proxyURL } from '../support/gatehouse';
import { clientToken, startEcho, startOp, type RunningOp } from '../support/op';
import { GluuOAuthPage } from '../pages/gluu-oauth.page';

let op: RunningOp;
let echo: Server;

test.beforeAll(async () => {
  op = await startOp(['--extra-scopes', 'admin,employee']);
  const upstream = await startEcho();
  echo = upstream.server;
  await adminApi('PUT', '/services/api', { url: upstream.url });
  await adminApi('PUT', '/routes/api', { paths: ['/api'], service: { name: 'api' }, strip_path: false });
});

test.afterAll(async () => {
  await op?.stop();
  echo?.close();
});

test('a client created in the OAuth editor gets tokens the proxy authorizes by the built document', async ({ page }) => {
  const editor = new GluuOAuthPage(page);
  await editor.goto('services/api');
  // GG's default custom headers are pre-filled for a new plugin.
  await expect(editor.page.locator('tr[data-header="x-oauth-client-id"]')).toBeVisible();
  await editor.opUrl.fill(op.issuer);
  await editor.clientScopes.fill('admin');
  await editor.addDocumentPath('/api/allowed', 'admin');
  await editor.addDocumentPath('/api/forbidden', 'employee');
  await expect(editor.documentStatus).toHaveText('Valid');
  await editor.save.click();

  await expect(editor.newClientSecret).toBeVisible();
  const clientId = (await editor.newClientId.textContent())!.trim();
  const secret = (await editor.newClientSecret.textContent())!.trim();
  expect(clientId).not.toBe('');
  expect(secret.length).toBeGreaterThan(10);

  // The secret is shown once: a fresh page does not carry it.
  const html = await (await page.request.get('/gluu/services/api')).text();
  expect(html).toContain(clientId);
  expect(html).not.toContain(secret);

  await adminApi('PUT', '/consumers/app', { custom_id: clientId });
  const token = await clientToken(op.issuer, clientId, secret, 'admin');
  const call = (path: string) => fetch(proxyURL + path, { headers: { authorization: `Bearer ${token}` } });
  await expect.poll(async () => (await call('/api/allowed')).status, { timeout: 10_000 }).toBe(200);
  const allowed = await call('/api/allowed');
  expect(await allowed.json()).toEqual({ method: 'GET', path: '/api/allowed', client: clientId });
  expect((await call('/api/forbidden')).status).toBe(403);
  expect((await call('/api/unlisted')).status).toBe(403);
});
