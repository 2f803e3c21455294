// The dashboard is rendered on the server (readable without JavaScript), then hydrated into a live page.
import { adminURL, expect, test } from '../support/fixtures';
import { DashboardPage } from '../pages/dashboard.page';

test('server-rendered HTML already carries the node information', async ({ request }) => {
  const response = await request.get('/');
  expect(response.status()).toBe(200);
  const html = await response.text();
  expect(html).toContain('<dd class="hostname">');
  expect(html).toMatch(/<dd class="node-id"><code>[0-9a-f-]{36}<\/code>/);
  expect(html).toContain('sqlite (reachable)');
  expect(html).toMatch(/<tr data-kind="services">/);
  // The hydration script and the bundle it loads are served.
  expect(html).toContain('/pkg/gatehouse.js');
  expect((await request.get('/pkg/gatehouse_bg.wasm')).status()).toBe(200);
});

test('the dashboard hydrates and its refresh button re-reads the store', async ({ page, request }) => {
  const errors: string[] = [];
  page.on('pageerror', (error) => errors.push(error.message));
  const dashboard = new DashboardPage(page);
  await dashboard.goto();
  await expect(dashboard.heading).toBeVisible();
  await expect(dashboard.nodeId).toHaveText(/^[0-9a-f-]{36}$/);
  await expect(dashboard.database).toHaveText('sqlite (reachable)');
  // Other specs share this gatehouse: the count is whatever the Admin API holds.
  const services = (await (await request.get(`${adminURL}/services?size=1000`)).json()).data.length;
  await expect(dashboard.count('services')).toHaveText(String(services));

  await dashboard.waitForHydration();
  const refreshCall = page.waitForRequest((r) => r.url().includes('/api/get_dashboard') && r.method() === 'POST');
  await dashboard.refresh.click();
  await refreshCall;
  await expect(dashboard.refreshed).toHaveText('Refreshed once');
  await expect(dashboard.nodeId).toHaveText(/^[0-9a-f-]{36}$/);
  expect(errors).toEqual([]);
});
