/**
 * `npm run dev`: runs the bot on this machine (see dev-bot.ts). With no AWS_ENDPOINT_URL it starts moto (a local AWS
 * emulator), so no AWS account is touched; with no Slack credentials it runs offline against a local Slack stand-in
 * that a browser can play.
 */
import { existsSync } from 'node:fs';
import { ConfigError } from '../errors.js';
import { DevSetupError, startDevBot } from './dev-bot.js';

const say = (line: string) => process.stdout.write(`${line}\n`);

async function main(): Promise<void> {
  if (existsSync('.env')) process.loadEnvFile('.env');
  let bot: Awaited<ReturnType<typeof startDevBot>>;
  try {
    bot = await startDevBot({ env: { ...process.env }, say });
  } catch (error) {
    if (!(error instanceof DevSetupError || error instanceof ConfigError)) throw error;
    say(`\n${error.message}`);
    process.exit(1);
  }
  const stop = async () => {
    await bot.stop();
    process.exit(0);
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

main().catch((error) => {
  process.stderr.write(`${(error as Error).stack ?? String(error)}\n`);
  process.exit(1);
});
