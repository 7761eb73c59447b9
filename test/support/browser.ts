/**
 * The browser of the browser tests (and `npm run screenshots`): Chromium driven by playwright-core, found without a
 * system install.
 *
 * 1. The system's Chromium (`/usr/bin/chromium`, or `CHROMIUM_PATH`) when present: Debian's package, fastest to start.
 * 2. Otherwise the Chromium that the npm package `@sparticuz/chromium` ships inside its tarball (brotli-compressed,
 *    built for Amazon Linux with its own NSS libraries: it needs nothing from the system beyond glibc). It is
 *    unpacked once per version into node_modules/.cache and started with its libraries and fonts on its own paths.
 *    `npm ci` is all it takes: playwright's own browser downloads are not needed (and not reachable from our CI).
 * 3. Neither: an error that says what to do. Never a skip.
 *
 * `IAM_SLACK_BOT_IGNORE_SYSTEM_CHROMIUM=1` ignores the system's Chromium, to run as a fresh machine would.
 */
import { execFileSync } from 'node:child_process';
import {
  accessSync,
  constants,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { brotliDecompressSync } from 'node:zlib';
import { type BrowserContext, chromium } from 'playwright-core';

const root = path.resolve(import.meta.dirname, '../..');
const SYSTEM_CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
const PACKAGE_DIR = path.join(root, 'node_modules', '@sparticuz', 'chromium');

/** Where a browser comes from, for the tests' output. */
export interface FoundBrowser {
  executablePath: string;
  source: 'system' | '@sparticuz/chromium';
  /** Environment the browser process needs (its own libraries and fonts). */
  env: Record<string, string>;
}

const isExecutable = (file: string) => {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
};

/** Unpacks @sparticuz/chromium's browser into node_modules/.cache once per version (atomically: parallel test files). */
function unpackPackagedChromium(packageDir: string): FoundBrowser | undefined {
  const bin = path.join(packageDir, 'bin');
  if (!existsSync(path.join(bin, 'chromium.br'))) return undefined;
  const { version } = JSON.parse(readFileSync(path.join(packageDir, 'package.json'), 'utf8')) as { version: string };
  const dir = path.join(root, 'node_modules', '.cache', 'iam-slack-bot-chromium', version);
  const executablePath = path.join(dir, 'chromium');
  if (!existsSync(executablePath)) {
    mkdirSync(path.dirname(dir), { recursive: true });
    const staging = mkdtempSync(`${dir}.unpacking-`);
    const inflate = (file: string) => brotliDecompressSync(readFileSync(path.join(bin, file)));
    const untar = (file: string) => execFileSync('tar', ['-x', '-C', staging], { input: inflate(file) });
    // the browser, its fonts (with fonts.conf), software GL, and NSS/NSPR/expat built for Amazon Linux 2023
    writeFileSync(path.join(staging, 'chromium'), inflate('chromium.br'), { mode: 0o755 });
    for (const file of ['fonts.tar.br', 'swiftshader.tar.br', 'al2023.tar.br']) untar(file);
    try {
      renameSync(staging, dir);
    } catch (error) {
      // another test file unpacked it at the same time: use theirs
      rmSync(staging, { recursive: true, force: true });
      if (!existsSync(executablePath)) throw error;
    }
  }
  // The package's fonts.conf names Lambda's directories (/var/task/fonts, /tmp/fonts...), where nothing is here: with
  // no font, text lays out with no height and Playwright sees it as hidden. Point fontconfig at the unpacked fonts.
  const fontsConf = `<?xml version="1.0"?>
<!DOCTYPE fontconfig SYSTEM "fonts.dtd">
<fontconfig>
  <dir>${path.join(dir, 'fonts')}</dir>
  <cachedir>${path.join(dir, 'fonts-cache')}</cachedir>
</fontconfig>
`;
  const confPath = path.join(dir, 'fonts.conf');
  if (!existsSync(confPath) || readFileSync(confPath, 'utf8') !== fontsConf) writeFileSync(confPath, fontsConf);
  return {
    executablePath,
    source: '@sparticuz/chromium',
    env: {
      LD_LIBRARY_PATH: [path.join(dir, 'lib'), dir, process.env.LD_LIBRARY_PATH].filter(Boolean).join(':'),
      FONTCONFIG_PATH: dir,
    },
  };
}

/** The Chromium to test with: the system's when present, else the npm-shipped one. Throws when there is none. */
export function findChromium(
  where: { systemPath?: string; packageDir?: string; ignoreSystem?: boolean } = {},
): FoundBrowser {
  const systemPath = where.systemPath ?? SYSTEM_CHROMIUM;
  const ignoreSystem =
    where.ignoreSystem ?? ['1', 'true'].includes(process.env.IAM_SLACK_BOT_IGNORE_SYSTEM_CHROMIUM ?? '');
  if (!ignoreSystem && isExecutable(systemPath)) return { executablePath: systemPath, source: 'system', env: {} };
  const packaged = unpackPackagedChromium(where.packageDir ?? PACKAGE_DIR);
  if (packaged) return packaged;
  throw new Error(
    `No Chromium for the browser tests: ${ignoreSystem ? 'the system one is ignored (IAM_SLACK_BOT_IGNORE_SYSTEM_CHROMIUM)' : `${systemPath} is missing`} and the npm package @sparticuz/chromium (a devDependency) is not installed. Run \`npm ci\`, or install Debian's chromium, or set CHROMIUM_PATH.`,
  );
}

export interface LaunchedBrowser {
  context: BrowserContext;
  browser: FoundBrowser;
  /** Closes the browser and deletes its profile. */
  close(): Promise<void>;
}

/** Starts headless Chromium with a fresh profile (a persistent context: clipboard permissions work in it). */
export async function launchChromium(
  viewport: { width: number; height: number },
  where: Parameters<typeof findChromium>[0] = {},
): Promise<LaunchedBrowser> {
  const browser = findChromium(where);
  const profileDir = mkdtempSync(path.join(tmpdir(), 'iam-slack-bot-chromium-'));
  const context = await chromium.launchPersistentContext(profileDir, {
    executablePath: browser.executablePath,
    env: { ...process.env, ...browser.env } as Record<string, string>,
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
    ],
    viewport,
  });
  process.stderr.write(`Chromium from ${browser.source}: ${browser.executablePath}\n`);
  return {
    context,
    browser,
    async close() {
      await context.close();
      rmSync(profileDir, { recursive: true, force: true });
    },
  };
}
