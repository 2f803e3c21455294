// The project's UMA 2.0 extension (a test double shaped like oxAuth): resources, permission tickets, the
// uma-ticket grant with need_info and claims gathering, RPT upgrade, RPT introspection, policy switches.
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, test } from 'node:test';
import { basicAuth, clientToken, postForm, registerClient, sendJson, startOp } from '../testing.js';

const UMA_GRANT = 'urn:ietf:params:oauth:grant-type:uma-ticket';
const ID_TOKEN_FORMAT = 'http://openid.net/specs/openid-connect-core-1_0.html#IDToken';
const CLAIMS_REDIRECT_URI = 'https://rp.example.com/claims';
let op;
let issuer;
let uma; // uma2-configuration
let rs; // resource server client
let rp; // requesting party's client
let pat;

before(async () => {
  op = await startOp();
  issuer = op.issuer;
  uma = await (await fetch(`${issuer}/.well-known/uma2-configuration`)).json();
  rs = await registerClient(issuer, {
    grant_types: ['client_credentials'], response_types: [], redirect_uris: [], scope: 'oxd uma_protection',
  });
  rp = await registerClient(issuer, {
    grant_types: ['client_credentials', UMA_GRANT], response_types: [], redirect_uris: [],
    claims_redirect_uri: [CLAIMS_REDIRECT_URI],
  });
  pat = await clientToken(issuer, rs, 'uma_protection');
});
after(() => op.stop());

const configure = (changes) => sendJson(`${issuer}/_test/config`, 'POST', changes);

async function createResource(description = { name: 'photos', resource_scopes: ['view', 'edit'] }) {
  const response = await sendJson(uma.resource_registration_endpoint, 'POST', description, pat);
  assert.equal(response.status, 201);
  return (await response.json())._id;
}

async function ticketFor(permissions) {
  const response = await sendJson(uma.permission_endpoint, 'POST', permissions, pat);
  assert.equal(response.status, 201);
  const { ticket } = await response.json();
  assert.ok(ticket);
  return ticket;
}

async function requestRpt(params, client = rp) {
  const response = await postForm(uma.token_endpoint, { grant_type: UMA_GRANT, ...params }, {
    authorization: basicAuth(client.client_id, client.client_secret),
  });
  return { status: response.status, body: await response.json() };
}

async function introspectRpt(token) {
  const response = await postForm(uma.introspection_endpoint, { token }, { authorization: `Bearer ${pat}` });
  assert.equal(response.status, 200);
  return response.json();
}

test('uma2-configuration', () => {
  assert.equal(uma.issuer, issuer);
  assert.equal(uma.token_endpoint, `${issuer}/token`);
  assert.equal(uma.jwks_uri, `${issuer}/jwks`);
  assert.equal(uma.registration_endpoint, `${issuer}/reg`);
  assert.equal(uma.introspection_endpoint, `${issuer}/restv1/rpt/status`);
  assert.equal(uma.resource_registration_endpoint, `${issuer}/restv1/host/rsrc/resource_set`);
  assert.equal(uma.permission_endpoint, `${issuer}/restv1/host/rsrc_pr`);
  assert.equal(uma.claims_interaction_endpoint, `${issuer}/restv1/uma/gather_claims`);
  assert.equal(uma.scope_endpoint, `${issuer}/restv1/uma/scopes`);
  assert.ok(uma.grant_types_supported.includes('client_credentials'));
  assert.ok(uma.grant_types_supported.includes(UMA_GRANT));
});

test('the UMA protection API needs a PAT', async () => {
  const none = await sendJson(uma.resource_registration_endpoint, 'GET');
  assert.equal(none.status, 401);
  assert.deepEqual(await none.json(), { error: 'invalid_token' });
  const notPat = await clientToken(issuer, rs, 'oxd');
  assert.equal((await sendJson(uma.resource_registration_endpoint, 'GET', undefined, notPat)).status, 401);
  assert.equal((await sendJson(uma.permission_endpoint, 'POST', [], 'garbage')).status, 401);
  const rpt = await postForm(uma.introspection_endpoint, { token: 'x' });
  assert.equal(rpt.status, 401);
});

test('resource registration CRUD', async () => {
  const description = {
    name: 'photos',
    resource_scopes: ['view', 'edit'],
    scope_expression: '{"rule":{"and":[{"var":0}]},"data":["view"]}',
    type: 'https://example.com/rsrc',
  };
  const id = await createResource(description);
  const list = await (await sendJson(uma.resource_registration_endpoint, 'GET', undefined, pat)).json();
  assert.ok(list.includes(id));

  const url = `${uma.resource_registration_endpoint}/${id}`;
  assert.deepEqual(await (await sendJson(url, 'GET', undefined, pat)).json(), { _id: id, ...description });
  const replaced = await sendJson(url, 'PUT', { name: 'albums', scopes: ['view'] }, pat);
  assert.equal(replaced.status, 200);
  assert.deepEqual(await replaced.json(), { _id: id });
  const current = await (await sendJson(url, 'GET', undefined, pat)).json();
  assert.deepEqual(current, { _id: id, name: 'albums', resource_scopes: ['view'] });

  const scope = await fetch(`${uma.scope_endpoint}/view`);
  assert.deepEqual(await scope.json(), { name: 'view' });

  const invalid = await sendJson(uma.resource_registration_endpoint, 'POST', { name: 'no scopes' }, pat);
  assert.equal(invalid.status, 400);
  assert.equal((await invalid.json()).error, 'invalid_request');

  // Another resource server sees none of it.
  const otherPat = await clientToken(issuer, await registerClient(issuer, {
    grant_types: ['client_credentials'], response_types: [], redirect_uris: [],
  }), 'uma_protection');
  assert.equal((await sendJson(url, 'GET', undefined, otherPat)).status, 404);

  assert.equal((await sendJson(url, 'DELETE', undefined, pat)).status, 204);
  assert.equal((await sendJson(url, 'GET', undefined, pat)).status, 404);
  assert.equal((await sendJson(url, 'DELETE', undefined, pat)).status, 404);
});

test('permission endpoint', async () => {
  const id = await createResource();
  const request = (body) => sendJson(uma.permission_endpoint, 'POST', body, pat);
  const unknown = await request({ resource_id: 'nope', resource_scopes: ['view'] });
  assert.equal(unknown.status, 400);
  assert.deepEqual(await unknown.json(), { error: 'invalid_resource_id' });
  const badScope = await request([{ resource_id: id, resource_scopes: ['delete'] }]);
  assert.equal(badScope.status, 400);
  assert.deepEqual(await badScope.json(), { error: 'invalid_scope' });
  await ticketFor({ resource_id: id, resource_scopes: ['view'] }); // one object
  await ticketFor([{ resource_id: id, resource_scopes: ['view'] }]); // an array, as oxd sends
});

test('need_info, claims gathering, RPT, RPT introspection, upgrade with the PCT', async () => {
  const id = await createResource();
  const ticket = await ticketFor([{ resource_id: id, resource_scopes: ['view'] }]);

  const needInfo = await requestRpt({ ticket });
  assert.equal(needInfo.status, 403);
  assert.equal(needInfo.body.error, 'need_info');
  assert.ok(needInfo.body.ticket);
  assert.notEqual(needInfo.body.ticket, ticket);
  assert.deepEqual(needInfo.body.required_claims, [{
    issuer: [issuer],
    name: 'email',
    claim_token_format: [ID_TOKEN_FORMAT],
    claim_type: 'urn:oid:0.9.2342.19200300.100.1.3',
    friendly_name: 'email',
  }]);
  assert.equal(needInfo.body.redirect_user, `${uma.claims_interaction_endpoint}?ticket=${needInfo.body.ticket}`);

  const reused = await requestRpt({ ticket });
  assert.equal(reused.status, 400);
  assert.equal(reused.body.error, 'invalid_grant');

  const gather = new URL(uma.claims_interaction_endpoint);
  gather.search = new URLSearchParams({
    client_id: rp.client_id, ticket: needInfo.body.ticket, claims_redirect_uri: CLAIMS_REDIRECT_URI, state: 'st',
  });
  const unregistered = new URL(gather);
  unregistered.searchParams.set('claims_redirect_uri', 'https://evil.example.com/');
  assert.equal((await fetch(unregistered, { redirect: 'manual' })).status, 400);
  const gathered = await fetch(gather, { redirect: 'manual' });
  assert.equal(gathered.status, 302);
  const back = new URL(gathered.headers.get('location'));
  assert.equal(`${back.origin}${back.pathname}`, CLAIMS_REDIRECT_URI);
  assert.equal(back.searchParams.get('state'), 'st');
  const gatheredTicket = back.searchParams.get('ticket');
  assert.notEqual(gatheredTicket, needInfo.body.ticket);

  const granted = await requestRpt({ ticket: gatheredTicket });
  assert.equal(granted.status, 200);
  assert.equal(granted.body.token_type, 'Bearer');
  assert.equal(granted.body.expires_in, 3600);
  assert.equal(granted.body.upgraded, false);
  assert.ok(granted.body.pct);
  const rpt = granted.body.access_token;

  const introspection = await introspectRpt(rpt);
  assert.equal(introspection.active, true);
  assert.equal(introspection.client_id, rp.client_id);
  assert.equal(introspection.iss, issuer);
  assert.equal(introspection.exp - introspection.iat, 3600);
  assert.equal(introspection.nbf, introspection.iat);
  assert.deepEqual(introspection.permissions, [{ resource_id: id, resource_scopes: ['view'], exp: introspection.exp }]);

  // The PCT satisfies the policy next time; presenting the RPT upgrades it.
  const editTicket = await ticketFor([{ resource_id: id, resource_scopes: ['edit'] }]);
  const upgraded = await requestRpt({ ticket: editTicket, pct: granted.body.pct, rpt });
  assert.equal(upgraded.status, 200);
  assert.equal(upgraded.body.upgraded, true);
  assert.equal(upgraded.body.pct, granted.body.pct);
  const permissions = (await introspectRpt(upgraded.body.access_token)).permissions;
  assert.deepEqual(permissions.map((p) => [p.resource_id, p.resource_scopes]), [[id, ['edit', 'view']]]);

  assert.deepEqual(await introspectRpt('garbage'), { active: false });
});

test('a pushed claim token satisfies the policy; scope widens within the resource', async () => {
  const id = await createResource();
  const view = [{ resource_id: id, resource_scopes: ['view'] }];
  const missingFormat = await requestRpt({ ticket: await ticketFor(view), claim_token: 'x' });
  assert.equal(missingFormat.status, 400);
  assert.equal(missingFormat.body.error, 'invalid_request');

  const widen = await requestRpt({ ticket: await ticketFor(view), scope: 'delete' });
  assert.equal(widen.status, 400);
  assert.equal(widen.body.error, 'invalid_scope');

  const pushed = await requestRpt({
    ticket: await ticketFor(view),
    claim_token: 'eyJhbGciOiJub25lIn0.e30.', claim_token_format: ID_TOKEN_FORMAT, scope: 'edit',
  });
  assert.equal(pushed.status, 200);
  const { permissions } = await introspectRpt(pushed.body.access_token);
  assert.deepEqual(permissions[0].resource_scopes, ['view', 'edit']);
});

test('policy switches: auto grant, deny list; expired tickets', async () => {
  const id = await createResource();
  const permission = [{ resource_id: id, resource_scopes: ['view'] }];
  await configure({ uma_auto_grant: true });
  try {
    assert.equal((await requestRpt({ ticket: await ticketFor(permission) })).status, 200);
    await configure({ uma_deny: [id] });
    const denied = await requestRpt({ ticket: await ticketFor(permission) });
    assert.equal(denied.status, 403);
    assert.deepEqual(denied.body, { error: 'request_denied' });
    await configure({ uma_deny: ['view'] });
    assert.equal((await requestRpt({ ticket: await ticketFor(permission) })).body.error, 'request_denied');
  } finally {
    await configure({ uma_auto_grant: false, uma_deny: [] });
  }

  await configure({ uma_ticket_ttl: 1 });
  try {
    const ticket = await ticketFor(permission);
    await sleep(2100);
    const expired = await requestRpt({ ticket });
    assert.equal(expired.status, 400);
    assert.equal(expired.body.error, 'invalid_grant');
  } finally {
    await configure({ uma_ticket_ttl: 300 });
  }
});

test('only clients registered for the uma-ticket grant may use it', async () => {
  const id = await createResource();
  const response = await requestRpt({ ticket: await ticketFor([{ resource_id: id, resource_scopes: ['view'] }]) }, rs);
  assert.equal(response.status, 400);
});

test('UMA calls are counted', async () => {
  await postForm(`${issuer}/_test/reset`, {});
  const id = await createResource();
  await requestRpt({ ticket: await ticketFor([{ resource_id: id, resource_scopes: ['view'] }]) });
  await introspectRpt('x');
  const stats = await (await fetch(`${issuer}/_test/stats`)).json();
  assert.equal(stats.resource_registration, 1);
  assert.equal(stats.permission, 1);
  assert.equal(stats.rpt_introspection, 1);
  assert.equal(stats.token_by_grant_type[UMA_GRANT], 1);
});
