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
