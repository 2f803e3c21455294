// Small HTTP helpers for the OP's own (non-oidc-provider) endpoints.

// An error answered as `status` with a JSON `body`.
export class HttpError extends Error {
  constructor(status, error, description) {
    super(description ?? error);
    this.status = status;
    this.body = description === undefined ? { error } : { error, error_description: description };
  }
}

// A Koa middleware from `handler(ctx)`, which returns true when it answered the request and false to pass it on.
export function route(handler) {
  return async (ctx, next) => {
    let handled;
    try {
      handled = await handler(ctx);
    } catch (err) {
      if (!(err instanceof HttpError)) throw err;
      ctx.status = err.status;
      ctx.body = err.body;
      if (err.status === 401) ctx.set('WWW-Authenticate', `Bearer error="${err.body.error}"`);
      return;
    }
    if (!handled) await next();
  };
}

// The request body: JSON when the request says so, otherwise form-urlencoded.
export async function readBody(ctx) {
  const chunks = [];
  for await (const chunk of ctx.req) chunks.push(chunk);
  const text = Buffer.concat(chunks).toString('utf8');
  if (ctx.is('application/json')) {
    try {
      return JSON.parse(text);
    } catch {
      throw new HttpError(400, 'invalid_request', 'the body is not valid JSON');
    }
  }
  return Object.fromEntries(new URLSearchParams(text));
}

export function escapeHtml(value) {
  return String(value).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
