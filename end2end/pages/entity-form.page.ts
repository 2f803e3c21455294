// Page object of a configuration form (`/services/new`, `/services/{id}`), generated from the entity's schema.
import { expect, type Locator, type Page } from '@playwright/test';

export class EntityFormPage {
  readonly root: Locator;
  readonly submit: Locator;
  readonly delete: Locator;
  readonly confirmDelete: Locator;
  readonly formError: Locator;

  constructor(readonly page: Page) {
    this.root = page.locator('section.entity-form');
    this.submit = this.root.locator('form button[type="submit"]');
    this.delete = page.getByRole('button', { name: 'Delete', exact: true });
    this.confirmDelete = page.getByRole('button', { name: 'Yes, delete' });
    this.formError = page.locator('.form-error');
  }

  async goto(path: string) {
    await this.page.goto(path);
    await this.waitForHydration();
  }

  async waitForHydration() {
    await expect(this.root).toHaveAttribute('data-hydrated', 'true');
  }

  field(name: string): Locator {
    return this.page.locator(`[id="field-${name}"]`);
  }

  fieldError(name: string): Locator {
    return this.page.locator(`[data-field="${name}"] .field-error`);
  }

  async fill(values: Record<string, string>) {
    for (const [name, value] of Object.entries(values)) {
      const field = this.field(name);
      if ((await field.evaluate((el) => el.tagName)) === 'SELECT') {
        await field.selectOption(value);
      } else {
        await field.fill(value);
      }
    }
  }
}
