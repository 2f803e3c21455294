// A UMA 2.0 authorization server on top of oidc-provider, shaped like Gluu oxAuth 4.x (paths, field names,
// error names). It is a test double written in this project: oidc-provider itself has no UMA. Registration,
// client authentication, PATs (client_credentials tokens with scope uma_protection) and the token endpoint are
// oidc-provider's; resources, tickets, RPTs and PCTs live in memory here.
import { randomBytes, randomUUID } from 'node:crypto';
import { errors } from 'oidc-provider';
import { HttpError, readBody, route } from './http.js';

export const UMA_GRANT = 'urn:ietf:params:oauth:grant-type:uma-ticket';
const ID_TOKEN_FORMAT = 'http://openid.net/specs/openid-connect-core-1_0.html#IDToken';

const PATHS = {
  resourceSet: '/restv1/host/rsrc/resource_set',
  permission: '/restv1/host/rsrc_pr',
  rptStatus: '/restv1/rpt/status',
  gatherClaims: '/restv1/uma/gather_claims',
  scopes: '/restv1/uma/scopes',
};

const now = () => Math.floor(Date.now() / 1000);
const opaque = () => randomBytes(32).toString('base64url');
const isStringArray = (value) => Array.isArray(value) && value.every((item) => typeof item === 'string' && item);

// Registers the uma-ticket grant on `provider` and returns the middleware serving the other UMA endpoints.
// `settings` is read on every request: uma_ticket_ttl, rpt_ttl, uma_auto_grant, uma_deny. `verifyJwtAccessToken`
// resolves a JWT access token of this OP to its payload, or to undefined when it is not one (PATs are JWTs with the
// jwt_access_tokens setting).
export function installUma(provider, settings, verifyJwtAccessToken = async () => undefined) {
  const resources = new Map(); // _id → { owner: client id, description }
  const tickets = new Map(); // ticket → { permissions: [{ resource_id, resource_scopes }], exp, gathered }
  const rpts = new Map(); // RPT → { clientId, iat, exp, permissions }
  const pcts = new Map(); // PCT → client id
  const url = (path) => `${provider.issuer}${path}`;

  function issueTicket(permissions, gathered = false) {
    const ticket = randomUUID();
    tickets.set(ticket, { permissions, gathered, exp: now() + settings.uma_ticket_ttl });
    return ticket;
  }

  // A ticket is good for one use: whatever the outcome, the presented one is gone.
  function redeemTicket(value) {
    const ticket = tickets.get(value);
    tickets.delete(value);
    return ticket && ticket.exp > now() ? ticket : undefined;
  }

  // The PAT's client id; a PAT is an active client_credentials token carrying uma_protection, opaque or JWT.
  async function findPat(token) {
    if (token.split('.').length === 3) {
      const payload = await verifyJwtAccessToken(token);
      return payload && { clientId: payload.client_id, scope: payload.scope, isValid: true };
    }
    return provider.ClientCredentials.find(token);
  }

  async function authenticatePat(ctx) {
    const [scheme, token] = ctx.get('authorization').split(' ');
    const pat = scheme.toLowerCase() === 'bearer' && token ? await findPat(token) : undefined;
    if (!pat?.isValid || !pat.scope?.split(' ').includes('uma_protection')) throw new HttpError(401, 'invalid_token');
    return pat.clientId;
  }

  function resourceDescription(body) {
    if (!body || typeof body !== 'object' || Array.isArray(body)) {
      throw new HttpError(400, 'invalid_request', 'the body must be a JSON object');
    }
    const { scopes, ...description } = body; // Gluu's prose says "scopes", oxAuth's property is resource_scopes
    description.resource_scopes = body.resource_scopes ?? scopes;
    if (!isStringArray(description.resource_scopes) || !description.resource_scopes.length) {
      throw new HttpError(400, 'invalid_request', 'resource_scopes must be a non-empty array of strings');
    }
    return description;
  }

  async function resourceSet(ctx, id) {
    const owner = await authenticatePat(ctx);
    if (id === undefined) {
      if (ctx.method === 'GET') {
        ctx.body = [...resources].filter(([, r]) => r.owner === owner).map(([rid]) => rid);
      } else if (ctx.method === 'POST') {
        const _id = randomUUID();
        resources.set(_id, { owner, description: resourceDescription(await readBody(ctx)) });
        ctx.status = 201;
        ctx.body = { _id };
      } else {
        throw new HttpError(405, 'invalid_request', `${ctx.method} is not allowed here`);
      }
      return;
    }
    const resource = resources.get(id);
    if (resource?.owner !== owner) throw new HttpError(404, 'not_found', 'no such resource');
    if (ctx.method === 'GET') {
      ctx.body = { _id: id, ...resource.description };
    } else if (ctx.method === 'PUT') {
      resource.description = resourceDescription(await readBody(ctx));
      ctx.body = { _id: id };
    } else if (ctx.method === 'DELETE') {
      resources.delete(id);
      ctx.status = 204;
    } else {
      throw new HttpError(405, 'invalid_request', `${ctx.method} is not allowed here`);
    }
  }

  async function permission(ctx) {
    if (ctx.method !== 'POST') throw new HttpError(405, 'invalid_request', `${ctx.method} is not allowed here`);
    const owner = await authenticatePat(ctx);
    const body = await readBody(ctx);
    const requests = Array.isArray(body) ? body : [body];
    if (!requests.length) throw new HttpError(400, 'invalid_request', 'no permission requested');
    const permissions = requests.map((request) => {
      const resource = resources.get(request?.resource_id);
      if (resource?.owner !== owner) throw new HttpError(400, 'invalid_resource_id');
      const scopes = request.resource_scopes ?? [];
      if (!isStringArray(scopes) || !scopes.every((s) => resource.description.resource_scopes.includes(s))) {
        throw new HttpError(400, 'invalid_scope');
      }
      return { resource_id: request.resource_id, resource_scopes: scopes };
    });
    ctx.status = 201;
    ctx.body = { ticket: issueTicket(permissions) };
  }

  // Scriptable stand-in for the claims interaction: no page, the claims count as gathered at once.
  async function gatherClaims(ctx) {
    const { client_id: clientId, ticket, claims_redirect_uri: redirectUri, state } = ctx.query;
    const client = clientId ? await provider.Client.find(String(clientId)) : undefined;
    if (!client) throw new HttpError(400, 'invalid_client');
    const registered = client.metadata().claims_redirect_uri ?? [];
    if (!redirectUri || !registered.includes(redirectUri)) {
      throw new HttpError(400, 'invalid_claims_redirect_uri', 'claims_redirect_uri is not registered for the client');
    }
    const gathered = redeemTicket(ticket);
    if (!gathered) throw new HttpError(400, 'invalid_grant', 'unknown, used or expired ticket');
    const target = new URL(redirectUri);
    target.searchParams.set('ticket', issueTicket(gathered.permissions, true));
    if (state !== undefined) target.searchParams.set('state', state);
    ctx.redirect(target.href); // 302
  }

  async function rptStatus(ctx) {
    if (ctx.method !== 'POST') throw new HttpError(405, 'invalid_request', `${ctx.method} is not allowed here`);
    await authenticatePat(ctx);
    const rpt = rpts.get((await readBody(ctx)).token);
    if (!rpt || rpt.exp <= now()) {
      ctx.body = { active: false };
      return;
    }
    ctx.body = {
      active: true,
      client_id: rpt.clientId,
      iat: rpt.iat,
      exp: rpt.exp,
      nbf: rpt.iat,
      iss: provider.issuer,
      permissions: rpt.permissions.map((p) => ({ ...p, exp: rpt.exp })),
    };
  }

  function scopeDescription(ctx, name) {
    const known = [...resources.values()].some((r) => r.description.resource_scopes.includes(name));
    if (!known) throw new HttpError(404, 'not_found', 'no resource uses this scope');
    ctx.body = { name };
  }

  // POST <token_endpoint> grant_type=urn:ietf:params:oauth:grant-type:uma-ticket, after oidc-provider
  // authenticated the client and checked that it registered this grant type.
  async function umaTicketGrant(ctx) {
    const { client, params } = ctx.oidc;
    if (!params.ticket) throw new errors.InvalidRequest("missing required parameter 'ticket'");
    if (params.claim_token && !params.claim_token_format) {
      throw new errors.InvalidRequest("claim_token requires 'claim_token_format'");
    }
    const ticket = redeemTicket(params.ticket);
    if (!ticket) throw new errors.InvalidGrant('unknown, used or expired ticket');

    // Requested scopes widen the permissions, within what each resource registered.
    const permissions = ticket.permissions.map((p) => ({ ...p, resource_scopes: [...p.resource_scopes] }));
    for (const scope of params.scope?.split(' ').filter(Boolean) ?? []) {
      const registers = (p) => resources.get(p.resource_id)?.description.resource_scopes.includes(scope);
      const matching = permissions.filter(registers);
      if (!matching.length) throw new errors.InvalidScope('scope is not registered for the ticket\'s resources', scope);
      for (const p of matching) if (!p.resource_scopes.includes(scope)) p.resource_scopes.push(scope);
    }

    const denied = new Set(settings.uma_deny);
    if (permissions.some((p) => denied.has(p.resource_id) || p.resource_scopes.some((s) => denied.has(s)))) {
      ctx.status = 403;
      ctx.body = { error: 'request_denied' };
      return;
    }

    const presentedPct = pcts.get(params.pct) === client.clientId ? params.pct : undefined;
    const satisfied = settings.uma_auto_grant || ticket.gathered || presentedPct || params.claim_token;
    if (!satisfied) {
      const next = issueTicket(ticket.permissions);
      ctx.status = 403;
      ctx.body = {
        error: 'need_info',
        ticket: next,
        required_claims: [{
          issuer: [provider.issuer],
          name: 'email',
          claim_token_format: [ID_TOKEN_FORMAT],
          claim_type: 'urn:oid:0.9.2342.19200300.100.1.3',
          friendly_name: 'email',
        }],
        redirect_user: `${url(PATHS.gatherClaims)}?ticket=${encodeURIComponent(next)}`,
      };
      return;
    }

    // Upgrade: a live RPT of the same client contributes its permissions to the new RPT.
    const previous = rpts.get(params.rpt);
    const upgraded = Boolean(previous && previous.clientId === client.clientId && previous.exp > now());
    if (upgraded) {
      for (const old of previous.permissions) {
        const same = permissions.find((p) => p.resource_id === old.resource_id);
        if (!same) permissions.push({ ...old });
        else same.resource_scopes = [...new Set([...same.resource_scopes, ...old.resource_scopes])];
      }
    }

    const rpt = opaque();
    const iat = now();
    rpts.set(rpt, { clientId: client.clientId, iat, exp: iat + settings.rpt_ttl, permissions });
    const pct = presentedPct ?? opaque();
    pcts.set(pct, client.clientId);
    ctx.body = {
      access_token: rpt,
      token_type: 'Bearer',
      expires_in: settings.rpt_ttl,
      upgraded,
      pct,
    };
  }

  const grantParameters = ['ticket', 'claim_token', 'claim_token_format', 'pct', 'rpt', 'scope'];
  provider.registerGrantType(UMA_GRANT, umaTicketGrant, grantParameters);

  return route(async (ctx) => {
    const { path, method } = ctx;
    if (path === '/.well-known/uma2-configuration' && method === 'GET') {
      ctx.body = {
        issuer: provider.issuer,
        token_endpoint: url('/token'),
        jwks_uri: url('/jwks'),
        registration_endpoint: url('/reg'),
        introspection_endpoint: url(PATHS.rptStatus),
        resource_registration_endpoint: url(PATHS.resourceSet),
        permission_endpoint: url(PATHS.permission),
        claims_interaction_endpoint: url(PATHS.gatherClaims),
        scope_endpoint: url(PATHS.scopes),
        grant_types_supported: ['authorization_code', 'refresh_token', 'client_credentials', UMA_GRANT],
        token_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post'],
      };
    } else if (path === PATHS.resourceSet || path.startsWith(`${PATHS.resourceSet}/`)) {
      const id = path === PATHS.resourceSet ? undefined : path.slice(PATHS.resourceSet.length + 1);
      await resourceSet(ctx, id === undefined ? undefined : decodeURIComponent(id));
    } else if (path === PATHS.permission) {
      await permission(ctx);
    } else if (path === PATHS.rptStatus) {
      await rptStatus(ctx);
    } else if (path === PATHS.gatherClaims && method === 'GET') {
      await gatherClaims(ctx);
    } else if (path.startsWith(`${PATHS.scopes}/`) && method === 'GET') {
      scopeDescription(ctx, decodeURIComponent(path.slice(PATHS.scopes.length + 1)));
    } else {
      return false;
    }
    return true;
  });
}
