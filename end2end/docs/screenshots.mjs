// Screenshots of the admin UI for docs/ui.md. Run against a started gatehouse (empty store):
//   GATEHOUSE_GUI_URL=http://127.0.0.1:21338 GATEHOUSE_ADMIN_URL=http://127.0.0.1:21801 node docs/screenshots.mjs
// It adds a small sample configuration through the Admin API, then writes ../docs/ui/*.png.
import { chromium } from '@playwright/test';

const gui = process.env.GATEHOUSE_GUI_URL ?? 'http://127.0.0.1:21338';
const admin = process.env.GATEHOUSE_ADMIN_URL ?? 'http://127.0.0.1:21801';
const out = new URL('../../docs/ui/', import.meta.url).pathname;

async function post(path, body) {
  const response = await fetch(`${admin}${path}`, {
    method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body),
  });
  if (!response.ok) throw new Error(`${path}: ${response.status} ${await response.text()}`);
  return response.json();
}

const billing = await post('/services', { name: 'billing', host: 'billing.internal', port: 8080, tags: ['team-a'] });
await post('/services', { name: 'catalog', url: 'https://catalog.internal/v1', tags: ['team-b'] });
await post(`/services/${billing.id}/routes`, { name: 'billing-api', paths: ['/billing'] });
await post('/consumers', { username: 'alice', custom_id: 'A-1' });

const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--headless', '--no-sandbox'] });
const page = await browser.newPage({ viewport: { width: 1200, height: 800 } });
const shots = [
  ['dashboard', '/'],
  ['services', '/services'],
  ['service-form', `/services/${billing.id}`],
];
for (const [name, path] of shots) {
  await page.goto(`${gui}${path}`);
  await page.waitForSelector('[data-hydrated="true"], section.entity-list');
  await page.screenshot({ path: `${out}${name}.png`, fullPage: false });
}
// A rejected form: the Admin API's errors beside the fields.
await page.goto(`${gui}/services/new`);
await page.waitForSelector('[data-hydrated="true"]');
await page.fill('#field-name', 'bad name');
await page.fill('#field-port', '99999');
await page.click('form button[type="submit"]');
await page.waitForSelector('.field-error');
  await page.evaluate(() => window.scrollTo(0, 0));
await page.screenshot({ path: `${out}validation.png`, fullPage: false });
await browser.close();
console.log(`screenshots written to ${out}`);
