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
  jwt_kid: '', // the key that signs JWT access tokens; '' = the RSA key (the EC key with --es256)
  jwt_claims: {}, // claims replacing those of JWT access tokens at issuance; null removes one
  jwt_header: {}, // header fields replacing those of JWT access tokens (`kid`, …); null removes one
  jwks_hidden: [], // kids of signing keys /jwks leaves out (a key "not yet rotated in")
};

// A setting's value from a flag, an environment variable or JSON.
export function settingValue(key, value) {
  const start = SETTINGS[key];
  if (typeof start === 'boolean') return value === true || value === '1' || value === 'true';
  if (typeof start === 'string') return String(value);
  if (Array.isArray(start)) {
    return Array.isArray(value) ? value.map(String) : String(value).split(/[\s,]+/).filter(Boolean);
  }
  if (typeof start === 'object') {
    const object = typeof value === 'string' ? JSON.parse(value) : value;
    if (object === null || typeof object !== 'object' || Array.isArray(object)) {
      throw new Error(`${key} must be a JSON object, got ${JSON.stringify(value)}`);
    }
    return object;
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

// Applies settings jwt_claims and jwt_header to a JWT access token about to be signed ({header, payload}).
function customizeJwt(jwt, { jwt_claims: claims, jwt_header: header }) {
  for (const [name, value] of Object.entries(claims)) {
    if (value === null) delete jwt.payload[name];
    else jwt.payload[name] = value;
  }
  // The header fields are spread over the signer's own (`kid`), so `undefined` is what removes one.
  if (Object.keys(header).length) {
    jwt.header = Object.fromEntries(Object.entries(header).map(([name, value]) => [name, value ?? undefined]));
  }
}

// The extra signing keys of --extra-keys, by kid, with their algorithms (README "JWT access tokens").
export const EXTRA_KEYS = { 'extra-rs384': 'RS384', 'extra-rs512': 'RS512', 'extra-next': 'RS256' };

// Returns the Koa application (a Provider) for `issuer`. `options`: signingKey (an RSA private KeyObject), ecKey
// (optional EC P-256 private KeyObject: published too, and then JWT access tokens are ES256), extraKeys (RSA
// private KeyObjects by kid of EXTRA_KEYS), extraScopes (scopes beyond SCOPES), clients, acrValues, settings
// (mutable), log.
export function createOp(issuer, {
  signingKey, ecKey, extraKeys = {}, extraScopes = [], clients = [], acrValues, settings, log = console.error,
}) {
  let stats = emptyStats();
  const scopes = [...SCOPES, ...extraScopes.filter((scope) => !SCOPES.includes(scope))];

  // A key of this process instead of the library's published development key; id_tokens use the RSA key (the
  // first RS256 key: the keystore keeps this order among equally good keys).
  const started = Date.now();
  const keys = [{ key: signingKey, kid: `test-op-${started}`, alg: 'RS256' }];
  if (ecKey) keys.push({ key: ecKey, kid: `test-op-es256-${started}`, alg: 'ES256' });
  for (const [kid, key] of Object.entries(extraKeys)) keys.push({ key, kid, alg: EXTRA_KEYS[kid] });
  const defaultAccessTokenKey = keys[ecKey ? 1 : 0];
  // The key signing JWT access tokens now: setting jwt_kid, else the default.
  const accessTokenKey = () => keys.find((key) => key.kid === settings.jwt_kid) ?? defaultAccessTokenKey;
  const knownKid = (kid) => kid === '' || keys.some((key) => key.kid === kid);
  if (!knownKid(settings.jwt_kid)) throw new Error(`jwt_kid: no signing key ${settings.jwt_kid}`);

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
      const { alg, kid } = accessTokenKey();
      return { scope: scopes.join(' '), accessTokenFormat: 'jwt', jwt: { sign: { alg, kid } } };
    },
    useGrantedResource: () => false,
  };

  // The payload of a valid JWT access token of this OP, else undefined (they are not stored, so the UMA
  // extension cannot look a JWT PAT up like an opaque one).
  const publicJwks = createLocalJWKSet({ keys: keys.map((key) => signingJwk(key, true)) });
  const verifyJwtAccessToken = async (token) => {
    try {
      const algorithms = [...new Set(keys.map((key) => key.alg))];
      return (await jwtVerify(token, publicJwks, { issuer, typ: 'at+jwt', algorithms })).payload;
    } catch {
      return undefined;
    }
  };

  const provider = new Provider(issuer, {
    clients: clients.map(staticClient),
    scopes,
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
    // Settings jwt_claims and jwt_header: JWT access tokens with chosen claims (expired, another issuer, …).
    formats: { customizers: { jwt: (ctx, token, jwt) => customizeJwt(jwt, settings) } },
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

  // Setting jwks_hidden: keys the OP signs with but does not publish yet, as before a key rotation.
  provider.use(async (ctx, next) => {
    await next();
    if (ctx.path === '/jwks' && ctx.status === 200 && settings.jwks_hidden.length) {
      ctx.body = { keys: ctx.body.keys.filter((key) => !settings.jwks_hidden.includes(key.kid)) };
    }
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
        const updated = {};
        try {
          for (const [key, value] of Object.entries(changes)) updated[key] = settingValue(key, value);
        } catch (err) {
          throw new HttpError(400, 'invalid_request', err.message);
        }
        if ('jwt_kid' in updated && !knownKid(updated.jwt_kid)) {
          throw new HttpError(400, 'invalid_request', `jwt_kid: no signing key ${updated.jwt_kid}`);
        }
        Object.assign(settings, updated);
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
