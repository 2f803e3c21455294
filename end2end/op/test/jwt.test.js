// JWT access tokens (setting jwt_access_tokens): client_credentials tokens signed with the OP's key published at
// /jwks, for the gateway's local JWT verification; opaque and introspectable without the setting; --es256.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { createRemoteJWKSet, decodeProtectedHeader, errors, jwtVerify } from 'jose';
import { basicAuth, clientToken, postForm, registerClient, sendJson, startOp } from '../testing.js';

const STATIC = { client_id: 'jwt-rs', client_secret: 'jwt-secret', scope: 'openid oxd uma_protection' };
const DEFAULT_AUDIENCE = 'urn:gatehouse:jwt';
let jwtOp; // started with --jwt-access-tokens
let plainOp; // started without it

before(async () => {
  [jwtOp, plainOp] = await Promise.all([
    startOp({ args: ['--jwt-access-tokens', '--clients', JSON.stringify([STATIC])] }),
    startOp(),
  ]);
});
after(() => Promise.all([jwtOp.stop(), plainOp.stop()]));

const now = () => Math.floor(Date.now() / 1000);
const ccClient = (issuer) => registerClient(issuer, {
  grant_types: ['client_credentials'], response_types: [], redirect_uris: [], scope: 'openid oxd uma_protection',
});

// POST /token grant_type=client_credentials; the token response.
async function requestToken(issuer, client, params) {
  const response = await postForm(`${issuer}/token`, { grant_type: 'client_credentials', ...params }, {
    authorization: basicAuth(client.client_id, client.client_secret),
  });
  const body = await response.json();
  assert.equal(response.status, 200, JSON.stringify(body));
  return body;
}

// Verifies `token` against the OP's published JWKS, as a resource server would; returns { payload, protectedHeader }.
async function verifyAgainstJwks(issuer, token, options = {}) {
  const discovery = await (await fetch(`${issuer}/.well-known/openid-configuration`)).json();
  const jwks = createRemoteJWKSet(new URL(discovery.jwks_uri));
  return jwtVerify(token, jwks, { issuer, typ: 'at+jwt', algorithms: ['RS256'], ...options });
}

async function publishedKeys(issuer) {
  return (await (await fetch(`${issuer}/jwks`)).json()).keys;
}

async function introspect(issuer, client, token) {
  const response = await postForm(`${issuer}/token/introspection`, { token }, {
    authorization: basicAuth(client.client_id, client.client_secret),
  });
  return { status: response.status, body: await response.json() };
}

test('--jwt-access-tokens: a client_credentials token is an RS256 JWT that verifies against /jwks', async () => {
  const { issuer } = jwtOp;
  const before = now();
  const response = await requestToken(issuer, STATIC, { scope: 'openid oxd foo' });
  assert.equal(response.token_type, 'Bearer');
  assert.equal(response.expires_in, 600);
  assert.equal(response.scope, 'openid oxd'); // as for opaque tokens: openid kept, unconfigured foo dropped

  const parts = response.access_token.split('.');
  assert.equal(parts.length, 3);
  const [key] = await publishedKeys(issuer);
  assert.deepEqual(decodeProtectedHeader(response.access_token), { alg: 'RS256', typ: 'at+jwt', kid: key.kid });

  const { payload } = await verifyAgainstJwks(issuer, response.access_token, { audience: DEFAULT_AUDIENCE });
  assert.deepEqual(Object.keys(payload).sort(), ['aud', 'client_id', 'exp', 'iat', 'iss', 'jti', 'scope', 'sub']);
  assert.equal(payload.iss, issuer);
  assert.equal(payload.client_id, STATIC.client_id);
  assert.equal(payload.sub, STATIC.client_id);
  assert.equal(payload.scope, 'openid oxd');
  assert.equal(payload.aud, DEFAULT_AUDIENCE); // oidc-provider requires an audience in JWT access tokens
  assert.ok(payload.iat >= before && payload.iat <= now());
  assert.equal(payload.exp, payload.iat + 600);
  assert.match(payload.jti, /^[\w-]{20,}$/);

  const other = await requestToken(issuer, STATIC, { scope: 'oxd' });
  const { payload: otherPayload } = await verifyAgainstJwks(issuer, other.access_token);
  assert.notEqual(otherPayload.jti, payload.jti);
  assert.equal(otherPayload.scope, 'oxd');

  // The verification means something: a changed payload or a foreign signature fails.
  const forged = Buffer.from(JSON.stringify({ ...payload, scope: 'openid oxd uma_protection' })).toString('base64url');
  await assert.rejects(verifyAgainstJwks(issuer, [parts[0], forged, parts[2]].join('.')),
    errors.JWSSignatureVerificationFailed);
  const foreign = await requestToken(plainOp.issuer, await ccClient(plainOp.issuer), { scope: 'oxd' });
  assert.equal(foreign.access_token.split('.').length, 1);
});

test('a resource indicator becomes aud; JWTs cannot be introspected or revoked; no scope, no scope claim', async () => {
  const { issuer } = jwtOp;
  const client = await ccClient(issuer);
  const resource = 'https://api.example.com/orders';
  const response = await requestToken(issuer, client, { scope: 'oxd', resource });
  assert.equal(response.scope, 'oxd');
  const { payload } = await verifyAgainstJwks(issuer, response.access_token, { audience: resource });
  assert.equal(payload.aud, resource);
  assert.equal(payload.client_id, client.client_id);

  const introspection = await introspect(issuer, client, response.access_token);
  assert.equal(introspection.status, 400);
  assert.equal(introspection.body.error, 'unsupported_token_type');
  const revocation = await postForm(`${issuer}/token/revocation`, { token: response.access_token }, {
    authorization: basicAuth(client.client_id, client.client_secret),
  });
  assert.equal(revocation.status, 400);
  assert.equal((await revocation.json()).error, 'unsupported_token_type');

  const unscoped = await requestToken(issuer, client, {});
  assert.equal(unscoped.scope, undefined);
  const { payload: unscopedPayload } = await verifyAgainstJwks(issuer, unscoped.access_token);
  assert.equal(unscopedPayload.scope, undefined);
  assert.equal(unscopedPayload.aud, DEFAULT_AUDIENCE);

  const relative = await postForm(`${issuer}/token`, { grant_type: 'client_credentials', resource: 'orders' }, {
    authorization: basicAuth(client.client_id, client.client_secret),
  });
  assert.equal(relative.status, 400);
  assert.equal((await relative.json()).error, 'invalid_target');
});

test('a JWT PAT works with the UMA protection API', async () => {
  const { issuer } = jwtOp;
  const pat = await clientToken(issuer, STATIC, 'uma_protection');
  assert.equal(pat.split('.').length, 3);
  const endpoint = `${issuer}/restv1/host/rsrc/resource_set`;
  const created = await sendJson(endpoint, 'POST', { name: 'photos', resource_scopes: ['view'] }, pat);
  assert.equal(created.status, 201);
  const listed = await sendJson(endpoint, 'GET', undefined, pat);
  assert.deepEqual(await listed.json(), [(await created.json())._id]);

  const withoutScope = await clientToken(issuer, STATIC, 'oxd');
  assert.equal((await sendJson(endpoint, 'GET', undefined, withoutScope)).status, 401);
  const [header, payload, signature] = pat.split('.');
  const tampered = `${header}.${payload}.${signature.slice(0, -4)}AAAA`;
  assert.equal((await sendJson(endpoint, 'GET', undefined, tampered)).status, 401);
});

test('without the setting tokens are opaque and introspectable; jwt_access_tokens switches at run time', async () => {
  const { issuer } = plainOp;
  const config = `${issuer}/_test/config`;
  const client = await ccClient(issuer);
  assert.equal((await (await fetch(config)).json()).jwt_access_tokens, false);

  const opaque = await requestToken(issuer, client, { scope: 'openid oxd' });
  assert.equal(opaque.access_token.split('.').length, 1);
  const active = await introspect(issuer, client, opaque.access_token);
  assert.equal(active.body.active, true);
  assert.equal(active.body.scope, 'openid oxd');
  assert.equal(active.body.aud, undefined);
  const withResource = await postForm(`${issuer}/token`, {
    grant_type: 'client_credentials', scope: 'oxd', resource: 'https://api.example.com/',
  }, { authorization: basicAuth(client.client_id, client.client_secret) });
  assert.equal(withResource.status, 400); // no resource servers without the setting
  assert.equal((await withResource.json()).error, 'invalid_target');

  const on = await sendJson(config, 'POST', { jwt_access_tokens: true });
  assert.equal(on.status, 200);
  assert.equal((await on.json()).jwt_access_tokens, true);
  try {
    const jwt = await requestToken(issuer, client, { scope: 'openid oxd' });
    assert.equal(jwt.scope, 'openid oxd');
    const { payload } = await verifyAgainstJwks(issuer, jwt.access_token, { audience: DEFAULT_AUDIENCE });
    assert.equal(payload.client_id, client.client_id);
    assert.equal(payload.scope, 'openid oxd');
  } finally {
    const off = await sendJson(config, 'POST', { jwt_access_tokens: false });
    assert.equal((await off.json()).jwt_access_tokens, false);
  }

  const again = await requestToken(issuer, client, { scope: 'oxd' });
  assert.equal(again.access_token.split('.').length, 1);
  assert.equal((await introspect(issuer, client, again.access_token)).body.active, true);
  assert.equal((await introspect(issuer, client, opaque.access_token)).body.active, true); // earlier tokens too
});

test('OP_JWT_ACCESS_TOKENS=1 and OP_ES256=1: ES256 JWTs signed with a published EC P-256 key', async () => {
  const op = await startOp({ env: { OP_JWT_ACCESS_TOKENS: '1', OP_ES256: '1' } });
  try {
    const { issuer } = op;
    assert.equal((await (await fetch(`${issuer}/_test/config`)).json()).jwt_access_tokens, true);
    const keys = await publishedKeys(issuer);
    assert.deepEqual(keys.map((k) => [k.kty, k.alg, k.use]), [['RSA', 'RS256', 'sig'], ['EC', 'ES256', 'sig']]);
    const ec = keys[1];
    assert.equal(ec.crv, 'P-256');
    assert.deepEqual(Object.keys(ec).sort(), ['alg', 'crv', 'kid', 'kty', 'use', 'x', 'y']); // public parts only
    assert.notEqual(ec.kid, keys[0].kid);

    const client = await ccClient(issuer);
    const response = await requestToken(issuer, client, { scope: 'openid oxd' });
    assert.deepEqual(decodeProtectedHeader(response.access_token), { alg: 'ES256', typ: 'at+jwt', kid: ec.kid });
    const { payload } = await verifyAgainstJwks(issuer, response.access_token, { algorithms: ['ES256'] });
    assert.equal(payload.client_id, client.client_id);
    assert.equal(payload.scope, 'openid oxd');
    await assert.rejects(verifyAgainstJwks(issuer, response.access_token)); // not RS256
  } finally {
    await op.stop();
  }
});

test('--es256 alone publishes the EC key and leaves tokens opaque', async () => {
  const op = await startOp({ args: ['--es256'] });
  try {
    const keys = await publishedKeys(op.issuer);
    assert.deepEqual(keys.map((k) => k.alg), ['RS256', 'ES256']);
    const client = await ccClient(op.issuer);
    const response = await requestToken(op.issuer, client, { scope: 'oxd' });
    assert.equal(response.access_token.split('.').length, 1);
  } finally {
    await op.stop();
  }
});
