// The OAuth core: start-up contract, discovery, registration (RFC 7591/7592), client_credentials,
// introspection, revocation, and the /_test endpoints.
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, test } from 'node:test';
import { basicAuth, clientToken, postForm, registerClient, sendJson, startOp } from '../testing.js';

const STATIC = { client_id: 'static-rs', client_secret: 'static-secret', scope: 'oxd uma_protection' };
let op;
let issuer;

before(async () => {
  op = await startOp({ args: ['--clients', JSON.stringify([STATIC])] });
  issuer = op.issuer;
});
after(() => op.stop());

const ccClient = (extra = {}) => registerClient(issuer, {
  grant_types: ['client_credentials'], response_types: [], redirect_uris: [], scope: 'openid oxd', ...extra,
});

async function introspect(token, client) {
  const response = await postForm(`${issuer}/token/introspection`, { token }, {
    authorization: basicAuth(client.client_id, client.client_secret),
  });
  assert.equal(response.status, 200);
  return response.json();
}

test('starts on a free port, prints one ready line and exits 0 on SIGTERM', async () => {
  const other = await startOp({ env: { OP_PORT: '0' } });
  assert.match(other.issuer, /^http:\/\/127\.0\.0\.1:\d+$/);
  assert.notEqual(other.issuer, issuer);
  const discovery = await fetch(`${other.issuer}/.well-known/openid-configuration`);
  assert.equal(discovery.status, 200);
  assert.equal(await other.stop(), 0);
  assert.deepEqual(other.stdout, [`OP_READY ${other.issuer}`]);
});

test('discovery and JWKS', async () => {
  const discovery = await (await fetch(`${issuer}/.well-known/openid-configuration`)).json();
  assert.equal(discovery.issuer, issuer);
  for (const [field, path] of Object.entries({
    authorization_endpoint: '/auth',
    token_endpoint: '/token',
    userinfo_endpoint: '/me',
    jwks_uri: '/jwks',
    registration_endpoint: '/reg',
    end_session_endpoint: '/session/end',
    introspection_endpoint: '/token/introspection',
    revocation_endpoint: '/token/revocation',
  })) {
    assert.equal(discovery[field], `${issuer}${path}`, field);
  }
  assert.deepEqual(discovery.scopes_supported, ['openid', 'offline_access', 'profile', 'email', 'oxd', 'uma_protection']);
  for (const grant of ['authorization_code', 'client_credentials', 'urn:ietf:params:oauth:grant-type:uma-ticket']) {
    assert.ok(discovery.grant_types_supported.includes(grant), grant);
  }
  assert.ok(discovery.code_challenge_methods_supported.includes('S256'));

  const { keys } = await (await fetch(discovery.jwks_uri)).json();
  assert.equal(keys.length, 1);
  const [key] = keys;
  assert.deepEqual(Object.keys(key).sort(), ['alg', 'e', 'kid', 'kty', 'n', 'use']); // public parts only
  assert.equal(key.kty, 'RSA');
  assert.equal(key.alg, 'RS256');
});

test('registration and RFC 7592 management, without and with RAT rotation', async () => {
  const metadata = {
    application_type: 'web',
    client_name: 'oxd client for rp: 1234',
    redirect_uris: ['https://client.example.com/cb'],
    response_types: ['code'],
    grant_types: ['authorization_code', 'client_credentials'],
    scope: 'openid oxd',
    post_logout_redirect_uris: ['https://client.example.com/logout'],
    access_token_as_jwt: false,
    oxd_id: '1234',
    claims_redirect_uri: ['https://client.example.com/claims'],
  };
  const registered = await registerClient(issuer, metadata);
  assert.equal(registered.scope, 'openid oxd');
  assert.equal(registered.client_secret_expires_at, 0);
  assert.equal(typeof registered.client_id_issued_at, 'number');
  assert.equal(registered.registration_client_uri, `${issuer}/reg/${registered.client_id}`);
  assert.ok(registered.registration_access_token);
  assert.deepEqual(registered.claims_redirect_uri, metadata.claims_redirect_uri); // declared extension: kept
  assert.equal(registered.oxd_id, undefined); // unknown metadata: dropped
  assert.equal(registered.access_token_as_jwt, undefined);

  const uri = registered.registration_client_uri;
  let rat = registered.registration_access_token;
  const read = await sendJson(uri, 'GET', undefined, rat);
  assert.equal(read.status, 200);
  assert.equal((await read.json()).client_name, metadata.client_name);

  const update = {
    client_id: registered.client_id,
    client_name: 'updated',
    redirect_uris: metadata.redirect_uris,
    grant_types: metadata.grant_types,
    response_types: ['code'],
    scope: 'openid oxd uma_protection',
  };
  const { client_id: _, ...withoutClientId } = update;
  const missingId = await sendJson(uri, 'PUT', withoutClientId, rat);
  assert.equal(missingId.status, 400);
  assert.equal((await missingId.json()).error, 'invalid_request');
  const withRat = await sendJson(uri, 'PUT', { ...update, registration_access_token: rat }, rat);
  assert.equal(withRat.status, 400);

  const replaced = await sendJson(uri, 'PUT', update, rat);
  assert.equal(replaced.status, 200);
  const replacedBody = await replaced.json();
  assert.equal(replacedBody.client_name, 'updated');
  assert.equal(replacedBody.scope, 'openid oxd uma_protection');
  assert.deepEqual(replacedBody.post_logout_redirect_uris, []); // full replacement
  assert.equal(replacedBody.registration_access_token, rat); // rotation is off by default
  assert.equal((await sendJson(uri, 'GET', undefined, rat)).status, 200);

  await sendJson(`${issuer}/_test/config`, 'POST', { rotate_rat: true });
  try {
    const rotated = await (await sendJson(uri, 'PUT', update, rat)).json();
    assert.ok(rotated.registration_access_token);
    assert.notEqual(rotated.registration_access_token, rat);
    const stale = await sendJson(uri, 'GET', undefined, rat);
    assert.equal(stale.status, 401);
    assert.equal((await stale.json()).error, 'invalid_token');
    rat = rotated.registration_access_token;
    assert.equal((await sendJson(uri, 'GET', undefined, rat)).status, 200);
  } finally {
    await sendJson(`${issuer}/_test/config`, 'POST', { rotate_rat: false });
  }

  assert.equal((await sendJson(uri, 'DELETE', undefined, rat)).status, 204);
  const gone = await sendJson(uri, 'GET', undefined, rat);
  assert.equal(gone.status, 401);
  assert.equal((await gone.json()).error, 'invalid_token');
});

test('registration errors', async () => {
  const redirectUris = ['https://c.example.com/cb'];
  const arrayScope = await sendJson(`${issuer}/reg`, 'POST', { redirect_uris: redirectUris, scope: ['openid'] });
  assert.equal(arrayScope.status, 400);
  assert.equal((await arrayScope.json()).error, 'invalid_client_metadata');
  const unknownScope = await sendJson(`${issuer}/reg`, 'POST', { redirect_uris: redirectUris, scope: 'openid foo' });
  assert.equal(unknownScope.status, 400);
  const badRedirect = await sendJson(`${issuer}/reg`, 'POST', { redirect_uris: ['not a uri'] });
  assert.equal(badRedirect.status, 400);
  assert.equal((await badRedirect.json()).error, 'invalid_redirect_uri');
});

test('client_credentials tokens are opaque and introspectable', async () => {
  const client = await ccClient();
  const response = await postForm(`${issuer}/token`, { grant_type: 'client_credentials', scope: 'openid oxd foo' }, {
    authorization: basicAuth(client.client_id, client.client_secret),
  });
  assert.equal(response.status, 200);
  const token = await response.json();
  assert.equal(token.token_type, 'Bearer');
  assert.equal(token.expires_in, 600);
  assert.equal(token.scope, 'openid oxd'); // unconfigured scopes are dropped silently
  assert.equal(token.access_token.split('.').length, 1); // not a JWT

  const before = Math.floor(Date.now() / 1000);
  const introspection = await introspect(token.access_token, client);
  assert.equal(introspection.active, true);
  assert.equal(introspection.client_id, client.client_id);
  assert.equal(introspection.scope, 'openid oxd');
  assert.equal(introspection.token_type, 'Bearer');
  assert.equal(introspection.iss, issuer);
  assert.ok(introspection.exp >= before + 599 && introspection.exp <= before + 601);

  const post = await postForm(`${issuer}/token/introspection`, {
    token: token.access_token, client_id: client.client_id, client_secret: client.client_secret,
  });
  assert.equal((await post.json()).active, true); // client_secret_post

  const denied = await postForm(`${issuer}/token`, { grant_type: 'client_credentials', scope: 'uma_protection' }, {
    authorization: basicAuth(client.client_id, client.client_secret),
  });
  assert.equal(denied.status, 400); // configured but not registered for the client
  assert.equal((await denied.json()).error, 'invalid_scope');
});

test('introspection authentication and inactive tokens', async () => {
  const client = await ccClient();
  const token = await clientToken(issuer, client, 'oxd');
  const bearer = await postForm(`${issuer}/token/introspection`, { token }, { authorization: `Bearer ${token}` });
  assert.equal(bearer.status, 400);
  assert.equal((await bearer.json()).error, 'invalid_request');
  const anonymous = await postForm(`${issuer}/token/introspection`, { token });
  assert.equal(anonymous.status, 400);
  const wrongSecret = await postForm(`${issuer}/token/introspection`, { token }, {
    authorization: basicAuth(client.client_id, 'wrong'),
  });
  assert.equal(wrongSecret.status, 401);
  assert.equal((await wrongSecret.json()).error, 'invalid_client');
  assert.deepEqual(await introspect('garbage', client), { active: false });
});

test('revocation', async () => {
  const client = await ccClient();
  const token = await clientToken(issuer, client, 'oxd');
  const revoked = await postForm(`${issuer}/token/revocation`, { token }, {
    authorization: basicAuth(client.client_id, client.client_secret),
  });
  assert.equal(revoked.status, 200);
  assert.deepEqual(await introspect(token, client), { active: false });
});

test('static clients from --clients', async () => {
  const token = await clientToken(issuer, STATIC, 'uma_protection');
  assert.equal((await introspect(token, STATIC)).client_id, 'static-rs');
});

test('/_test/stats counts calls, /_test/reset zeroes them', async () => {
  const client = await ccClient();
  assert.equal((await postForm(`${issuer}/_test/reset`, {})).status, 204);
  const token = await clientToken(issuer, client, 'oxd');
  await introspect(token, client);
  await introspect(token, client);
  const stats = await (await fetch(`${issuer}/_test/stats`)).json();
  assert.equal(stats.introspection, 2);
  assert.equal(stats.token, 1);
  assert.equal(stats.token_by_grant_type.client_credentials, 1);
  assert.equal(stats.registration, 0);
});

test('/_test/config: short token lifetimes, validation', async () => {
  const defaults = await (await fetch(`${issuer}/_test/config`)).json();
  assert.deepEqual(defaults, {
    token_ttl: 600,
    rpt_ttl: 3600,
    uma_ticket_ttl: 300,
    rotate_rat: false,
    uma_auto_grant: false,
    uma_deny: [],
    jwt_access_tokens: false,
    jwt_kid: '',
    jwt_claims: {},
    jwt_header: {},
    jwks_hidden: [],
  });
  const unknown = await sendJson(`${issuer}/_test/config`, 'POST', { nope: 1 });
  assert.equal(unknown.status, 400);
  const invalid = await sendJson(`${issuer}/_test/config`, 'POST', { token_ttl: -1 });
  assert.equal(invalid.status, 400);

  const client = await ccClient();
  await sendJson(`${issuer}/_test/config`, 'POST', { token_ttl: 1 });
  try {
    const token = await clientToken(issuer, client, 'oxd');
    assert.equal((await introspect(token, client)).active, true);
    await sleep(2100);
    assert.deepEqual(await introspect(token, client), { active: false });
  } finally {
    await sendJson(`${issuer}/_test/config`, 'POST', { token_ttl: 600 });
  }
});

test('--token-ttl sets the lifetime at start', async () => {
  const short = await startOp({ args: ['--token-ttl', '5'] });
  try {
    const client = await registerClient(short.issuer, {
      grant_types: ['client_credentials'], response_types: [], redirect_uris: [],
    });
    const response = await postForm(`${short.issuer}/token`, { grant_type: 'client_credentials' }, {
      authorization: basicAuth(client.client_id, client.client_secret),
    });
    assert.equal((await response.json()).expires_in, 5);
  } finally {
    await short.stop();
  }
});
