import { CreateAccessKeyCommand, CreateUserCommand, ListAccessKeysCommand } from '@aws-sdk/client-iam';
import type { BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DevBot } from '../../src/local/dev-bot.js';
import { type LaunchedBrowser, launchChromium } from '../support/browser.js';
import { startDev } from '../support/dev-bot.js';

let bot: DevBot;
let context: BrowserContext;
let browser: LaunchedBrowser;
let page: Page;

beforeAll(async () => {
  ({ bot } = await startDev());
  browser = await launchChromium({ width: 1200, height: 900 });
  context = browser.context;
  page = await context.newPage();
  await page.goto(bot.standIn?.pageUrl ?? '');
});
afterAll(async () => {
  await browser?.close();
  await bot?.stop();
});

const settle = () => fetch(new URL('/local/settle', bot.standIn?.pageUrl).href);

async function beUser(id: string) {
  await page.getByTestId('who-am-i').selectOption(id);
}

async function type(command: string) {
  await page.getByTestId('composer').fill(command);
  await page.getByTestId('composer').press('Enter');
}

const keysOf = async (userName: string) =>
  (await bot.deps.aws.account().iam.send(new ListAccessKeysCommand({ UserName: userName }))).AccessKeyMetadata ?? [];

describe('the local Slack stand-in in Chromium', { timeout: 60_000 }, () => {
  it('walks create-user: the requester types it, an approver clicks Approve, the recipient opens the DM link and reveals the key IAM created', async () => {
    await beUser('U0REQUESTER');
    await page.getByTestId('conv-general').click();
    await type(
      '/iam create-user browser-bot --for @U0RECIPIENT --groups ci-deployers --keys --account home --reason “CI deploys, can’t wait”',
    );
    const reply = page.getByTestId('message').filter({ hasText: 'is waiting for approval' });
    await reply.waitFor();
    const onlyForRequester = await reply.getByText('Only visible to you').count();
    await settle();

    await beUser('U0PLATFORM1');
    await page.getByTestId('conv-approvals').click();
    const request = page.getByTestId('message').filter({ hasText: 'browser-bot' });
    await request.getByRole('button', { name: 'Approve' }).click();
    await request.getByText('Approved by').first().waitFor();
    const buttonsAfter = await request.getByRole('button', { name: 'Approve' }).count();
    await settle();

    await beUser('U0RECIPIENT');
    await page.getByTestId('conv-dm').click();
    const dm = page.getByTestId('message').filter({ has: page.locator('a[href*="/credentials/"]') });
    const [credentialPage] = await Promise.all([
      context.waitForEvent('page'),
      dm.locator('a[href*="/credentials/"]').first().click(),
    ]);
    await credentialPage.getByRole('button', { name: /Reveal/ }).click();
    const shownKeyId = await credentialPage.getByTestId('access-key-id').textContent();
    await credentialPage.close();
    const [key] = await keysOf('browser-bot');

    expect(onlyForRequester).toBe(1);
    expect(buttonsAfter).toBe(0);
    expect(key?.AccessKeyId).toMatch(/^AKIA/);
    expect(shownKeyId).toBe(key?.AccessKeyId);
  });

  it('fills and submits the create-user form (a modal with inputs, selects and radio buttons), and shows field errors from the bot', async () => {
    await beUser('U0REQUESTER');
    await page.getByTestId('conv-general').click();
    await type('/iam create-user');
    const modal = page.getByTestId('modal');
    await modal.waitFor();
    await modal.locator('input[type=text]').first().fill('bad name!');
    await modal.locator('textarea').last().fill('form reason');
    await page.getByTestId('modal-submit').click();
    await modal.getByTestId('field-error').first().waitFor();
    const error = await modal.getByTestId('field-error').first().textContent();
    await page.waitForTimeout(1000); // a poll or two: the errors must not wipe what was typed
    const reasonKept = await modal.locator('textarea').last().inputValue();

    await modal.locator('input[type=text]').first().fill('form-bot');
    await modal.locator('select[data-kind=multi_static_select]').selectOption(['read-only']);
    await modal.locator('select[data-kind=static_select]').selectOption('home');
    await modal.locator('[data-kind=radio_buttons] input[value=keys]').check();
    await page.getByTestId('modal-submit').click();
    await modal.waitFor({ state: 'hidden' });
    await settle();
    await beUser('U0PLATFORM1');
    await page.getByTestId('conv-approvals').click();
    const request = page.getByTestId('message').filter({ hasText: 'form-bot' });
    await request.first().waitFor();
    const posted = await request.count();

    expect(error).toMatch(/not a valid IAM user name/);
    expect(reasonKept).toBe('form reason');
    expect(posted).toBe(1);
  });

  it("shows the DM updated in place once the link is used, and its This wasn't me button (after Slack's confirm dialog) deactivates the key", async () => {
    await beUser('U0RECIPIENT');
    await page.getByTestId('conv-dm').click();
    const opened = page.getByTestId('message').filter({ hasText: 'Credentials opened' });
    await opened.waitFor();
    const dialogs: string[] = [];
    page.once('dialog', (dialog) => {
      dialogs.push(dialog.message());
      void dialog.accept();
    });
    await opened.getByRole('button', { name: "This wasn't me" }).click();
    await settle();
    const [key] = await keysOf('browser-bot');

    expect(dialogs[0]).toContain('Report these credentials?');
    expect(key?.Status).toBe('Inactive');
  });

  it('denies a request with the reason typed in the modal that Deny opens; the message changes in place', async () => {
    await beUser('U0REQUESTER');
    await page.getByTestId('conv-general').click();
    await type('/iam create-user denied-bot --groups read-only --keys --account home --reason "try deny"');
    await page.getByTestId('message').filter({ hasText: 'is waiting for approval' }).last().waitFor();
    await settle();

    await beUser('U0PLATFORM2');
    await page.getByTestId('conv-approvals').click();
    const request = page.getByTestId('message').filter({ hasText: 'denied-bot' });
    await request.getByRole('button', { name: 'Deny' }).click();
    const modal = page.getByTestId('modal');
    await modal.waitFor();
    await modal.locator('textarea, input[type=text]').first().fill('not in this quarter');
    await page.getByTestId('modal-submit').click();
    await modal.waitFor({ state: 'hidden' });
    await settle();
    await page.getByTestId('conv-approvals').click();
    await request.getByText('not in this quarter').first().waitFor();

    expect(await request.getByRole('button', { name: 'Approve' }).count()).toBe(0);
    expect(await request.textContent()).toMatch(/Denied by @U0PLATFORM2/i);
  });

  it('shows the App Home the bot publishes when it is opened', async () => {
    await page.getByRole('button', { name: /App Home/ }).click();

    await expect(page.getByTestId('home').textContent()).resolves.toContain('/iam create-user');
  });

  it('walks a key rotation: the owner types rotate-key, reveals the new key from the DM link, and switches the old key off', async () => {
    // An IAM user owned by U0RECIPIENT with one key, as the bot would have made it.
    const iam = bot.deps.aws.account().iam;
    await iam.send(
      new CreateUserCommand({
        UserName: 'rotating-bot',
        Path: '/iam-slack-bot/',
        Tags: [{ Key: 'slack-user-id', Value: 'U0RECIPIENT' }],
      }),
    );
    await iam.send(new CreateAccessKeyCommand({ UserName: 'rotating-bot' }));
    const [oldKey] = await keysOf('rotating-bot');
    await beUser('U0RECIPIENT');
    await page.getByTestId('conv-general').click();
    await type('/iam rotate-key rotating-bot');
    await page.getByTestId('message').filter({ hasText: 'needs no approval' }).waitFor();
    await settle();

    await page.getByTestId('conv-dm').click();
    const dm = page.getByTestId('message').filter({ has: page.locator('a[href*="/credentials/"]') });
    const [credentialPage] = await Promise.all([
      context.waitForEvent('page'),
      dm.last().locator('a[href*="/credentials/"]').first().click(),
    ]);
    await credentialPage.getByRole('button', { name: /Reveal/ }).click();
    const shownKeyId = await credentialPage.getByTestId('access-key-id').textContent();
    await credentialPage.close();
    await settle();
    const during = await keysOf('rotating-bot');
    await page.getByRole('button', { name: "I've switched: deactivate the old key now" }).last().click();
    // The worker deactivates the old key and says so in the DM, which updates in the page.
    const deactivated = page.getByTestId('message').filter({ hasText: 'is now inactive' });
    await deactivated.waitFor();
    const reactivate = await deactivated.getByRole('button', { name: 'Reactivate' }).count();
    const after = await keysOf('rotating-bot');
    const status = (keys: typeof after, id?: string) => keys.find((k) => k.AccessKeyId === id)?.Status;
    expect(shownKeyId).toMatch(/^AKIA/);
    expect(shownKeyId).not.toBe(oldKey?.AccessKeyId);
    expect(during).toHaveLength(2);
    expect(status(during, oldKey?.AccessKeyId)).toBe('Active');
    expect(status(after, oldKey?.AccessKeyId)).toBe('Inactive');
    expect(status(after, shownKeyId ?? '')).toBe('Active');
    expect(reactivate).toBe(1);
  });

  it('runs the daily tasks 85 days on from the page: the owner sees the reminder DM with Rotate now; Deactivate in Slack posts the leaver report', async () => {
    // A key of U0RECIPIENT's, made today (through the stand-in's API: the page's create-user is walked above).
    const standIn = bot.standIn;
    if (!standIn) throw new Error('no stand-in');
    await standIn.command(
      'U0REQUESTER',
      'C0GENERAL',
      '/iam create-user daily-bot --for @U0RECIPIENT --groups ci-deployers --keys --account home --reason "CI deploys"',
    );
    await settle();
    const approval = standIn.messages.find(
      (m) => m.channel === standIn.approvalChannel && JSON.stringify(m.blocks).includes('daily-bot'),
    );
    if (!approval) throw new Error('no approval message for daily-bot');
    await standIn.clickButton('U0PLATFORM1', approval, 'request_approve');
    await settle();
    await beUser('U0RECIPIENT');
    await page.getByTestId('conv-dm').click();
    await page.getByTestId('days-ahead').fill('85');
    await page.getByTestId('run-daily').click();
    await page.getByTestId('daily-outcome').getByText('Ran at 85 days ahead').waitFor();
    const reminder = page.getByTestId('message').filter({ hasText: 'your attention' });
    await reminder.first().waitFor();
    const rotateNow = await reminder.first().getByRole('button', { name: 'Rotate now' }).count();
    const reminders = await reminder.count();

    page.once('dialog', (dialog) => void dialog.accept());
    await page.getByTestId('deactivate-U0RECIPIENT').click();
    await page.getByText('deactivated', { exact: true }).waitFor();
    await settle();
    await beUser('U0PLATFORM1');
    await page.getByTestId('conv-approvals').click();
    const report = page.getByTestId('message').filter({ hasText: 'left Slack' });
    await report.first().waitFor();

    expect(reminders).toBe(1);
    expect(rotateNow).toBeGreaterThan(0);
    expect(await report.count()).toBe(1);
    expect((await keysOf('daily-bot')).map((k) => k.Status)).toEqual(['Inactive']);
  });
});
