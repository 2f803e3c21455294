// Page object of the OAuth editor (`/gluu/services/<id>`, `/gluu/routes/<id>`, `/gluu/global`).
import { expect, type Locator, type Page } from '@playwright/test';

export class GluuOAuthPage {
  readonly root: Locator;
  readonly opUrl: Locator;
  readonly clientScopes: Locator;
  readonly docPath: Locator;
  readonly docScopes: Locator;
  readonly addPath: Locator;
  readonly documentStatus: Locator;
  readonly save: Locator;
  readonly newClientId: Locator;
  readonly newClientSecret: Locator;
  readonly saveError: Locator;

  constructor(readonly page: Page) {
    this.root = page.locator('section.gluu-oauth');
    this.opUrl = page.getByLabel('OP URL');
    this.clientScopes = page.getByLabel('Client scopes');
    this.docPath = page.getByLabel('Path', { exact: true });
    this.docScopes = page.getByLabel('Scopes', { exact: true });
    this.addPath = page.getByRole('button', { name: 'Add path' });
    this.documentStatus = page.locator('.document-status');
    this.save = page.getByRole('button', { name: 'Save' });
    this.newClientId = page.locator('.new-client-id');
    this.newClientSecret = page.locator('.new-client-secret');
    this.saveError = page.locator('.save-error');
  }

  async goto(scope: string) {
    await this.page.goto(`/gluu/${scope}`);
    await expect(this.root).toHaveAttribute('data-hydrated', 'true');
  }

  /// Adds one path to the protection document with the builder (GET only, all of `scopes`).
  async addDocumentPath(path: string, scopes: string) {
    await this.docPath.fill(path);
    await this.docScopes.fill(scopes);
    await this.addPath.click();
    await expect(this.page.locator(`li[data-path="${path}"]`)).toBeVisible();
  }
}
