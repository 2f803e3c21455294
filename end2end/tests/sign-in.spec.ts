// First start, sign-in and sign-out, in the browser. Runs first (the `setup` project): it creates the
// administrator every other spec signs in as.
import { expect, test } from '@playwright/test';
import { admin, setupToken } from '../support/admin';
import { LoginPage, SetupPage, TopBar } from '../pages/sign-in.page';

test.describe.configure({ mode: 'serial' });

test('a fresh node asks for its setup token once and signs the new administrator in', async ({ page }) => {
  await page.goto('/services');
  await expect(page).toHaveURL(/\/setup$/);
  const setup = new SetupPage(page);
  await expect(setup.heading).toBeVisible();
  await expect(page.locator('nav.sidebar')).toHaveCount(0);

  await setup.create('not-the-token', admin.username, admin.password);
  await expect(setup.error).toContainText('not this node');

  const token = setupToken();
  await setup.create(token, admin.username, admin.password);
  await expect(page).toHaveURL(/\/$/);
  const top = new TopBar(page);
  await expect(top.who).toHaveText(admin.username);
  await expect(page.getByRole('heading', { name: 'Dashboard' })).toBeVisible();

  // The token is spent: setup now leads to the sign-in page.
  await page.goto('/setup');
  await expect(page).toHaveURL(/\/login$/);
  const again = await page.request.post('/setup', {
    form: { token, username: 'second', password: admin.password, confirm: admin.password }, maxRedirects: 0,
  });
  expect(again.headers()['location']).toBe('/login');
});

test('sign-in with a wrong password is refused; sign-out ends the session', async ({ page }) => {
  await page.goto('/consumers');
  await expect(page).toHaveURL(/\/login\?next=%2Fconsumers$/);
  const login = new LoginPage(page);
  await login.signIn(admin.username, 'wrong password');
  await expect(login.error).toHaveText('Wrong username or password.');

  await login.signIn(admin.username, admin.password);
  await expect(page).toHaveURL(/\/consumers$/);
  const cookie = (await page.context().cookies()).find((c) => c.name === 'gatehouse_session');
  expect(cookie?.httpOnly).toBe(true);
  expect(cookie?.sameSite).toBe('Strict');

  const top = new TopBar(page);
  await top.signOut.click();
  await expect(login.heading).toBeVisible();
  await page.goto('/');
  await expect(page).toHaveURL(/\/login/);
});
