// The real test OP of end2end/op (see its README), started in a child process on a free port, and a tiny echo
// upstream for proxy checks.
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import { createInterface } from 'node:readline';
import { resolve } from 'node:path';

export interface RunningOp {
  issuer: string;
  stop(): Promise<void>;
}

export async function startOp(args: string[] = []): Promise<RunningOp> {
  const child: ChildProcess = spawn(process.execPath, [resolve(__dirname, '../op/server.js'), '--port', '0', ...args], {
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  const issuer = await new Promise<string>((ok, fail) => {
    createInterface({ input: child.stdout! }).once('line', (line) => {
      const ready = /^OP_READY (http:\/\/127\.0\.0\.1:\d+)$/.exec(line);
      if (ready) ok(ready[1]);
      else fail(new Error(`test OP: unexpected line ${line}`));
    });
    child.once('exit', (code) => fail(new Error(`test OP exited (${code}) before it was ready`)));
  });
  return {
    issuer,
    stop: () => new Promise((done) => {
      child.once('exit', () => done());
      child.kill('SIGTERM');
    }),
  };
}

/// An upstream answering 200 with the request's method, path and `x-oauth-client-id` header as JSON; resolves to its URL and server.
export async function startEcho(): Promise<{ url: string; server: Server }> {
  const server = createServer((request, response) => {
    response.writeHead(200, { 'content-type': 'application/json' });
    response.end(JSON.stringify({ method: request.method, path: request.url, client: request.headers['x-oauth-client-id'] }));
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  const address = server.address();
  if (!address || typeof address === 'string') throw new Error('echo upstream has no port');
  return { url: `http://127.0.0.1:${address.port}`, server };
}

/// A client_credentials access token from the OP.
export async function clientToken(issuer: string, clientId: string, secret: string, scope: string): Promise<string> {
  const response = await fetch(`${issuer}/token`, {
    method: 'POST',
    headers: {
      authorization: `Basic ${Buffer.from(`${encodeURIComponent(clientId)}:${encodeURIComponent(secret)}`).toString('base64')}`,
      'content-type': 'application/x-www-form-urlencoded',
    },
    body: new URLSearchParams({ grant_type: 'client_credentials', scope }),
  });
  const body = await response.json();
  if (!response.ok) throw new Error(`token: ${response.status} ${JSON.stringify(body)}`);
  return body.access_token;
}
