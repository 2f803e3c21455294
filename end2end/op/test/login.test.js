// The scriptable authorization-code login: PKCE, nonce, acr, id_token, userinfo, abort, logout.
import assert from 'node:assert/strict';
import { createHash, createPublicKey, randomBytes, verify } from 'node:crypto';
import { after, before, test } from 'node:test';
import { basicAuth, postForm, registerClient, startOp } from '../testing.js';

const REDIRECT_URI = 'https://rp.example.com/cb';
const LOGOUT_URI = 'https://rp.example.com/logged-out';
let op;
let issuer;
let client;

before(async () => {
  op = await startOp();
  issuer = op.issuer;
  client = await registerClient(issuer, {
    redirect_uris: [REDIRECT_URI],
    post_logout_redirect_uris: [LOGOUT_URI],
    grant_types: ['authorization_code'],
    response_types: ['code'],
    scope: 'openid profile email oxd',
  });
});
after(() => op.stop());

// fetch without redirects and with a cookie jar (names only: the OP's cookies have distinct names per purpose).
function browser() {
  const jar = new Map();
  return async (url, init = {}) => {
    const cookie = [...jar].map(([name, value]) => `${name}=${value}`).join('; ');
    const headers = { ...init.headers, cookie };
    const response = await fetch(new URL(url, issuer), { ...init, redirect: 'manual', headers });
    for (const set of response.headers.getSetCookie()) {
      const [pair, ...attributes] = set.split(';');
      const [name, value] = pair.split('=');
      const expires = attributes.find((a) => /^\s*expires=/i.test(a));
      const expired = expires && new Date(expires.split('=')[1]) < new Date();
      if (expired || !value) jar.delete(name.trim()); else jar.set(name.trim(), value);
    }
    return response;
  };
}

// The authorization request URL of the test client.
function authorize(params) {
  const url = new URL(`${issuer}/auth`);
  url.search = new URLSearchParams({
    response_type: 'code', client_id: client.client_id, redirect_uri: REDIRECT_URI, ...params,
  });
  return url;
}

// POST /token with an authorization code of the test client.
function exchange(code, extra = {}) {
  return postForm(`${issuer}/token`, { grant_type: 'authorization_code', code, redirect_uri: REDIRECT_URI, ...extra }, {
    authorization: basicAuth(client.client_id, client.client_secret),
  });
}

// Runs the login up to the redirect back to the client; returns that URL.
async function login(go, params, fields) {
  const start = await go(authorize(params));
  assert.equal(start.status, 303);
  const interaction = start.headers.get('location');
  assert.match(interaction, /^\/interaction\/[\w-]+$/);

  const page = await go(interaction);
  assert.equal(page.status, 200);
  assert.match(await page.text(), /<input name="login"/);

  const submitted = await go(interaction, { method: 'POST', body: new URLSearchParams(fields) });
  assert.equal(submitted.status, 303);
  const resumed = await go(submitted.headers.get('location'));
  assert.equal(resumed.status, 303);
  return new URL(resumed.headers.get('location'));
}

const base64url = (buffer) => buffer.toString('base64url');

async function verifiedClaims(idToken) {
  const [header, payload, signature] = idToken.split('.');
  const { kid, alg } = JSON.parse(Buffer.from(header, 'base64url'));
  assert.equal(alg, 'RS256');
  const { keys } = await (await fetch(`${issuer}/jwks`)).json();
  const key = createPublicKey({ key: keys.find((k) => k.kid === kid), format: 'jwk' });
  assert.ok(verify('RSA-SHA256', Buffer.from(`${header}.${payload}`), key, Buffer.from(signature, 'base64url')));
  return JSON.parse(Buffer.from(payload, 'base64url'));
}

test('code flow with PKCE, nonce and a chosen acr', async () => {
  const go = browser();
  const verifier = base64url(randomBytes(32));
  const back = await login(go, {
    scope: 'openid profile email',
    state: 'st-1',
    nonce: 'n-1',
    acr_values: 'otp',
    code_challenge: base64url(createHash('sha256').update(verifier).digest()),
    code_challenge_method: 'S256',
  }, { login: 'alice', password: 'x', acr: 'u2f' });
  assert.equal(`${back.origin}${back.pathname}`, REDIRECT_URI);
  assert.equal(back.searchParams.get('state'), 'st-1');
  assert.equal(back.searchParams.get('iss'), issuer);
  const code = back.searchParams.get('code');

  const wrongVerifier = await exchange(code, { code_verifier: base64url(randomBytes(32)) });
  assert.equal(wrongVerifier.status, 400);
  assert.equal((await wrongVerifier.json()).error, 'invalid_grant');

  // Whether a failed exchange spends the code is the OP's business: log in again for a fresh one.
  const again = await login(browser(), {
    scope: 'openid profile email',
    nonce: 'n-2',
    code_challenge: base64url(createHash('sha256').update(verifier).digest()),
    code_challenge_method: 'S256',
  }, { login: 'alice', acr: 'u2f' });
  const response = await exchange(again.searchParams.get('code'), { code_verifier: verifier });
  assert.equal(response.status, 200);
  const tokens = await response.json();
  assert.equal(tokens.token_type, 'Bearer');

  const claims = await verifiedClaims(tokens.id_token);
  assert.equal(claims.iss, issuer);
  assert.equal(claims.aud, client.client_id);
  assert.equal(claims.sub, 'alice');
  assert.equal(claims.nonce, 'n-2');
  assert.equal(claims.acr, 'u2f');
  assert.equal(claims.email, 'alice@example.com');

  const userinfo = await fetch(`${issuer}/me`, { headers: { authorization: `Bearer ${tokens.access_token}` } });
  assert.deepEqual(await userinfo.json(), {
    sub: 'alice', name: 'User alice', email: 'alice@example.com', email_verified: true,
  });
});

test('without PKCE (confidential client, as oxd) and default acr', async () => {
  const requested = await login(browser(), { scope: 'openid', nonce: 'n', acr_values: 'otp basic' }, { login: 'bob' });
  const defaulted = await login(browser(), { scope: 'openid', nonce: 'n' }, { username: 'bob' });
  const acrs = [];
  for (const back of [requested, defaulted]) {
    const response = await exchange(back.searchParams.get('code'));
    assert.equal(response.status, 200);
    acrs.push((await verifiedClaims((await response.json()).id_token)).acr);
  }
  assert.deepEqual(acrs, ['otp', 'basic']); // first requested acr_values, else the first configured
});

test('jwt_access_tokens leaves the code flow alone: opaque access token, userinfo works', async () => {
  const config = `${issuer}/_test/config`;
  await postForm(config, { jwt_access_tokens: 'true' });
  try {
    assert.equal((await (await fetch(config)).json()).jwt_access_tokens, true);
    const back = await login(browser(), { scope: 'openid email', nonce: 'n' }, { login: 'erin' });
    const tokens = await (await exchange(back.searchParams.get('code'))).json();
    assert.equal(tokens.access_token.split('.').length, 1);
    const userinfo = await fetch(`${issuer}/me`, { headers: { authorization: `Bearer ${tokens.access_token}` } });
    assert.equal((await userinfo.json()).email, 'erin@example.com');
  } finally {
    await postForm(config, { jwt_access_tokens: 'false' });
  }
});

test('a session skips the login page; abort returns access_denied', async () => {
  const go = browser();
  await login(go, { scope: 'openid', nonce: 'n' }, { login: 'carol' });
  const silent = await go(authorize({ scope: 'openid', nonce: 'm', prompt: 'none' }));
  assert.equal(silent.status, 303);
  assert.ok(new URL(silent.headers.get('location')).searchParams.get('code'));

  const other = browser();
  const start = await other(authorize({ scope: 'openid', state: 's' }));
  const interaction = start.headers.get('location');
  const aborted = await other(interaction, { method: 'POST', body: new URLSearchParams({ abort: '1' }) });
  const back = new URL((await other(aborted.headers.get('location'))).headers.get('location'));
  assert.equal(back.searchParams.get('error'), 'access_denied');
  assert.equal(back.searchParams.get('state'), 's');
});

test('RP-initiated logout', async () => {
  const go = browser();
  const back = await login(go, { scope: 'openid', nonce: 'n' }, { login: 'dave' });
  const { id_token: idToken } = await (await exchange(back.searchParams.get('code'))).json();

  const end = new URL(`${issuer}/session/end`);
  end.search = new URLSearchParams({ id_token_hint: idToken, post_logout_redirect_uri: LOGOUT_URI, state: 'bye' });
  const page = await go(end);
  assert.equal(page.status, 200);
  const xsrf = /name="xsrf" value="([^"]+)"/.exec(await page.text())[1];
  const confirm = { method: 'POST', body: new URLSearchParams({ xsrf, logout: 'yes' }) };
  const confirmed = await go('/session/end/confirm', confirm);
  assert.equal(confirmed.status, 303);
  assert.equal(confirmed.headers.get('location'), `${LOGOUT_URI}?state=bye`);

  const afterLogout = await go(authorize({ scope: 'openid', nonce: 'm', prompt: 'none' }));
  assert.equal(new URL(afterLogout.headers.get('location')).searchParams.get('error'), 'login_required');
});
