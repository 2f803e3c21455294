// The administrator the end-to-end run creates at first start (tests/sign-in.spec.ts) and every other spec
// signs in as. The setup token is the one the node keeps in its prefix while no administrator exists.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

export const admin = { username: 'e2e-admin', password: 'a long end-to-end password' };

export const prefix = process.env.GATEHOUSE_E2E_PREFIX as string;

export function setupToken(): string {
  return readFileSync(join(prefix, 'admin_setup_token'), 'utf8').trim();
}
