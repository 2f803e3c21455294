// Admins sign in with OpenID Connect at the real test OP (end2end/op), through the embedded oxd module, on a
// gatehouse configured with admin_gui_op_host and a required claim; sign-out ends the OP session too.
import { expect, test } from '@playwright/test';
import { startOp, type RunningOp } from '../support/op';
import { startGatehouse } from '../support/gatehouse';
import { LoginPage, TopBar } from '../pages/sign-in.page';

const guiPort = Number(process.env.GATEHOUSE_E2E_OIDC_GUI_PORT ?? 21339);
let op: RunningOp;
let node: { guiURL: string; stop(): Promise<void> };

test.beforeAll(async () => {
  op = await startOp();
  node = await startGatehouse(guiPort, [
    '--admin_gui_op_host', op.issuer, '--admin_gui_required_claim', 'email=alice@example.com',
  ]);
});

test.afterAll(async () => {
  await node?.stop();
  await op?.stop();
});

/** Signs in at the OP's own login page as `user`. */
async function atTheOp(page: import('@playwright/test').Page, user: string) {
  await expect(page.getByRole('heading', { name: 'Sign in to the test OP' })).toBeVisible();
  await page.getByLabel('Username').fill(user);
  await page.getByRole('button', { name: 'Sign in' }).click();
}

test('an admin signs in at the OP, lands on the page asked for, and signs out at the OP too', async ({ page }) => {
  await page.goto(`${node.guiURL}/consumers`);
  const login = new LoginPage(page);
  await expect(login.heading).toBeVisible();
  await page.getByRole('link', { name: 'Sign in with the OpenID Provider' }).click();
  await atTheOp(page, 'alice');
  await expect(page).toHaveURL(`${node.guiURL}/consumers`);
  const top = new TopBar(page);
  await expect(top.who).toHaveText('alice@example.com');

  await top.signOut.click();
  // The OP's end-session page asks to confirm, then sends the browser back to the gateway's sign-in page.
  await expect(page).toHaveURL(new RegExp(`^${op.issuer}/session/end`));
  await page.getByRole('button', { name: /yes/i }).click();
  await expect(page).toHaveURL(new RegExp(`^${node.guiURL}/login`));
  await page.goto(`${node.guiURL}/`);
  await expect(login.heading).toBeVisible();
});

test('someone the OP signs in without the required claim is not let in', async ({ page }) => {
  await page.goto(`${node.guiURL}/login`);
  await page.getByRole('link', { name: 'Sign in with the OpenID Provider' }).click();
  await atTheOp(page, 'mallory');
  const login = new LoginPage(page);
  await expect(login.error).toContainText('not an administrator of this gateway');
  await page.goto(`${node.guiURL}/`);
  await expect(login.heading).toBeVisible();
});
