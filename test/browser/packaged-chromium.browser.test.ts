/**
 * The npm-shipped Chromium (@sparticuz/chromium), always, even where the system has its own: what a fresh machine
 * runs the browser tests with must lay out text and run the pages' scripts as the system's does. CI installs Debian's
 * Chromium when it can, so without this file the fallback would go untested there.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LaunchedBrowser, launchChromium } from '../support/browser.js';

let launched: LaunchedBrowser;
beforeAll(async () => {
  launched = await launchChromium({ width: 800, height: 600 }, { ignoreSystem: true });
}, 120_000);
afterAll(async () => {
  await launched?.close();
});

describe('the Chromium the npm package ships', () => {
  it('is the one launched here', () => {
    expect(launched.browser.source).toBe('@sparticuz/chromium');
  });

  it('lays out text with its fonts (a text-only element has a height, so Playwright sees it) and runs scripts', async () => {
    const page = await launched.context.newPage();
    await page.setContent(
      '<div data-testid="text" class="error">`bad name!` is not a valid IAM user name</div><script>document.body.dataset.ran = "yes"</script>',
    );

    const box = await page.getByTestId('text').boundingBox();
    expect(box?.height ?? 0).toBeGreaterThan(5);
    expect(box?.width ?? 0).toBeGreaterThan(100);
    await expect(page.getByTestId('text').isVisible()).resolves.toBe(true);
    expect(await page.getAttribute('body', 'data-ran')).toBe('yes');
  });
});
