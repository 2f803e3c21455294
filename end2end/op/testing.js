// For JavaScript tests of and against the test OP (node:test here, Playwright in end2end/): start it in a child
// process, and a few HTTP helpers.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const SERVER = fileURLToPath(new URL('./server.js', import.meta.url));

// Resolves to { issuer, stdout, stderr, stop } once the OP printed its ready line. `args` are server.js flags,
// `env` extra environment variables. `stdout` holds every stdout line (only the ready line, normally);
// `stop()` sends SIGTERM and resolves to the exit code.
export async function startOp({ args = [], env = {} } = {}) {
  const child = spawn(process.execPath, [SERVER, '--port', '0', ...args], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (chunk) => { stderr = (stderr + chunk).slice(-20_000); });
  const stdout = [];
  const lines = createInterface({ input: child.stdout });
  const exited = once(child, 'exit');

  const issuer = await new Promise((resolve, reject) => {
    lines.on('line', (line) => {
      const ready = /^OP_READY (http:\/\/127\.0\.0\.1:\d+)$/.exec(line);
      if (ready && !stdout.length) resolve(ready[1]);
      else reject(new Error(`test OP: unexpected stdout line ${JSON.stringify(line)}`));
      stdout.push(line);
    });
    exited.then(([code, signal]) => {
      reject(new Error(`test OP exited (${code ?? signal}) before it was ready:\n${stderr}`));
    });
  });

  return {
    issuer,
    stdout,
    stderr: () => stderr,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      const [code, signal] = await exited;
      return code ?? signal;
    },
  };
}

export function basicAuth(id, secret) {
  // RFC 6749 §2.3.1: form-urlencode id and secret before base64.
  const encode = (value) => encodeURIComponent(value).replaceAll('%20', '+');
  return `Basic ${Buffer.from(`${encode(id)}:${encode(secret)}`).toString('base64')}`;
}

// POST an application/x-www-form-urlencoded body; `headers` e.g. { authorization: basicAuth(…) }.
export function postForm(url, fields, headers = {}) {
  return fetch(url, { method: 'POST', headers, body: new URLSearchParams(fields), redirect: 'manual' });
}

// Send JSON with `method`; `token` becomes a Bearer authorization.
export function sendJson(url, method, body, token) {
  const headers = { 'content-type': 'application/json' };
  if (token) headers.authorization = `Bearer ${token}`;
  return fetch(url, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
}

// Dynamic registration of a client; returns the registration response (client_id, client_secret, RAT, ...).
export async function registerClient(issuer, metadata) {
  const response = await sendJson(`${issuer}/reg`, 'POST', metadata);
  const body = await response.json();
  if (response.status !== 201) throw new Error(`registration failed: ${response.status} ${JSON.stringify(body)}`);
  return body;
}

// A client_credentials access token of a registered client.
export async function clientToken(issuer, client, scope) {
  const response = await postForm(`${issuer}/token`, { grant_type: 'client_credentials', scope }, {
    authorization: basicAuth(client.client_id, client.client_secret),
  });
  const body = await response.json();
  if (response.status !== 200) throw new Error(`client_credentials failed: ${response.status} ${JSON.stringify(body)}`);
  return body.access_token;
}
