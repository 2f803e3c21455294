#!/usr/bin/env node
// Starts the test OP on 127.0.0.1 and prints `OP_READY <issuer>` on stdout once it listens; see README.md.
// Every option is a flag (--token-ttl 5) or an environment variable (OP_TOKEN_TTL=5); the flag wins.
import { generateKeyPair } from 'node:crypto';
import { createServer } from 'node:http';
import { parseArgs, promisify } from 'node:util';

// oidc-provider prints its notices with console.info; stdout carries nothing but the ready line.
console.info = console.error;
console.log = console.error;

// The signing keys are made on the thread pool while oidc-provider loads (the RSA one takes about half a second).
const rsaKey = () => promisify(generateKeyPair)('rsa', { modulusLength: 2048 });
const signingKey = rsaKey();
const ecKey = promisify(generateKeyPair)('ec', { namedCurve: 'P-256' });
const { createOp, EXTRA_KEYS, SETTINGS, settingValue } = await import('./src/op.js');

const flag = (key) => key.replaceAll('_', '-');
const envName = (key) => `OP_${key.toUpperCase()}`;
const START_OPTIONS = {
  port: '0', clients: '[]', acr_values: 'basic auth_ldap_server otp u2f', es256: false, extra_keys: false,
  extra_scopes: '',
};
const DEFAULTS = { ...START_OPTIONS, ...SETTINGS };

const { values: flags } = parseArgs({
  options: Object.fromEntries(Object.keys(DEFAULTS).map((key) => [
    flag(key), { type: typeof DEFAULTS[key] === 'boolean' ? 'boolean' : 'string' },
  ])),
});
const option = (key, fallback) => flags[flag(key)] ?? process.env[envName(key)] ?? fallback;
const isOn = (value) => value === true || value === '1' || value === 'true';

// --extra-keys: made on the thread pool too, while the server starts listening.
const extraKeyPairs = isOn(option('extra_keys', START_OPTIONS.extra_keys))
  ? Promise.all(Object.keys(EXTRA_KEYS).map(rsaKey))
  : Promise.resolve([]);

process.env.OP_UMA_AUTO_GRANT ??= process.env.UMA_AUTO_GRANT; // the name shared/spec/oxd.md §3.8 uses
const settings = {};
for (const [key, start] of Object.entries(SETTINGS)) {
  settings[key] = settingValue(key, option(key, start));
}

let handle = (req, res) => res.writeHead(503).end(); // until the OP exists, which needs the bound port
const server = createServer((req, res) => handle(req, res));
server.listen(Number(option('port', START_OPTIONS.port)), '127.0.0.1', async () => {
  const issuer = `http://127.0.0.1:${server.address().port}`;
  const kids = Object.keys(EXTRA_KEYS);
  const extraKeys = Object.fromEntries((await extraKeyPairs).map((pair, i) => [kids[i], pair.privateKey]));
  const op = createOp(issuer, {
    signingKey: (await signingKey).privateKey,
    ecKey: isOn(option('es256', START_OPTIONS.es256)) ? (await ecKey).privateKey : undefined,
    extraKeys,
    extraScopes: option('extra_scopes', START_OPTIONS.extra_scopes).split(/[\s,]+/).filter(Boolean),
    clients: JSON.parse(option('clients', START_OPTIONS.clients)),
    acrValues: option('acr_values', START_OPTIONS.acr_values).split(/[\s,]+/).filter(Boolean),
    settings,
  });
  handle = op.callback();
  process.stdout.write(`OP_READY ${issuer}\n`);
});

for (const signal of ['SIGTERM', 'SIGINT']) {
  process.on(signal, () => {
    server.close(() => process.exit(0));
    server.closeAllConnections();
  });
}
