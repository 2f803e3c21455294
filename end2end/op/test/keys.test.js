// --extra-keys and --extra-scopes, and the settings that shape JWT access tokens (jwt_kid, jwt_claims, jwt_header,
// jwks_hidden): RS384/RS512 tokens, a key rotation, and tokens a resource server must refuse, all signed by the OP.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { compactVerify, createLocalJWKSet, decodeProtectedHeader, errors, importJWK, jwtVerify } from 'jose';
import { basicAuth, postForm, registerClient, sendJson, startOp } from '../testing.js';

const EXTRA_SCOPES = ['admin', 'employee', 'todos:hh'];
let op;

before(async () => {
  op = await startOp({ args: ['--jwt-access-tokens', '--extra-keys', '--extra-scopes', EXTRA_SCOPES.join(',')] });
});
after(() => op.stop());

const configure = async (settings) => {
  const response = await sendJson(`${op.issuer}/_test/config`, 'POST', settings);
  return { status: response.status, body: await response.json() };
};
const publishedKeys = async () => (await (await fetch(`${op.issuer}/jwks`)).json()).keys;

async function tokenOf(client, scope = 'openid') {
  const response = await postForm(`${op.issuer}/token`, { grant_type: 'client_credentials', scope }, {
    authorization: basicAuth(client.client_id, client.client_secret),
  });
  const body = await response.json();
  assert.equal(response.status, 200, JSON.stringify(body));
  return body.access_token;
}

// Verifies `token` with every key the OP has (published or not), as its signer would.
async function verifyWith(keys, token, algorithms) {
  return jwtVerify(token, createLocalJWKSet({ keys }), { issuer: op.issuer, algorithms });
}

const client = () => registerClient(op.issuer, {
  grant_types: ['client_credentials'], response_types: [], redirect_uris: [],
  scope: `openid oxd ${EXTRA_SCOPES.join(' ')}`,
});

test('--extra-keys publishes RS384, RS512 and a second RS256 key; jwt_kid picks the signer', async () => {
  const keys = await publishedKeys();
  assert.deepEqual(keys.map((k) => [k.kty, k.alg]), [['RSA', 'RS256'], ['RSA', 'RS384'], ['RSA', 'RS512'], ['RSA', 'RS256']]);
  assert.deepEqual(keys.slice(1).map((k) => k.kid), ['extra-rs384', 'extra-rs512', 'extra-next']);
  const c = await client();
  try {
    for (const [kid, alg] of [['extra-rs384', 'RS384'], ['extra-rs512', 'RS512'], ['', 'RS256']]) {
      assert.equal((await configure({ jwt_kid: kid })).status, 200);
      const token = await tokenOf(c);
      assert.deepEqual(decodeProtectedHeader(token), { alg, typ: 'at+jwt', kid: kid || keys[0].kid });
      const { payload } = await verifyWith(keys, token, [alg]);
      assert.equal(payload.client_id, c.client_id);
    }
  } finally {
    await configure({ jwt_kid: '' });
  }
  const unknown = await configure({ jwt_kid: 'no-such-key' });
  assert.equal(unknown.status, 400);
  assert.match(unknown.body.error_description, /no signing key no-such-key/);
});

test('--extra-scopes adds scopes clients may register and be granted', async () => {
  const discovery = await (await fetch(`${op.issuer}/.well-known/openid-configuration`)).json();
  for (const scope of EXTRA_SCOPES) assert.ok(discovery.scopes_supported.includes(scope), scope);
  const c = await client();
  const token = await tokenOf(c, 'openid admin todos:hh unknown');
  const { payload } = await verifyWith(await publishedKeys(), token, ['RS256']);
  assert.equal(payload.scope, 'openid admin todos:hh');
});

test('jwks_hidden keeps a signing key out of /jwks until it is rotated in', async () => {
  const c = await client();
  try {
    assert.equal((await configure({ jwks_hidden: ['extra-next'], jwt_kid: 'extra-next' })).status, 200);
    const keys = await publishedKeys();
    assert.deepEqual(keys.map((k) => k.kid).includes('extra-next'), false);
    const token = await tokenOf(c);
    assert.equal(decodeProtectedHeader(token).kid, 'extra-next');
    await assert.rejects(verifyWith(keys, token, ['RS256']), errors.JWKSNoMatchingKey);

    assert.equal((await configure({ jwks_hidden: [] })).status, 200);
    const rotated = await publishedKeys();
    assert.ok(rotated.some((k) => k.kid === 'extra-next'));
    assert.equal((await verifyWith(rotated, token, ['RS256'])).payload.client_id, c.client_id);
  } finally {
    await configure({ jwks_hidden: [], jwt_kid: '' });
  }
});

test('jwt_claims and jwt_header replace or remove what JWT access tokens carry, still signed by the OP', async () => {
  const c = await client();
  const keys = await publishedKeys();
  const now = Math.floor(Date.now() / 1000);
  try {
    const changed = await configure({
      jwt_claims: { iss: 'https://elsewhere.example.com', nbf: now + 3600, client_id: null },
      jwt_header: { kid: null, x: 'y' },
    });
    assert.equal(changed.status, 200);
    assert.deepEqual(changed.body.jwt_header, { kid: null, x: 'y' });
    const token = await tokenOf(c);
    assert.deepEqual(decodeProtectedHeader(token), { alg: 'RS256', typ: 'at+jwt', x: 'y' });
    const payload = JSON.parse(Buffer.from(token.split('.')[1], 'base64url'));
    assert.equal(payload.iss, 'https://elsewhere.example.com');
    assert.equal(payload.nbf, now + 3600);
    assert.equal(payload.client_id, undefined);
    assert.equal(payload.sub, c.client_id);
    // The signature is the OP's own (the claims are the resource server's business).
    const verified = await compactVerify(token, await importJWK(keys[0], 'RS256'));
    assert.equal(JSON.parse(Buffer.from(verified.payload)).iss, 'https://elsewhere.example.com');
  } finally {
    await configure({ jwt_claims: {}, jwt_header: {} });
  }
  const plain = JSON.parse(Buffer.from((await tokenOf(c)).split('.')[1], 'base64url'));
  assert.equal(plain.iss, op.issuer);
  assert.equal(plain.client_id, c.client_id);
  assert.equal((await configure({ jwt_claims: [] })).status, 400);
  assert.equal((await configure({ jwt_header: 'nope' })).status, 400);
});
