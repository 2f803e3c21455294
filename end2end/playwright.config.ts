// Playwright drives Debian's chromium (`npx playwright install` cannot download browsers here).
// The web server is the real gatehouse binary (GATEHOUSE_BIN, built by ./scripts/build) on a temporary prefix.
import { defineConfig } from '@playwright/test';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { adminPort, guiPort } from './support/ports';

const bin = resolve(__dirname, process.env.GATEHOUSE_BIN ?? '../target/debug/gatehouse');
const proxyPort = Number(process.env.GATEHOUSE_E2E_PROXY_PORT ?? 21800);
// Set once, in the main process: workers inherit it and read the node's setup token from it.
process.env.GATEHOUSE_E2E_PREFIX ??= mkdtempSync(join(tmpdir(), 'gatehouse-e2e-'));
const prefix = process.env.GATEHOUSE_E2E_PREFIX;
const baseURL = `http://127.0.0.1:${guiPort}`;

export default defineConfig({
  testDir: './tests',
  fullyParallel: false,
  workers: 1,
  retries: 0,
  reporter: [['list']],
  timeout: 30_000,
  // First the first-start setup and sign-in spec, which creates the administrator every other spec signs in as.
  projects: [
    { name: 'setup', testMatch: /sign-in\.spec\.ts/ },
    { name: 'ui', testIgnore: /sign-in\.spec\.ts/, dependencies: ['setup'] },
  ],
  use: {
    baseURL,
    trace: 'retain-on-failure',
    launchOptions: {
      executablePath: '/usr/bin/chromium',
      args: [
        '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
        '--disable-background-networking', '--disable-component-update', '--disable-sync',
      ],
    },
  },
  webServer: {
    command: [
      `"${bin}" start`,
      `--prefix "${prefix}"`,
      `--admin_gui_listen 127.0.0.1:${guiPort}`,
      `--admin_listen 127.0.0.1:${adminPort}`,
      // Port 0: the system picks a free port, so it never collides with anything on the machine.
      `--proxy_listen "127.0.0.1:${proxyPort}, 127.0.0.1:0 ssl"`,
      '--oxd_listen "127.0.0.1:0 ssl"',
    ].join(' '),
    url: baseURL,
    reuseExistingServer: false,
    timeout: 60_000,
    stdout: 'pipe',
    stderr: 'pipe',
  },
});
