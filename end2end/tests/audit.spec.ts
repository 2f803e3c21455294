// Changes made in the UI and through the Admin API are both in the audit log, each under who made it.
import { adminURL, expect, test } from '../support/fixtures';
import { admin } from '../support/admin';
import { AuditPage } from '../pages/audit.page';
import { EntityFormPage } from '../pages/entity-form.page';
import { EntityListPage } from '../pages/entity-list.page';

test('a change in the UI and one through the Admin API are listed with their actors and documents', async ({ page, request }) => {
  const form = new EntityFormPage(page);
  const list = new EntityListPage(page);
  await form.goto('/services/new');
  await form.fill({ name: 'audited', host: 'audited.internal', port: '8080' });
  await form.submit.click();
  await expect(list.cell('audited', 'host')).toHaveText('audited.internal');

  const changed = await request.patch(`${adminURL}/services/audited`, {
    data: { port: 9090 }, headers: { 'X-Gatehouse-Comment': 'moved to 9090' },
  });
  expect(changed.status()).toBe(200);
  const id = (await changed.json()).id;

  const audit = new AuditPage(page);
  await audit.goto();
  await audit.kind.fill('services');
  await audit.entityId.fill(id);
  await audit.filter.click();
  await expect(audit.about(id)).toHaveCount(2);
  const [update, create] = [audit.about(id).nth(0), audit.about(id).nth(1)];
  await expect(update).toHaveAttribute('data-action', 'update');
  await expect(update).toContainText('127.0.0.1 (admin-api)');
  await expect(update).toContainText('moved to 9090');
  await expect(create).toHaveAttribute('data-action', 'create');
  await expect(create).toContainText(`${admin.username} (admin-gui)`);
  await update.getByText('Before / after').click();
  await expect(update.getByLabel('before')).toContainText('"port": 8080');
  await expect(update.getByLabel('after')).toContainText('"port": 9090');
});
