// Page objects of the sign-in pages: `/setup` (first administrator, with the node's setup token) and `/login`.
import { type Locator, type Page } from '@playwright/test';

export class SetupPage {
  readonly heading: Locator;
  readonly token: Locator;
  readonly username: Locator;
  readonly password: Locator;
  readonly confirm: Locator;
  readonly submit: Locator;
  readonly error: Locator;

  constructor(readonly page: Page) {
    this.heading = page.getByRole('heading', { name: 'Create the first administrator' });
    this.token = page.getByLabel('Setup token');
    this.username = page.getByLabel('Username');
    this.password = page.getByLabel('Password', { exact: false }).first();
    this.confirm = page.getByLabel('Password again');
    this.submit = page.getByRole('button', { name: 'Create and sign in' });
    this.error = page.getByRole('alert');
  }

  async create(token: string, username: string, password: string) {
    await this.token.fill(token);
    await this.username.fill(username);
    await this.password.fill(password);
    await this.confirm.fill(password);
    await this.submit.click();
  }
}

export class LoginPage {
  readonly heading: Locator;
  readonly username: Locator;
  readonly password: Locator;
  readonly submit: Locator;
  readonly error: Locator;

  constructor(readonly page: Page) {
    this.heading = page.getByRole('heading', { name: 'Sign in' });
    this.username = page.getByLabel('Username');
    this.password = page.getByLabel('Password');
    this.submit = page.getByRole('button', { name: 'Sign in' });
    this.error = page.getByRole('alert');
  }

  async signIn(username: string, password: string) {
    await this.username.fill(username);
    await this.password.fill(password);
    await this.submit.click();
  }
}

/** The signed-in admin in the top bar, and its sign-out button. */
export class TopBar {
  readonly who: Locator;
  readonly signOut: Locator;

  constructor(readonly page: Page) {
    this.who = page.locator('.topbar .who');
    this.signOut = page.getByRole('button', { name: 'Sign out' });
  }
}
