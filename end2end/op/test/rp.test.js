// What relying parties use beyond the OAuth core: WebFinger issuer discovery (OpenID Connect Discovery §2),
// which the project adds to oidc-provider, and request objects by value (the library's own feature, switched on),
// signed with the client secret or with keys the OP fetches from the client's jwks_uri on loopback.
import assert from 'node:assert/strict';
import { createHmac, generateKeyPairSync, sign as signWith } from 'node:crypto';
import { once } from 'node:events';
import { createServer } from 'node:http';
import { after, before, test } from 'node:test';
import { registerClient, startOp } from '../testing.js';

const ISSUER_REL = 'http://openid.net/specs/connect/1.0/issuer';
let op;
let issuer;

before(async () => {
  op = await startOp();
  issuer = op.issuer;
});
after(() => op.stop());

test('webfinger names the issuer for any resource, filtered by rel, and counts the call', async () => {
  const url = (params) => `${issuer}/.well-known/webfinger?${new URLSearchParams(params)}`;
  const found = await fetch(url({ resource: 'acct:alice@127.0.0.1', rel: ISSUER_REL }));
  assert.equal(found.status, 200);
  assert.match(found.headers.get('content-type'), /^application\/jrd\+json/);
  assert.deepEqual(await found.json(), { subject: 'acct:alice@127.0.0.1', links: [{ rel: ISSUER_REL, href: issuer }] });

  const unfiltered = await (await fetch(url({ resource: `${issuer}/bob` }))).json();
  assert.deepEqual(unfiltered.links, [{ rel: ISSUER_REL, href: issuer }]);
  const otherRel = await (await fetch(url({ resource: `${issuer}/bob`, rel: 'http://example.com/rel' }))).json();
  assert.deepEqual(otherRel.links, []);

  const missing = await fetch(`${issuer}/.well-known/webfinger`);
  assert.equal(missing.status, 400);
  assert.equal((await missing.json()).error, 'invalid_request');
  assert.equal((await (await fetch(`${issuer}/_test/stats`)).json()).webfinger, 4);
});

test('a request object signed with the client secret is accepted by value; a forged one is refused', async () => {
  const client = await registerClient(issuer, {
    redirect_uris: ['https://rp.example.com/cb'], grant_types: ['authorization_code'], response_types: ['code'],
    scope: 'openid', request_object_signing_alg: 'HS256',
  });
  const encode = (value) => Buffer.from(JSON.stringify(value)).toString('base64url');
  const now = Math.floor(Date.now() / 1000);
  const sign = (claims, secret) => {
    const input = `${encode({ alg: 'HS256', typ: 'JWT' })}.${encode(claims)}`;
    return `${input}.${createHmac('sha256', secret).update(input).digest('base64url')}`;
  };
  const claims = {
    iss: client.client_id, aud: issuer, client_id: client.client_id, response_type: 'code', scope: 'openid',
    redirect_uri: 'https://rp.example.com/cb', nonce: 'n', iat: now, exp: now + 300, jti: `j-${now}`,
  };
  const authorize = (request) => fetch(`${issuer}/auth?${new URLSearchParams({
    client_id: client.client_id, response_type: 'code', scope: 'openid', request,
  })}`, { redirect: 'manual' });

  const accepted = await authorize(sign(claims, client.client_secret));
  assert.equal(accepted.status, 303);
  assert.match(accepted.headers.get('location'), /^\/interaction\//);

  const forged = await authorize(sign({ ...claims, jti: `k-${now}` }, 'not-the-secret'));
  assert.equal(forged.status, 303);
  const back = new URL(forged.headers.get('location'));
  assert.equal(`${back.origin}${back.pathname}`, 'https://rp.example.com/cb');
  assert.equal(back.searchParams.get('error'), 'invalid_request_object');
});

test('an ES256 request object verifies with keys the OP fetches from a loopback jwks_uri', async () => {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const jwk = { ...publicKey.export({ format: 'jwk' }), kid: 'rp-1', use: 'sig', alg: 'ES256' };
  let fetched = 0;
  const rp = createServer((req, res) => {
    fetched += 1;
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: [jwk] }));
  });
  rp.listen(0, '127.0.0.1');
  await once(rp, 'listening');
  try {
    const client = await registerClient(issuer, {
      redirect_uris: ['https://rp.example.com/cb'], grant_types: ['authorization_code'], response_types: ['code'],
      scope: 'openid', request_object_signing_alg: 'ES256', jwks_uri: `http://127.0.0.1:${rp.address().port}/jwks`,
    });
    const encode = (value) => Buffer.from(JSON.stringify(value)).toString('base64url');
    const now = Math.floor(Date.now() / 1000);
    const input = `${encode({ alg: 'ES256', kid: 'rp-1' })}.${encode({
      iss: client.client_id, aud: issuer, client_id: client.client_id, response_type: 'code', scope: 'openid',
      redirect_uri: 'https://rp.example.com/cb', nonce: 'n', iat: now, exp: now + 300, jti: `es-${now}`,
    })}`;
    const signature = signWith('sha256', Buffer.from(input), { key: privateKey, dsaEncoding: 'ieee-p1363' });
    const response = await fetch(`${issuer}/auth?${new URLSearchParams({
      client_id: client.client_id, response_type: 'code', scope: 'openid',
      request: `${input}.${signature.toString('base64url')}`,
    })}`, { redirect: 'manual' });
    assert.equal(response.status, 303);
    assert.match(response.headers.get('location'), /^\/interaction\//);
    assert.equal(fetched, 1);
  } finally {
    rp.close();
  }
});
