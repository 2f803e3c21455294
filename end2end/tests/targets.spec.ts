// An upstream's targets are listed with their live health and added from the upstream's page.
import { adminURL, expect, test } from '../support/fixtures';
import { EntityFormPage } from '../pages/entity-form.page';
import { EntityListPage } from '../pages/entity-list.page';

test('a target added to an upstream is listed with its health', async ({ page, request }) => {
  const upstream = await (await request.post(`${adminURL}/upstreams`, { data: { name: 'pool' } })).json();
  const list = new EntityListPage(page);
  const form = new EntityFormPage(page);

  await form.goto(`/upstreams/${upstream.id}`);
  await page.getByRole('link', { name: 'Its targets' }).click();
  await list.newButton.click();
  await form.waitForHydration();
  await expect(form.field('upstream')).toHaveValue(upstream.id);
  await form.fill({ target: '10.1.2.3:8080', weight: '50' });
  await form.submit.click();
  await expect(list.heading).toHaveText(/^Targets of upstream/);
  const row = list.rows.filter({ hasText: '10.1.2.3:8080' });
  await expect(row.locator('td[data-column="weight"]')).toHaveText('50');
  await expect(row.locator('td[data-column="health"]')).toHaveText('HEALTHCHECKS_OFF');
});
