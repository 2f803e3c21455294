// The UI reads the store on every page: a change made through the Admin API shows up at once.
import { adminURL, expect, test } from '../support/fixtures';
import { EntityListPage } from '../pages/entity-list.page';

test('a consumer created through the Admin API appears in the list and its tags filter', async ({ page, request }) => {
  const created = await request.post(`${adminURL}/consumers`, { data: { username: 'from-api', tags: ['imported'] } });
  expect(created.status()).toBe(201);
  await request.post(`${adminURL}/consumers`, { data: { username: 'untagged' } });

  const list = new EntityListPage(page);
  await list.goto('/consumers');
  await expect(list.row('from-api')).toHaveCount(1);
  await expect(list.row('untagged')).toHaveCount(1);
  // The filter is a plain GET form: it works before or without hydration.
  await list.tags.fill('imported');
  await list.filter.click();
  await expect(page).toHaveURL(/tags=imported/);
  await expect(list.row('from-api')).toHaveCount(1);
  await expect(list.row('untagged')).toHaveCount(0);
});
