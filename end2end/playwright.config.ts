// Playwright drives Debian's chromium (`npx playwright install` cannot download browsers here).
// The web server is the real gatehouse binary (GATEHOUSE_BIN, built by ./scripts/build) on a temporary prefix.
import { defineConfig } from '@playwright/test';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const bin = resolve(__dirname, process.env.GATEHOUSE_BIN ?? '../target/debug/gatehouse');
// Below Linux's ephemeral range (32768-60999): a port in it can be held by any client socket of the test run
// (a PostgreSQL connection took 41338 once), and the UI then cannot listen.
const guiPort = Number(process.env.GATEHOUSE_E2E_GUI_PORT ?? 21338);
// Fixed so specs can call them (the Admin API to set up, the proxy to check what the UI configured).
const adminPort = Number(process.env.GATEHOUSE_E2E_ADMIN_PORT ?? 21801);
const proxyPort = Number(process.env.GATEHOUSE_E2E_PROXY_PORT ?? 21800);
const prefix = mkdtempSync(join(tmpdir(), 'gatehouse-e2e-'));
const baseURL = `http://127.0.0.1:${guiPort}`;

export default defineConfig({
  testDir: './tests',
  fullyParallel: false,
  workers: 1,
  retries: 0,
  reporter: [['list']],
  timeout: 30_000,
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
