// A plugin is chosen from the enabled ones and configured with a form generated from its own schema.
import { adminURL, expect, test } from '../support/fixtures';
import { EntityFormPage } from '../pages/entity-form.page';
import { EntityListPage } from '../pages/entity-list.page';

test('a rate-limiting plugin on a service, configured field by field', async ({ page, request }) => {
  const service = await (await request.post(`${adminURL}/services`, { data: { name: 'limited', host: 'limited.internal' } })).json();
  const list = new EntityListPage(page);
  const form = new EntityFormPage(page);

  await list.goto(`/services/${service.id}/plugins`);
  await list.newButton.click();
  await page.getByLabel('Plugin').selectOption('rate-limiting');
  await page.getByRole('button', { name: 'Next' }).click();
  await form.waitForHydration();
  await expect(form.field('service')).toHaveValue(service.id);
  await expect(form.field('config.policy')).toHaveValue('cluster');
  await form.fill({ 'config.minute': 'many' });
  await form.submit.click();
  await expect(form.fieldError('config.minute')).toHaveText("'many' is not a number");

  await form.fill({ 'config.minute': '5', 'config.policy': 'local' });
  await form.submit.click();
  await expect(list.heading).toHaveText('Plugins');
  const stored = await (await request.get(`${adminURL}/services/${service.id}/plugins`)).json();
  expect(stored.data).toHaveLength(1);
  expect(stored.data[0].config.minute).toBe(5);
  expect(stored.data[0].config.policy).toBe('local');
});

test('a plugin password is stored but never shown again, and kept when the form is saved', async ({ page, request }) => {
  const plugin = await (await request.post(`${adminURL}/plugins`, {
    data: { name: 'rate-limiting', config: { minute: 7, policy: 'redis', redis_host: 'redis.internal', redis_password: 'hunter2-redis' } },
  })).json();
  const form = new EntityFormPage(page);
  const html = await (await request.get(`/plugins/${plugin.id}`)).text();
  expect(html).not.toContain('hunter2-redis');
  await form.goto(`/plugins/${plugin.id}`);
  await expect(form.field('config.redis_password')).toHaveValue('');
  await expect(form.field('config.minute')).toHaveValue('7');
  await form.fill({ 'config.minute': '8' });
  await form.submit.click();
  await expect(page).toHaveURL(/\/plugins$/);
  const stored = await (await request.get(`${adminURL}/plugins/${plugin.id}`)).json();
  expect(stored.config.minute).toBe(8);
  expect(stored.config.redis_password).toBe('hunter2-redis');
});
