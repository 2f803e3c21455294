// The test OP: oidc-provider configured as in shared/spec/oxd.md §3, a scriptable login, the UMA extension and
// the /_test endpoints. Everything is in memory; a new process is a clean OP.
import { createPublicKey } from 'node:crypto';
import { createLocalJWKSet, jwtVerify } from 'jose';
import Provider, { errors } from 'oidc-provider';
import { escapeHtml, HttpError, readBody, route } from './http.js';
import { installUma, UMA_GRANT } from './uma.js';

export const SCOPES = ['openid', 'offline_access', 'profile', 'email', 'oxd', 'uma_protection'];

// The audience of JWT access tokens requested without a `resource` (oidc-provider requires one).
export const JWT_RESOURCE = 'urn:gatehouse:jwt';

// Settings tests may change while the OP runs (POST /_test/config), with their start values.
export const SETTINGS = {
  token_ttl: 600, // seconds, client_credentials and authorization-code access tokens
  rpt_ttl: 3600,
  uma_ticket_ttl: 300,
  rotate_rat: false, // rotate the registration access token on every RFC 7592 PUT
  uma_auto_grant: false, // grant RPTs without claims
  uma_deny: [], // resource ids or scopes whose RPT requests get request_denied
  jwt_access_tokens: false, // client_credentials access tokens as signed JWTs (at+jwt) instead of opaque
};

// A setting's value from a flag, an environment variable or JSON.
export function settingValue(key, value) {
  const start = SETTINGS[key];
  if (typeof start === 'boolean') return value === true || value === '1' || value === 'true';
  if (Array.isArray(start)) {
    return Array.isArray(value) ? value.map(String) : String(value).split(/[\s,]+/).filter(Boolean);
  }
  const number = Number(value);
  if (!Number.isInteger(number) || number <= 0) throw new Error(`${key} must be a positive integer, got ${value}`);
  return number;
}

// The WebFinger `rel` of an OpenID Connect issuer (OpenID Connect Discovery §2).
export const ISSUER_REL = 'http://openid.net/specs/connect/1.0/issuer';

// Counted requests, by endpoint; `token_by_grant_type` splits `token`.
const COUNTED = [
  ['discovery', /^\/\.well-known\/openid-configuration$/],
  ['webfinger', /^\/\.well-known\/webfinger$/],
  ['uma_discovery', /^\/\.well-known\/uma2-configuration$/],
  ['jwks', /^\/jwks$/],
  ['registration', /^\/reg(\/[^/]+)?$/],
  ['authorization', /^\/auth$/],
  ['token', /^\/token$/],
  ['introspection', /^\/token\/introspection$/],
  ['revocation', /^\/token\/revocation$/],
  ['userinfo', /^\/me$/],
  ['end_session', /^\/session\/end$/],
  ['resource_registration', /^\/restv1\/host\/rsrc\/resource_set(\/[^/]+)?$/],
  ['permission', /^\/restv1\/host\/rsrc_pr$/],
  ['rpt_introspection', /^\/restv1\/rpt\/status$/],
  ['claims_gathering', /^\/restv1\/uma\/gather_claims$/],
];

function emptyStats() {
  return { ...Object.fromEntries(COUNTED.map(([name]) => [name, 0])), token_by_grant_type: {} };
}

// Static clients (--clients) in RFC 7591 metadata; without redirect_uris they are client_credentials/UMA clients.
function staticClient(metadata) {
  if (metadata.redirect_uris) return metadata;
  return { grant_types: ['client_credentials', UMA_GRANT], response_types: [], redirect_uris: [], ...metadata };
}

function validateExtraMetadata(ctx, key, value) {
  const uris = (list) => Array.isArray(list) && list.every((uri) => URL.canParse(uri));
  if (key === 'claims_redirect_uri' && value !== undefined && !uris(value)) {
    throw new errors.InvalidClientMetadata('claims_redirect_uri must be an array of URIs');
  }
}

// Tests play first-party clients: whatever is requested is granted, so a login never stops at a consent page.
async function loadExistingGrant(ctx) {
  const { oidc } = ctx;
  const { Grant } = oidc.provider;
  const grantId = oidc.result?.consent?.grantId || oidc.session.grantIdFor(oidc.client.clientId);
  let grant = grantId ? await Grant.find(grantId) : undefined;
  if (grant?.accountId !== oidc.account.accountId) {
    grant = new Grant({ accountId: oidc.account.accountId, clientId: oidc.client.clientId });
  }
  if (oidc.requestParamOIDCScopes.size) grant.addOIDCScope([...oidc.requestParamOIDCScopes].join(' '));
  grant.addOIDCClaims([...oidc.requestParamClaims]);
  await grant.save();
  return grant;
}

function loginPage(uid, client, acr) {
  return `<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>Sign in - test OP</title></head>
<body>
<h1>Sign in to the test OP</h1>
<p>for ${escapeHtml(client?.clientName ?? client?.clientId ?? 'an unknown client')};
any username and password are accepted.</p>
<form method="post" action="/interaction/${escapeHtml(uid)}">
<p><label>Username <input name="login" autofocus required></label></p>
<p><label>Password <input name="password" type="password"></label></p>
<p><label>acr <input name="acr" value="${escapeHtml(acr)}"></label></p>
<p><button type="submit">Sign in</button>
<button type="submit" name="abort" value="1" formnovalidate>Cancel</button></p>
</form>
</body></html>`;
}

// A signing JWK (private, or public with `publicOnly`) from a private KeyObject.
function signingJwk({ key, kid, alg }, publicOnly = false) {
  const jwk = (publicOnly ? createPublicKey(key) : key).export({ format: 'jwk' });
  return { ...jwk, kid, use: 'sig', alg };
}

// The library's fetch (client jwks_uri, sector identifiers) refuses special-use addresses against SSRF; this OP
// and the RPs of a test all live on loopback, so loopback URLs are fetched without that guard. Others keep it.
const LOOPBACK_HOSTS = new Set(['127.0.0.1', 'localhost', '[::1]']);
function loopbackFetch(url, options) {
  if (LOOPBACK_HOSTS.has(new URL(url).hostname)) {
    const { dispatcher, ...rest } = options;
    return globalThis.fetch(url, rest);
  }
  return globalThis.fetch(url, options);
}

// Returns the Koa application (a Provider) for `issuer`. `options`: signingKey (an RSA private KeyObject), ecKey
// (optional EC P-256 private KeyObject: published too, and then JWT access tokens are ES256), clients, acrValues,
// settings (mutable), log.
export function createOp(issuer, { signingKey, ecKey, clients = [], acrValues, settings, log = console.error }) {
  let stats = emptyStats();

  // A key of this process instead of the library's published development key; id_tokens use the RSA key.
  const started = Date.now();
  const keys = [{ key: signingKey, kid: `test-op-${started}`, alg: 'RS256' }];
  if (ecKey) keys.push({ key: ecKey, kid: `test-op-es256-${started}`, alg: 'ES256' });
  const accessTokenAlg = ecKey ? 'ES256' : 'RS256';

  // JWT access tokens (setting jwt_access_tokens, read on every request): a client_credentials request gets a
  // resource server, `resource` if given, else JWT_RESOURCE, whose format is 'jwt'. Its scope lists every
  // configured scope, so the granted scope is the same as for opaque tokens (openid included). Other grants and
  // the authorization endpoint keep the library's default (no default resource; `resource` → invalid_target).
  const jwtClientCredentials = (ctx) => settings.jwt_access_tokens
    && ctx.oidc?.route === 'token' && ctx.oidc.params?.grant_type === 'client_credentials';
  const resourceIndicators = {
    enabled: true,
    defaultResource: (ctx, client, oneOf) => oneOf ?? (jwtClientCredentials(ctx) ? JWT_RESOURCE : undefined),
    getResourceServerInfo: (ctx) => {
      if (!jwtClientCredentials(ctx)) throw new errors.InvalidTarget();
      return { scope: SCOPES.join(' '), accessTokenFormat: 'jwt', jwt: { sign: { alg: accessTokenAlg } } };
    },
    useGrantedResource: () => false,
  };

  // The payload of a valid JWT access token of this OP, else undefined (they are not stored, so the UMA
  // extension cannot look a JWT PAT up like an opaque one).
  const publicJwks = createLocalJWKSet({ keys: keys.map((key) => signingJwk(key, true)) });
  const verifyJwtAccessToken = async (token) => {
    try {
      return (await jwtVerify(token, publicJwks, { issuer, typ: 'at+jwt', algorithms: [accessTokenAlg] })).payload;
    } catch {
      return undefined;
    }
  };

  const provider = new Provider(issuer, {
    clients: clients.map(staticClient),
    scopes: SCOPES,
    // acr with openid: like oxAuth, every id_token says how the user signed in, requested or not.
    claims: { openid: ['sub', 'acr'], email: ['email', 'email_verified'], profile: ['name'] },
    acrValues,
    findAccount: (ctx, sub) => ({
      accountId: sub,
      claims: () => ({ sub, email: `${sub}@example.com`, email_verified: true, name: `User ${sub}` }),
    }),
    jwks: { keys: keys.map((key) => signingJwk(key)) },
    cookies: { keys: ['gatehouse-test-op-cookies'] },
    fetch: loopbackFetch,
    conformIdTokenClaims: false, // like oxAuth: the id_token carries the scopes' claims too
    pkce: { required: () => false }, // oxd sends no PKCE
    extraClientMetadata: { properties: ['claims_redirect_uri'], validator: validateExtraMetadata },
    loadExistingGrant,
    ttl: { AccessToken: () => settings.token_ttl, ClientCredentials: () => settings.token_ttl },
    features: {
      devInteractions: { enabled: false }, // replaced by the scriptable login below
      registration: { enabled: true },
      registrationManagement: { enabled: true, rotateRegistrationAccessToken: () => settings.rotate_rat },
      introspection: { enabled: true },
      revocation: { enabled: true },
      clientCredentials: { enabled: true },
      rpInitiatedLogout: { enabled: true },
      // `request` by value, signed as the client registered (request_object_signing_alg, its jwks_uri or secret).
      requestObjects: { enabled: true },
      resourceIndicators,
    },
  });
  provider.proxy = false;
  provider.on('server_error', (ctx, err) => log(`test OP: server_error on ${ctx.method} ${ctx.path}:`, err));

  provider.use(async (ctx, next) => {
    const counted = COUNTED.find(([, pattern]) => pattern.test(ctx.path));
    if (counted) stats[counted[0]] += 1;
    await next();
    const grantType = counted?.[0] === 'token' && ctx.oidc?.params?.grant_type;
    if (grantType) stats.token_by_grant_type[grantType] = (stats.token_by_grant_type[grantType] ?? 0) + 1;
  });

  provider.use(route(async (ctx) => {
    if (ctx.path === '/_test/stats' && ctx.method === 'GET') {
      ctx.body = stats;
    } else if (ctx.path === '/_test/reset' && ctx.method === 'POST') {
      stats = emptyStats();
      ctx.status = 204;
    } else if (ctx.path === '/_test/config' && (ctx.method === 'GET' || ctx.method === 'POST')) {
      if (ctx.method === 'POST') {
        const changes = await readBody(ctx);
        const unknown = Object.keys(changes ?? {}).filter((key) => !(key in SETTINGS));
        if (unknown.length) throw new HttpError(400, 'invalid_request', `unknown settings: ${unknown.join(', ')}`);
        try {
          for (const [key, value] of Object.entries(changes)) settings[key] = settingValue(key, value);
        } catch (err) {
          throw new HttpError(400, 'invalid_request', err.message);
        }
      }
      ctx.body = settings;
    } else {
      return false;
    }
    return true;
  }));

  // OpenID Connect Discovery §2 (oidc-provider has no WebFinger): every resource of this OP names its issuer.
  // `rel` filters the links as RFC 7033 §4.3 says; no `resource` is a 400.
  provider.use(route(async (ctx) => {
    if (ctx.path !== '/.well-known/webfinger' || ctx.method !== 'GET') return false;
    const { resource } = ctx.query;
    if (typeof resource !== 'string' || !resource) throw new HttpError(400, 'invalid_request', 'resource is required');
    const rels = [].concat(ctx.query.rel ?? []);
    const links = [{ rel: ISSUER_REL, href: provider.issuer }].filter((link) => !rels.length || rels.includes(link.rel));
    ctx.type = 'application/jrd+json';
    ctx.body = { subject: resource, links };
    return true;
  }));

  // The login interaction (interactions.url defaults to /interaction/<uid>). GET shows a form; POST with
  // `login` (or `username`) and optional `acr`/`amr` signs in, `abort` cancels with access_denied.
  provider.use(route(async (ctx) => {
    const uid = /^\/interaction\/([^/]+)$/.exec(ctx.path)?.[1];
    if (!uid || (ctx.method !== 'GET' && ctx.method !== 'POST')) return false;
    let details;
    try {
      details = await provider.interactionDetails(ctx.req, ctx.res);
    } catch (err) {
      throw new HttpError(400, err.error ?? 'invalid_request', err.error_description ?? err.message);
    }
    if (details.uid !== uid) throw new HttpError(400, 'invalid_request', 'interaction does not match its cookie');

    const finish = async (result, merge) => {
      ctx.status = 303;
      ctx.redirect(await provider.interactionResult(ctx.req, ctx.res, result, { mergeWithLastSubmission: merge }));
    };
    if (details.prompt.name !== 'login') {
      // Only consent can remain, and loadExistingGrant has granted everything already.
      await finish({ consent: {} }, true);
      return true;
    }
    const defaultAcr = details.params.acr_values?.split(' ')[0] ?? acrValues[0];
    if (ctx.method === 'GET') {
      ctx.type = 'html';
      ctx.body = loginPage(uid, await provider.Client.find(details.params.client_id), defaultAcr);
      return true;
    }
    const body = await readBody(ctx);
    if (body.abort) {
      await finish({ error: 'access_denied', error_description: 'End-User aborted interaction' }, false);
      return true;
    }
    const accountId = body.login || body.username;
    if (!accountId) throw new HttpError(400, 'invalid_request', 'login is required');
    const amr = body.amr ? String(body.amr).split(' ') : ['pwd'];
    await finish({ login: { accountId, acr: body.acr || defaultAcr, amr } }, false);
    return true;
  }));

  provider.use(installUma(provider, settings, verifyJwtAccessToken));
  return provider;
}
