// Page object of a configuration list (`/services`, `/services/{id}/routes`, ...).
import { type Locator, type Page } from '@playwright/test';

export class EntityListPage {
  readonly heading: Locator;
  readonly rows: Locator;
  readonly newButton: Locator;
  readonly tags: Locator;
  readonly filter: Locator;

  constructor(readonly page: Page) {
    this.heading = page.locator('section.entity-list h1');
    this.rows = page.locator('table.entities tbody tr');
    this.newButton = page.locator('.page-title a.button');
    this.tags = page.getByLabel('Tags');
    this.filter = page.getByRole('button', { name: 'Filter' });
  }

  async goto(path: string) {
    await this.page.goto(path);
  }

  row(name: string): Locator {
    return this.rows.filter({ has: this.page.getByRole('link', { name, exact: true }) });
  }

  cell(name: string, column: string): Locator {
    return this.row(name).locator(`td[data-column="${column}"]`);
  }
}
