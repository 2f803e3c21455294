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
