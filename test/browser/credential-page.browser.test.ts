import { GetSecretValueCommand } from '@aws-sdk/client-secrets-manager';
import type { BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deliverCredentials } from '../../src/services/credentials.js';
import { startTestBot, type TestBot } from '../support/bot.js';
import { type LaunchedBrowser, launchChromium } from '../support/browser.js';
import { createUserWithCredentials, deliveryOf, linkSentTo } from '../support/credentials.js';

let bot: TestBot;
let baseUrl: string;
let context: BrowserContext;
let browser: LaunchedBrowser;
const cspViolations: string[] = [];

beforeAll(async () => {
  bot = await startTestBot();
  baseUrl = await bot.serve();
  browser = await launchChromium({ width: 1100, height: 1300 });
  context = browser.context;
  await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: baseUrl });
});
afterAll(async () => {
  await browser?.close();
  await bot?.stop();
});

async function openPage(): Promise<Page> {
  const page = await context.newPage();
  page.on('console', (message) => {
    if (/Content Security Policy|Refused to/i.test(message.text())) cspViolations.push(message.text());
  });
  return page;
}

const secretValue = async (name: string) =>
  (await bot.deps.aws.secrets()).send(new GetSecretValueCommand({ SecretId: name }));

describe('the credential page in Chromium', () => {
  it('opens without using the link, reveals the access key IAM created once, and says "already used" on reload', async () => {
    const bundle = await createUserWithCredentials(bot, { userName: 'browser-build-bot' });
    const { linkId } = await bot.as('worker', () => deliverCredentials(bot.deps, deliveryOf(bundle)));
    const { url } = linkSentTo(bot);
    const link = await bot.deps.store.links.getByLinkId(linkId);
    const page = await openPage();

    await page.goto(url);
    const secretWhileWaiting = (await secretValue(link?.secretName ?? '')).SecretString;
    await page.screenshot({ path: '/tmp/credential-page-pending.png', fullPage: true });
    await page.getByRole('button', { name: /Reveal/ }).click();
    await page.waitForURL(url);
    const shownKeyId = await page.getByTestId('access-key-id').textContent();
    await page.screenshot({ path: '/tmp/credential-page-revealed.png', fullPage: true });
    await page.reload();
    const afterReload = await page.locator('h1').textContent();
    await page.screenshot({ path: '/tmp/credential-page-used.png', fullPage: true });

    expect(url.startsWith(baseUrl)).toBe(true);
    expect(secretWhileWaiting).toContain(bundle.userName);
    expect(shownKeyId).toBe(bundle.accessKey?.accessKeyId);
    expect(afterReload).toBe('This link was already used');
    await expect(secretValue(link?.secretName ?? '')).rejects.toMatchObject({ name: 'ResourceNotFoundException' });
    await page.close();
  });

  it('runs its inline style and copy script under the Content-Security-Policy: Copy puts the secret on the clipboard', async () => {
    const bundle = await createUserWithCredentials(bot, { console: true });
    await bot.as('worker', () => deliverCredentials(bot.deps, deliveryOf(bundle)));
    const { url } = linkSentTo(bot);
    const page = await openPage();
    await page.goto(url);
    await page.getByRole('button', { name: /Reveal/ }).click();
    await page.waitForURL(url);

    await page.locator('button[data-copy="secret-access-key"]').click();
    const clipboard = await page.evaluate(() =>
      (
        globalThis as unknown as { navigator: { clipboard: { readText(): Promise<string> } } }
      ).navigator.clipboard.readText(),
    );
    const buttonSays = await page.locator('button[data-copy="secret-access-key"]').textContent();
    const cardRadius = await page
      .locator('.card')
      .evaluate(
        (el) =>
          (globalThis as unknown as { getComputedStyle(e: unknown): { borderRadius: string } }).getComputedStyle(el)
            .borderRadius,
      );

    expect(clipboard).toBe(bundle.accessKey?.secretAccessKey);
    expect(buttonSays).toBe('Copied');
    expect(cardRadius).toBe('14px');
    expect(await page.getByTestId('password').textContent()).toBe(bundle.console?.password);
    expect(cspViolations).toEqual([]);
    await page.screenshot({ path: '/tmp/credential-page-console.png', fullPage: true });
    await page.close();
  });

  it("downloads each credential as the IAM console's .csv, made in the page from what it revealed: nothing fetched again", async () => {
    const bundle = await createUserWithCredentials(bot, { console: true });
    await bot.as('worker', () => deliverCredentials(bot.deps, deliveryOf(bundle)));
    const { url } = linkSentTo(bot);
    const page = await openPage();
    await page.goto(url);
    await page.getByRole('button', { name: /Reveal/ }).click();
    await page.waitForURL(url);
    const requests: string[] = [];
    page.on('request', (r) => requests.push(r.url()));

    const download = async (file: RegExp) => {
      const [d] = await Promise.all([
        page.waitForEvent('download'),
        page
          .locator(
            `button[data-download$="${file.source.includes('access') ? '_accessKeys.csv' : '_credentials.csv'}"]`,
          )
          .click(),
      ]);
      expect(d.suggestedFilename()).toMatch(file);
      const stream = await d.createReadStream();
      const chunks: Buffer[] = [];
      for await (const c of stream) chunks.push(c as Buffer);
      return Buffer.concat(chunks).toString('utf8');
    };
    const keys = await download(/_accessKeys\.csv$/);
    const login = await download(/_credentials\.csv$/);

    expect(keys).toBe(
      `Access key ID,Secret access key\r\n${bundle.accessKey?.accessKeyId},${bundle.accessKey?.secretAccessKey}\r\n`,
    );
    const cell = (v: string) => (/[",\r\n]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v);
    expect(login).toBe(
      `User name,Password,Console sign-in URL\r\n${bundle.userName},${cell(bundle.console?.password ?? '')},${bundle.console?.signInUrl}\r\n`,
    );
    expect(requests.filter((r) => r.startsWith('http'))).toEqual([]); // built in the page: no request
    // a new console user is pointed to where it adds an MFA device (issue 22)
    expect(await page.locator('#mfa a').getAttribute('href')).toBe(
      `https://console.aws.amazon.com/iam/home#/users/details/${bundle.userName}?section=security_credentials`,
    );
    expect(cspViolations).toEqual([]);
    await page.close();
  });
});
