import { execFile } from 'node:child_process';
import { createServer } from 'node:net';
import { promisify } from 'node:util';
import { inject } from 'vitest';
import { type DevBot, startDevBot } from '../../src/local/dev-bot.js';

const run = promisify(execFile);

/** Two free consecutive ports (the bot's, and the stand-in's next to it), as `npm run dev` needs them. */
export async function freePortPair(): Promise<number> {
  for (let attempt = 0; attempt < 20; attempt++) {
    const port = 20_000 + Math.floor(Math.random() * 30_000);
    const free = await Promise.all([port, port + 1].map(isFree));
    if (free.every(Boolean)) return port;
  }
  throw new Error('no two free consecutive ports');
}

const isFree = (port: number) =>
  new Promise<boolean>((resolve) => {
    const s = createServer();
    s.once('error', () => resolve(false));
    s.listen(port, '0.0.0.0', () => s.close(() => resolve(true)));
  });

let devSeq = 0;

/**
 * The bot exactly as `npm run dev` starts it (src/local/dev-bot.ts), in this process, with the shipped policy.yml,
 * moto and the offline Slack stand-in; `log` holds every line dev prints.
 */
export async function startDev(
  extraEnv: Record<string, string> = {},
): Promise<{ bot: DevBot; port: number; log: string[] }> {
  const port = await freePortPair();
  const log: string[] = [];
  const env: Record<string, string | undefined> = { ...process.env, PORT: String(port) };
  for (const k of [
    'AWS_ENDPOINT_URL',
    'SLACK_SIGNING_SECRET',
    'SLACK_BOT_TOKEN',
    'SLACK_APP_TOKEN',
    'POLICY_FILE',
    'DEV_SCHEDULE',
  ])
    delete env[k];
  // The run's DynamoDB Local (test/support/global-setup.ts) with tables of this dev bot's own, rather than a JVM per
  // dev bot; a test that passes AWS_ENDPOINT_URL_DYNAMODB: '' sees dev start its own.
  Object.assign(env, {
    AWS_ENDPOINT_URL_DYNAMODB: inject('dynamoDbUrl'),
    TABLE_PREFIX: `dev-${process.pid.toString(36)}${(++devSeq).toString(36)}-`,
  });
  Object.assign(env, extraEnv);
  if (env.AWS_ENDPOINT_URL_DYNAMODB === '') delete env.AWS_ENDPOINT_URL_DYNAMODB;
  const bot = await startDevBot({ env, say: (line) => log.push(line) });
  return { bot, port, log };
}

/** `npm run slack -- <line>` against the dev bot on `port`: what it prints. */
export async function npmRunSlack(port: number, ...args: string[]): Promise<string> {
  const { stdout } = await run('npx', ['tsx', 'src/local/send.ts', ...args], {
    env: { ...process.env, PORT: String(port) },
    timeout: 30_000,
  });
  return stdout;
}

/** Runs a shell line (a README example, as written) in the worktree with PORT set to the dev bot's; its stdout. */
export async function shell(port: number, line: string): Promise<string> {
  const { stdout } = await run('sh', ['-c', line], { env: { ...process.env, PORT: String(port) }, timeout: 60_000 });
  return stdout;
}
