// Screenshots of the admin UI for docs/ui.md. Run against a freshly started gatehouse (empty store, no
// administrator yet; GATEHOUSE_PREFIX is its prefix, where the setup token is):
//   GATEHOUSE_PREFIX=/tmp/p GATEHOUSE_GUI_URL=http://127.0.0.1:21338 GATEHOUSE_ADMIN_URL=http://127.0.0.1:21801 \
//     node docs/screenshots.mjs
// It adds a small sample configuration through the Admin API, then writes ../docs/ui/*.png.
import { chromium } from '@playwright/test';
import { readFileSync } from 'node:fs';

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
// The first-start setup, then the sign-in page after signing out, then signed in again.
await page.goto(`${gui}/setup`);
await page.screenshot({ path: `${out}setup.png`, fullPage: false });
const token = readFileSync(`${process.env.GATEHOUSE_PREFIX}/admin_setup_token`, 'utf8').trim();
const password = 'screenshot password';
await page.fill('#token', token);
await page.fill('#username', 'admin');
await page.fill('#password', password);
await page.fill('#confirm', password);
await page.click('form button[type="submit"]');
await page.waitForSelector('.topbar .who');
await page.click('.topbar .signed-in button');
await page.waitForSelector('#password');
await page.screenshot({ path: `${out}login.png`, fullPage: false });
await page.fill('#username', 'admin');
await page.fill('#password', password);
await page.click('form button[type="submit"]');
await page.waitForSelector('.topbar .who');
const shots = [
  ['dashboard', '/'],
  ['services', '/services'],
  ['service-form', `/services/${billing.id}`],
  ['audit', '/audit'],
];
for (const [name, path] of shots) {
  await page.goto(`${gui}${path}`);
  await page.waitForSelector('[data-hydrated="true"], section.entity-list, section.audit table');
  await page.screenshot({ path: `${out}${name}.png`, fullPage: false });
}
// A rejected form: the Admin API's errors beside the fields.
await page.goto(`${gui}/services/new`);
await page.waitForSelector('[data-hydrated="true"]');
await page.fill('#field-name', 'bad name');
await page.fill('#field-port', '99999');
await page.click('section.entity-form form button[type="submit"]');
await page.waitForSelector('.field-error');
  await page.evaluate(() => window.scrollTo(0, 0));
await page.screenshot({ path: `${out}validation.png`, fullPage: false });
await browser.close();
console.log(`screenshots written to ${out}`);
