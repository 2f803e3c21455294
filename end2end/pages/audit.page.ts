// Page object of the audit log (`/audit`).
import { type Locator, type Page } from '@playwright/test';

export class AuditPage {
  readonly heading: Locator;
  readonly entries: Locator;
  readonly kind: Locator;
  readonly entityId: Locator;
  readonly filter: Locator;

  constructor(readonly page: Page) {
    this.heading = page.getByRole('heading', { name: 'Audit log' });
    this.entries = page.locator('table.audit-entries tbody tr');
    this.kind = page.getByLabel('Entity kind');
    this.entityId = page.getByLabel('Entity id');
    this.filter = page.getByRole('button', { name: 'Filter' });
  }

  async goto() {
    await this.page.goto('/audit');
  }

  /** The entries about one entity, newest first. */
  about(id: string): Locator {
    return this.page.locator(`table.audit-entries tbody tr[data-entity="${id}"]`);
  }
}
