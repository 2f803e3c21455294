// Services, routes and consumers are created, edited and deleted through the schema-generated forms.
import { expect, test } from '../support/fixtures';
import { EntityFormPage } from '../pages/entity-form.page';
import { EntityListPage } from '../pages/entity-list.page';

test('create a service, a route under it and a consumer, edit the service, delete the route after confirming', async ({ page, request }) => {
  const list = new EntityListPage(page);
  const form = new EntityFormPage(page);

  await form.goto('/services/new');
  await form.fill({ name: 'billing', host: 'billing.internal', port: '8080', tags: 'team-a' });
  await form.submit.click();
  await expect(list.heading).toHaveText('Services');
  await expect(list.cell('billing', 'host')).toHaveText('billing.internal');
  await expect(list.cell('billing', 'port')).toHaveText('8080');

  // A route from the service's own routes list: the form comes with the service chosen.
  await list.row('billing').getByRole('link').click();
  await form.waitForHydration();
  await page.getByRole('link', { name: 'Its routes' }).click();
  await expect(list.heading).toHaveText(/^Routes of service/);
  await list.newButton.click();
  await form.waitForHydration();
  await form.fill({ name: 'billing-api', paths: '/billing' });
  await expect(form.field('service')).toHaveValue(/[0-9a-f-]{36}/);
  await form.submit.click();
  await expect(list.heading).toHaveText('Routes');
  await expect(list.cell('billing-api', 'paths')).toHaveText('/billing');

  await form.goto('/consumers/new');
  await form.fill({ username: 'alice', custom_id: 'A-1' });
  await form.submit.click();
  await expect(list.cell('alice', 'custom_id')).toHaveText('A-1');

  // Edit: the stored values are in the form, the change is saved.
  await list.goto('/services');
  await list.row('billing').getByRole('link').click();
  await form.waitForHydration();
  await expect(form.field('host')).toHaveValue('billing.internal');
  await form.fill({ host: 'billing-v2.internal' });
  await form.submit.click();
  await expect(list.cell('billing', 'host')).toHaveText('billing-v2.internal');

  // Delete asks first; keeping it changes nothing. The route goes first: Kong refuses to drop a service in use.
  await list.goto('/routes');
  await list.row('billing-api').getByRole('link').click();
  await form.waitForHydration();
  await form.delete.click();
  await page.getByRole('button', { name: 'Keep it' }).click();
  await expect(form.confirmDelete).toHaveCount(0);
  await form.delete.click();
  await form.confirmDelete.click();
  await expect(list.heading).toHaveText('Routes');
  await expect(list.row('billing-api')).toHaveCount(0);
  const routes = await (await request.get('/routes')).text();
  expect(routes).not.toContain('billing-api');
});
