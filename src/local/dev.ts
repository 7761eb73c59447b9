/**
 * `npm run dev`: runs the bot on this machine. With no AWS_ENDPOINT_URL it starts moto (a local AWS emulator), so
 * no AWS account is touched; with no Slack credentials it runs offline against a local Slack stand-in.
 */
import { existsSync } from 'node:fs';
import { SocketModeReceiver } from '@slack/bolt';
import { createSlackApp } from '../app.js';
import { loadConfig } from '../config.js';
import { buildDeps } from '../deps.js';
import { ConfigError } from '../errors.js';
import { InProcessJobDispatcher } from '../jobs/dispatchers.js';
import { runJob } from '../jobs/worker.js';
import { ensurePolicyGroups } from '../services/setup.js';
import { FakeSlack } from './fake-slack.js';
import { serveHandlers } from './http-server.js';
import { type MotoServer, startMoto } from './moto.js';
import { appRoutes } from './routes.js';

const say = (line: string) => process.stdout.write(`${line}\n`);

async function main(): Promise<void> {
  if (existsSync('.env')) process.loadEnvFile('.env');
  const env: Record<string, string | undefined> = { ...process.env };
  const port = Number(env.PORT ?? 3000);
  if (!env.PUBLIC_URL) env.PUBLIC_URL = `http://localhost:${port}`;
  let moto: MotoServer | undefined;

  if (!env.AWS_ENDPOINT_URL) {
    say('AWS_ENDPOINT_URL is not set: starting the local AWS emulator (moto). No AWS account is touched.');
    try {
      moto = await startMoto();
    } catch (error) {
      say(`\n${(error as Error).message}`);
      process.exit(1);
    }
    Object.assign(env, {
      AWS_ENDPOINT_URL: moto.url,
      AWS_REGION: env.AWS_REGION ?? 'us-east-1',
      AWS_ACCESS_KEY_ID: 'local',
      AWS_SECRET_ACCESS_KEY: 'local',
    });
    delete env.AWS_PROFILE;
    Object.assign(process.env, env);
  }

  const missing = ['SLACK_SIGNING_SECRET', 'SLACK_BOT_TOKEN'].filter((k) => !env[k]);
  if (missing.length > 0) {
    const slack = await new FakeSlack().start(port + 1);
    slack.onCall = (call) => say(`[slack] ${call.method} ${JSON.stringify(call.args).slice(0, 400)}`);
    Object.assign(env, {
      SLACK_SIGNING_SECRET: 'local-dev-signing-secret',
      SLACK_BOT_TOKEN: 'xoxb-local-dev',
      SLACK_API_URL: slack.url,
    });
    say(
      [
        '',
        `Missing Slack credentials: ${missing.join(', ')}.`,
        'To connect to Slack: at https://api.slack.com/apps choose "Create New App" > "From a manifest", paste manifest.yml,',
        'install the app, then put Basic Information > Signing Secret in SLACK_SIGNING_SECRET and',
        'OAuth & Permissions > Bot User OAuth Token in SLACK_BOT_TOKEN (in .env; see .env.example).',
        `Until then the bot runs offline: Slack's Web API is a local stand-in (${slack.url}) that prints each call,`,
        "and requests must be signed with the local secret 'local-dev-signing-secret'.",
        'Try it from another terminal: npm run slack -- "/iam whoami"',
        '',
      ].join('\n'),
    );
  }

  let config: ReturnType<typeof loadConfig>;
  try {
    config = loadConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) say(error.message);
    else throw error;
    await moto?.stop();
    process.exit(1);
  }
  const deps = buildDeps(config, { createTables: true });
  await deps.preload(); // creates the tables now rather than on the first request
  if (deps.dispatcher instanceof InProcessJobDispatcher) deps.dispatcher.setRunner((job) => runJob(deps, job));
  if (moto) {
    const created = await ensurePolicyGroups(deps.aws.account().iam, config.policy.groups);
    say(
      `Emulator ready at ${moto.url}; created IAM groups from ${config.env.POLICY_FILE}: ${created.join(', ') || 'none'}.`,
    );
  }

  if (config.env.SLACK_APP_TOKEN) {
    const receiver = new SocketModeReceiver({ appToken: config.env.SLACK_APP_TOKEN });
    const { app } = createSlackApp(deps, receiver);
    await app.start();
    say('Connected to Slack with Socket Mode. Try /iam help in your workspace.');
  } else {
    const { url } = await serveHandlers(appRoutes(deps), config.env.PORT, '0.0.0.0');
    say(`Bot listening on ${url.replace('0.0.0.0', 'localhost')}: POST /slack/events, GET|POST /credentials/{token}.`);
  }

  const stop = async () => {
    await moto?.stop();
    process.exit(0);
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

main().catch((error) => {
  process.stderr.write(`${(error as Error).stack ?? String(error)}\n`);
  process.exit(1);
});
