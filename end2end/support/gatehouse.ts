// The node's fixed listeners (playwright.config.ts) and JSON calls to its Admin API.
export const adminURL = `http://127.0.0.1:${process.env.GATEHOUSE_E2E_ADMIN_PORT ?? 21801}`;
export const proxyURL = `http://127.0.0.1:${process.env.GATEHOUSE_E2E_PROXY_PORT ?? 21800}`;

export async function adminApi(method: string, path: string, body?: unknown): Promise<any> {
  const response = await fetch(adminURL + path, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  if (!response.ok) throw new Error(`${method} ${path}: ${response.status} ${text}`);
  return text ? JSON.parse(text) : null;
}

/// A second gatehouse, started by a spec that needs settings of its own (its UI on `guiPort`, every other
/// listener on a free port, a temporary prefix); resolves once its UI answers.
export async function startGatehouse(guiPort: number, settings: string[]): Promise<{ guiURL: string; stop(): Promise<void> }> {
  const { spawn } = await import('node:child_process');
  const { mkdtempSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const { join, resolve } = await import('node:path');
  const bin = resolve(__dirname, '..', process.env.GATEHOUSE_BIN ?? '../target/debug/gatehouse');
  const prefix = mkdtempSync(join(tmpdir(), 'gatehouse-e2e-extra-'));
  const child = spawn(bin, [
    'start', '--prefix', prefix, '--admin_gui_listen', `127.0.0.1:${guiPort}`, '--admin_listen', '127.0.0.1:0',
    '--proxy_listen', '127.0.0.1:0', '--oxd_listen', '127.0.0.1:0 ssl', ...settings,
  ], { stdio: 'ignore' });
  const guiURL = `http://127.0.0.1:${guiPort}`;
  for (let attempt = 0; ; attempt++) {
    try {
      await fetch(`${guiURL}/login`);
      break;
    } catch (error) {
      if (attempt > 100 || child.exitCode !== null) throw new Error(`gatehouse did not start: ${error}`);
      await new Promise((done) => setTimeout(done, 100));
    }
  }
  return {
    guiURL,
    stop: () => new Promise((done) => {
      child.once('exit', () => done());
      child.kill('SIGTERM');
    }),
  };
}
