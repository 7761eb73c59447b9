/**
 * `npm run screenshots`: starts the bot as `npm run dev` does (moto, the shipped policy.yml, the local Slack
 * stand-in), walks the main flows in Chromium (the system's, else the npm-shipped one: test/support/browser.ts) and
 * writes PNGs to docs/, which the README shows.
 */
import { createServer } from 'node:net';
import type { Page } from 'playwright-core';
import { startDevBot } from '../src/local/dev-bot.js';
import { launchChromium } from '../test/support/browser.js';

const isFree = (port: number) =>
  new Promise<boolean>((resolve) => {
    const s = createServer();
    s.once('error', () => resolve(false));
    s.listen(port, '0.0.0.0', () => s.close(() => resolve(true)));
  });
let port = 3300;
while (!((await isFree(port)) && (await isFree(port + 1)))) port += 2;

const env: Record<string, string | undefined> = { ...process.env, PORT: String(port) };
for (const k of ['AWS_ENDPOINT_URL', 'SLACK_SIGNING_SECRET', 'SLACK_BOT_TOKEN', 'SLACK_APP_TOKEN']) delete env[k];
const bot = await startDevBot({ env, say: () => undefined });
const browser = await launchChromium({ width: 1100, height: 720 });
const { context } = browser;
const shot = async (p: Page, name: string) => {
  await p.waitForTimeout(300);
  await p.screenshot({ path: `docs/${name}.png` });
  process.stdout.write(`docs/${name}.png\n`);
};
/** The new user's owner: an approver too, so that its App Home shows a request waiting besides its user and grant. */
const OWNER = 'U0PLATFORM2';
const settle = () => fetch(new URL('/local/settle', bot.standIn?.pageUrl).href);

try {
  const page = await context.newPage();
  await page.goto(bot.standIn?.pageUrl ?? '');
  const be = (id: string) => page.getByTestId('who-am-i').selectOption(id);
  const type = async (text: string) => {
    await page.getByTestId('composer').fill(text);
    await page.getByTestId('composer').press('Enter');
  };

  await be('U0REQUESTER');
  await type('/iam create-user');
  const modal = page.getByTestId('modal');
  await modal.waitFor();
  await modal.locator('input[type=text]').first().fill('build-bot');
  await modal.locator('select[data-kind=users_select]').selectOption(OWNER);
  await modal.locator('select[data-kind=multi_static_select]').selectOption(['ci-deployers']);
  await modal.locator('select[data-kind=static_select]').selectOption('home');
  await modal.locator('[data-kind=radio_buttons] input[value=keys]').check();
  await modal.locator('textarea').last().fill('CI deploys for the web app');
  await shot(page, 'request-form');
  await page.getByTestId('modal-submit').click();
  await modal.waitFor({ state: 'hidden' });
  await settle();

  await be('U0PLATFORM1');
  await page.getByTestId('conv-approvals').click();
  const request = page.getByTestId('message').filter({ hasText: 'build-bot' });
  await request.waitFor();
  await shot(page, 'approval');
  await request.getByRole('button', { name: 'Approve' }).click();
  await request.getByText('Approved by').first().waitFor();
  await settle();
  await page.getByTestId('conv-approvals').click();
  await shot(page, 'approved');

  await be(OWNER);
  await page.getByTestId('conv-dm').click();
  const link = page.locator('a[href*="/credentials/"]').first();
  await link.waitFor();
  await shot(page, 'dm-with-link');
  const [credentials] = await Promise.all([context.waitForEvent('page'), link.click()]);
  await credentials.setViewportSize({ width: 900, height: 900 });
  await credentials.waitForLoadState();
  await shot(credentials, 'credential-page');
  await credentials.getByRole('button', { name: /Reveal/ }).click();
  await credentials.getByTestId('access-key-id').waitFor();
  await shot(credentials, 'credential-page-revealed');
  await credentials.close();

  // a temporary membership of the new user, asked by its owner and approved; then the dev clock moves to the DM
  // before its end (the one-minute tasks, as `npm run slack -- --hours-ahead 0.8`), and a request left waiting
  await page.getByTestId('conv-dm').click();
  await type("/iam add-to-group build-bot read-only --for 1h --reason 'A look at the staging logs'");
  await settle();
  await be('U0PLATFORM1');
  await page.getByTestId('conv-approvals').click();
  const grant = page.getByTestId('message').filter({ hasText: 'for 1h' });
  await grant.getByRole('button', { name: 'Approve' }).click();
  await grant.getByText('Approved by').first().waitFor();
  await settle();
  await fetch(new URL('/stand-in/minute', bot.standIn?.pageUrl).href, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ hoursAhead: 0.8 }),
  });
  await settle();
  await be('U0REQUESTER');
  await page.getByTestId('conv-dm').click();
  await type(
    "/iam create-user deploy-bot --for @U0RECIPIENT --groups ci-deployers --keys --account home --reason 'Deploys of the docs site'",
  );
  await settle();
  await be(OWNER);
  await page.getByTestId('conv-dm').click();
  await page
    .getByRole('button', { name: /Extend by/ })
    .first()
    .waitFor();
  await shot(page, 'grant-ending-dm');

  // the owner's App Home once there is something on it: the user it owns with its key, its temporary membership, and
  // (the owner is an approver too) the request waiting for them
  await page.getByRole('button', { name: /App Home/ }).click();
  await page.getByTestId('home').waitFor();
  await shot(page, 'app-home');

  // an approver's compliance report (the DM; the same as a CSV file)
  await be('U0PLATFORM1');
  await page.getByTestId('conv-dm').click();
  await type('/iam report');
  await settle();
  await page.getByTestId('conv-dm').click();
  await page
    .getByTestId('message')
    .filter({ hasText: /report/i })
    .last()
    .waitFor();
  await shot(page, 'report');
} finally {
  await browser.close();
  await bot.stop();
}
process.exit(0);
