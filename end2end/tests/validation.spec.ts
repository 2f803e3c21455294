// The Admin API judges every form: its schema violations appear next to the fields and nothing is stored.
import { adminURL, expect, test } from '../support/fixtures';
import { EntityFormPage } from '../pages/entity-form.page';

test('an invalid service shows the Admin API errors inline and is not created', async ({ page, request }) => {
  const services = async () => (await (await request.get(`${adminURL}/services`)).json()).data;
  const before = await services();
  const form = new EntityFormPage(page);
  await form.goto('/services/new');
  await form.fill({ name: 'bad name', port: '99999' });
  await form.submit.click();
  await expect(form.fieldError('host')).toHaveText('required field missing');
  await expect(form.fieldError('name')).toContainText('alphanumeric');
  await expect(form.fieldError('port')).toContainText('65535');
  await expect(form.formError).toContainText('schema violations');
  await expect(page).toHaveURL(/\/services\/new$/);

  expect(await services()).toEqual(before);
});
