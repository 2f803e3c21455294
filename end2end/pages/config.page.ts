// Page object of the declarative configuration page (`/config`).
import { expect, type Locator, type Page } from '@playwright/test';

export class ConfigPage {
  readonly root: Locator;
  readonly file: Locator;
  readonly contents: Locator;
  readonly importButton: Locator;
  readonly done: Locator;
  readonly error: Locator;

  constructor(readonly page: Page) {
    this.root = page.locator('section.config');
    this.file = page.getByLabel('File (YAML or JSON)');
    this.contents = page.getByLabel('Contents');
    this.importButton = page.getByRole('button', { name: 'Import' });
    this.done = page.locator('.import-done');
    this.error = page.locator('.import-error');
  }

  async goto() {
    await this.page.goto('/config');
    await expect(this.root).toHaveAttribute('data-hydrated', 'true');
  }

  async upload(name: string, text: string) {
    await this.file.setInputFiles({ name, mimeType: 'text/yaml', buffer: Buffer.from(text) });
    await expect(this.contents).toHaveValue(text);
  }
}
