// The one place specs take `test` from: a `page`, `context` and `request` already signed in to the admin UI as
// the administrator tests/sign-in.spec.ts created (the `setup` project runs first). Sign-in goes through the
// real form (`POST /login`); the session cookie it sets is given to the browser context and the request context.
import { test as base, expect, request as requests, type APIRequestContext } from '@playwright/test';
import { admin } from './admin';
import { guiPort } from './ports';

export { expect };
export { adminURL } from './ports';

const baseURL = `http://127.0.0.1:${guiPort}`;

/** Signs in with the form and returns the session cookie's value. */
export async function signIn(api: APIRequestContext): Promise<string> {
  const response = await api.post(`${baseURL}/login`, {
    form: { username: admin.username, password: admin.password, next: '/' },
    maxRedirects: 0,
  });
  expect(response.status()).toBe(303);
  const cookie = response.headersArray().find((h) => h.name.toLowerCase() === 'set-cookie')?.value ?? '';
  const value = /gatehouse_session=([^;]+)/.exec(cookie)?.[1];
  if (!value) throw new Error(`sign-in set no session cookie: ${response.headers()['location']}`);
  return value;
}

export const test = base.extend<{ session: string }>({
  session: async ({}, use) => {
    const api = await requests.newContext();
    await use(await signIn(api));
    await api.dispose();
  },
  context: async ({ context, session }, use) => {
    await context.addCookies([{ name: 'gatehouse_session', value: session, url: baseURL, httpOnly: true, sameSite: 'Strict' }]);
    await use(context);
  },
  request: async ({ session }, use) => {
    const api = await requests.newContext({
      baseURL,
      storageState: {
        cookies: [{ name: 'gatehouse_session', value: session, domain: '127.0.0.1', path: '/', expires: -1,
          httpOnly: true, secure: false, sameSite: 'Strict' }],
        origins: [],
      },
    });
    await use(api);
    await api.dispose();
  },
});
