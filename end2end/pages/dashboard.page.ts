// Page object of the dashboard (`/`).
import { expect, type Locator, type Page } from '@playwright/test';

export class DashboardPage {
  readonly root: Locator;
  readonly heading: Locator;
  readonly hostname: Locator;
  readonly nodeId: Locator;
  readonly database: Locator;
  readonly refresh: Locator;
  readonly refreshed: Locator;

  constructor(readonly page: Page) {
    this.root = page.locator('section.dashboard');
    this.heading = page.getByRole('heading', { name: 'Dashboard' });
    this.hostname = page.locator('dd.hostname');
    this.nodeId = page.locator('dd.node-id');
    this.database = page.locator('dd.database');
    this.refresh = page.getByRole('button', { name: 'Refresh' });
    this.refreshed = page.locator('.refreshed');
  }

  async goto() {
    await this.page.goto('/');
  }

  count(kind: string): Locator {
    return this.page.locator(`tr[data-kind="${kind}"] td.count`);
  }

  async waitForHydration() {
    await expect(this.root).toHaveAttribute('data-hydrated', 'true');
  }
}
