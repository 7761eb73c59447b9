/** How the browser tests find Chromium (test/support/browser.ts): never a skip, always a browser or a clear error. */
import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { findChromium } from '../support/browser.js';

const dir = mkdtempSync(path.join(tmpdir(), 'browser-finder-'));
const fakeSystem = path.join(dir, 'chromium');
writeFileSync(fakeSystem, '#!/bin/sh\n');
chmodSync(fakeSystem, 0o755);
const nowhere = path.join(dir, 'missing');

describe('findChromium', () => {
  it('prefers the system’s Chromium when present', () => {
    expect(findChromium({ systemPath: fakeSystem, ignoreSystem: false })).toEqual({
      executablePath: fakeSystem,
      source: 'system',
      env: {},
    });
  });

  it('falls back to the Chromium the npm package @sparticuz/chromium ships, unpacked with its own libraries', () => {
    const found = findChromium({ systemPath: nowhere, ignoreSystem: false });

    expect(found.source).toBe('@sparticuz/chromium');
    expect(found.executablePath).toMatch(/node_modules\/\.cache\/iam-slack-bot-chromium\/[\d.]+\/chromium$/);
    expect(found.env.LD_LIBRARY_PATH?.split(':')[0]).toBe(path.join(path.dirname(found.executablePath), 'lib'));
  });

  it('fails with what to do when there is neither', () => {
    expect(() => findChromium({ systemPath: nowhere, packageDir: nowhere, ignoreSystem: false })).toThrow(
      `No Chromium for the browser tests: ${nowhere} is missing and the npm package @sparticuz/chromium (a devDependency) is not installed. Run \`npm ci\`, or install Debian's chromium, or set CHROMIUM_PATH.`,
    );
  });
});
