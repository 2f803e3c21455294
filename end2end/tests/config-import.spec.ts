// A declarative file uploaded on /config replaces the configuration; a broken one is refused with its error.
import { adminURL, expect, test } from '../support/fixtures';
import { ConfigPage } from '../pages/config.page';

test('uploading a declarative file imports it, a broken file changes nothing', async ({ page, request }) => {
  const config = new ConfigPage(page);
  await config.goto();
  await config.upload('kong.yaml', [
    '_format_version: "2.1"',
    'services:',
    '- name: imported',
    '  url: http://imported.internal',
    '  routes:',
    '  - name: imported-route',
    '    paths: [/imported]',
    '',
  ].join('\n'));
  await config.importButton.click();
  await expect(config.done).toContainText('1 services');
  const services = await (await request.get(`${adminURL}/services/imported`)).json();
  expect(services.name).toBe('imported');

  await config.upload('broken.yaml', '_format_version: "2.1"\nservices:\n- name: no host here\n');
  await config.importButton.click();
  await expect(config.error).toBeVisible();
  const after = await (await request.get(`${adminURL}/services`)).json();
  expect(after.data.map((s: { name: string }) => s.name)).toContain('imported');
});
