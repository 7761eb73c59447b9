/**
 * The bot as `npm run dev` runs it, as a function (dev.ts prints; tests start it in-process to check what dev does):
 * moto unless AWS_ENDPOINT_URL is set (DynamoDB on DynamoDB Local, AWS's own engine, when Java is here; else on
 * moto's), the policy's groups in every account, the local Slack stand-in unless Slack
 * credentials are set, and the same HTTP handlers Lambda runs.
 */
import type { Server } from 'node:http';
import { createServer } from 'node:net';
import { SocketModeReceiver } from '@slack/bolt';
import { createSlackApp } from '../app.js';
import { buildDeps } from '../build-deps.js';
import { loadConfig } from '../config.js';
import type { Deps } from '../deps.js';
import { bodyText, type HttpHandler } from '../http/types.js';
import { InProcessJobDispatcher } from '../jobs/dispatchers.js';
import { runJob } from '../jobs/worker.js';
import { ensurePolicyGroups } from '../services/setup.js';
import { type DevScheduler, devScheduleEvery, OffsetClock, startDevScheduler } from './dev-schedule.js';
import { type DynamoDbLocal, JAVA_INSTALL_HINT, javaAvailable, startDynamoDbLocal } from './dynamodb-local.js';
import { emulateNamedAccounts } from './emulator-accounts.js';
import { FakeSlack, type RecordedCall, sendersOf } from './fake-slack.js';
import { serveHandlers } from './http-server.js';
import { type MotoServer, startMoto } from './moto.js';
import { appRoutes } from './routes.js';
import { SlackStandIn } from './stand-in.js';

/** The signing secret of the offline bot: the stand-in and `npm run slack` sign with it. */
export const LOCAL_SIGNING_SECRET = 'local-dev-signing-secret';

/** `npm run dev` cannot start, for a reason its user can fix (the message says how). */
export class DevSetupError extends Error {
  override name = 'DevSetupError';
}

export interface DevBot {
  /** The bot's HTTP base URL (POST /slack/events, /credentials/{token}); undefined in Socket Mode. */
  url: string | undefined;
  /** Offline only: the Slack Web API stand-in, and the page that plays Slack in a browser. */
  slack: FakeSlack | undefined;
  standIn: SlackStandIn | undefined;
  deps: Deps;
  moto: MotoServer | undefined;
  /** The frequent tasks in the background (unless DEV_SCHEDULE=off), and the daily ones on demand. */
  scheduler: DevScheduler;
  /** The dev bot's clock (the system's, moved ahead by `--days-ahead`). */
  clock: OffsetClock;
  stop(): Promise<void>;
}

/** Resolves when nothing listens on the port (on any interface), rejects with DevSetupError otherwise. */
async function ensurePortFree(port: number, what: string): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const probe = createServer();
    probe.once('error', (error: NodeJS.ErrnoException) =>
      reject(
        error.code === 'EADDRINUSE'
          ? new DevSetupError(
              `Port ${port} (${what}) is already in use: is another \`npm run dev\` running? Stop it, or start this one with PORT=<another port>.`,
            )
          : error,
      ),
    );
    probe.listen(port, '0.0.0.0', () => probe.close(() => resolve()));
  });
}

/** A Slack call as one log line, all of it: the one-time links and every block are in there. */
export const logLine = (call: RecordedCall) => `[slack] ${call.method} ${JSON.stringify(call.args)}`;

/**
 * Starts the bot as `npm run dev` does. Checks its ports before starting anything, and on any failure stops what it
 * started (moto, the stand-in) before throwing: nothing is left running.
 */
export async function startDevBot(options: {
  env: Record<string, string | undefined>;
  say: (line: string) => void;
}): Promise<DevBot> {
  const { say } = options;
  const env: Record<string, string | undefined> = { ...options.env };
  const port = Number(env.PORT ?? 3000);
  if (!env.PUBLIC_URL) env.PUBLIC_URL = `http://localhost:${port}`;
  const missing = ['SLACK_SIGNING_SECRET', 'SLACK_BOT_TOKEN'].filter((k) => !env[k]);
  const offline = missing.length > 0;
  if (!env.SLACK_APP_TOKEN) await ensurePortFree(port, 'the bot');
  if (offline) await ensurePortFree(port + 1, 'the local Slack stand-in');
  let scheduleEvery: number | undefined;
  try {
    scheduleEvery = devScheduleEvery(env.DEV_SCHEDULE);
  } catch (error) {
    throw new DevSetupError((error as Error).message, { cause: error });
  }

  let moto: MotoServer | undefined;
  let dynamo: DynamoDbLocal | undefined;
  let slack: FakeSlack | undefined;
  let server: Server | undefined;
  let socketApp: { stop(): Promise<unknown> } | undefined;
  let scheduler: DevScheduler | undefined;
  const stop = async () => {
    scheduler?.stop();
    if (server) await new Promise<void>((r) => server?.close(() => r()));
    server?.closeAllConnections();
    await socketApp?.stop();
    await slack?.stop();
    await moto?.stop();
    await dynamo?.stop();
  };
  try {
    if (!env.AWS_ENDPOINT_URL) {
      say('AWS_ENDPOINT_URL is not set: starting the local AWS emulator (moto). No AWS account is touched.');
      try {
        moto = await startMoto();
      } catch (error) {
        throw new DevSetupError((error as Error).message, { cause: error });
      }
      Object.assign(env, {
        AWS_ENDPOINT_URL: moto.url,
        AWS_REGION: env.AWS_REGION ?? 'us-east-1',
        AWS_ACCESS_KEY_ID: 'local',
        AWS_SECRET_ACCESS_KEY: 'local',
      });
      delete env.AWS_PROFILE;
      delete env.AWS_SESSION_TOKEN;
      // The SDK's default credential chain reads the process environment.
      Object.assign(process.env, {
        AWS_ACCESS_KEY_ID: 'local',
        AWS_SECRET_ACCESS_KEY: 'local',
        AWS_ENDPOINT_URL: moto.url,
        AWS_REGION: env.AWS_REGION,
      });
      delete process.env.AWS_PROFILE;
      delete process.env.AWS_SESSION_TOKEN;
      if (env.AWS_ENDPOINT_URL_DYNAMODB) {
        say(`DynamoDB: the endpoint AWS_ENDPOINT_URL_DYNAMODB names (${env.AWS_ENDPOINT_URL_DYNAMODB}).`);
      } else if (javaAvailable()) {
        try {
          dynamo = await startDynamoDbLocal();
        } catch (error) {
          throw new DevSetupError(`DynamoDB Local did not start: ${(error as Error).message}`, { cause: error });
        }
        env.AWS_ENDPOINT_URL_DYNAMODB = dynamo.url;
        say(`DynamoDB: DynamoDB Local, AWS's own engine (${dynamo.url}), in memory.`);
      } else {
        say(`DynamoDB: moto's emulation, not AWS's own engine. ${JAVA_INSTALL_HINT} to use DynamoDB Local.`);
      }
    }

    if (offline) {
      slack = await new FakeSlack().start(port + 1);
      slack.observers.push((call) => say(logLine(call)));
      Object.assign(env, {
        SLACK_SIGNING_SECRET: LOCAL_SIGNING_SECRET,
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
          `and requests must be signed with the local secret '${LOCAL_SIGNING_SECRET}'.`,
          '',
        ].join('\n'),
      );
    }

    const config = loadConfig(env);
    const clock = new OffsetClock();
    const deps = buildDeps(config, { createTables: true, overrides: { clock } });
    await deps.preload(); // creates the tables now rather than on the first request
    if (deps.dispatcher instanceof InProcessJobDispatcher) deps.dispatcher.setRunner((job) => runJob(deps, job));
    if (moto) {
      const created = await ensurePolicyGroups(deps.aws.account().iam, config.policy.groups);
      say(
        `Emulator ready at ${moto.url}; created IAM groups from ${config.env.POLICY_FILE}: ${created.join(', ') || 'none'}.`,
      );
      const accounts = await emulateNamedAccounts({
        endpoint: moto.url,
        region: config.env.AWS_REGION,
        policy: config.policy,
      });
      for (const a of accounts)
        say(
          `Emulated account ${a.name} (${a.accountId}): its role exists and holds the groups ${a.groups.join(', ')}.`,
        );
    }

    let url: string | undefined;
    let standIn: SlackStandIn | undefined;
    if (config.env.SLACK_APP_TOKEN) {
      const receiver = new SocketModeReceiver({ appToken: config.env.SLACK_APP_TOKEN });
      const { app } = createSlackApp(deps, receiver);
      await app.start();
      socketApp = app;
      say('Connected to Slack with Socket Mode. Try /iam help in your workspace.');
    } else {
      // Offline, the stand-in is as strict as Slack about DMs (a DM to an id it does not know is refused), and knows
      // whoever sends the bot a command, a click or an event: Slack sends those only from members.
      const fake = slack;
      if (fake) fake.members.strictDms = true;
      const routes = appRoutes(deps).map((route) => {
        if (!fake || route.path !== '/slack/events') return route;
        const handler: HttpHandler = (event, context) => {
          for (const id of sendersOf(bodyText(event))) if (!fake.members.has(id)) fake.members.add(id);
          return route.handler(event, context);
        };
        return { ...route, handler };
      });
      const served = await serveHandlers(routes, config.env.PORT, '0.0.0.0').catch((error: unknown) => {
        throw (error as NodeJS.ErrnoException).code === 'EADDRINUSE'
          ? new DevSetupError(`Port ${config.env.PORT} is already in use: is another \`npm run dev\` running?`, {
              cause: error,
            })
          : error;
      });
      server = served.server;
      url = `http://localhost:${(server.address() as { port: number }).port}`;
      say(`Bot listening on ${url}: POST /slack/events, GET|POST /credentials/{token}.`);
    }
    scheduler = startDevScheduler({ deps, clock, everyMs: scheduleEvery, say });
    say(
      scheduleEvery === undefined
        ? 'The frequent scheduled tasks are off (DEV_SCHEDULE=off).'
        : `The frequent scheduled tasks run every ${scheduleEvery / 1000} s (DEV_SCHEDULE=off turns them off).`,
    );
    if (slack && url) {
      const fake = slack;
      const runDaily = scheduler.runDaily;
      const runMinute = scheduler.runMinute;
      standIn = new SlackStandIn(slack, {
        botUrl: url,
        signingSecret: LOCAL_SIGNING_SECRET,
        policy: config.policy,
        settle: () => (deps.dispatcher instanceof InProcessJobDispatcher ? deps.dispatcher.drain() : Promise.resolve()),
        runDaily: (daysAhead) => runDaily(daysAhead),
        runMinute: (hoursAhead) => runMinute(hoursAhead),
        deactivate: (user) => fake.members.deactivate(user),
      });
      say(
        [
          '',
          `Play Slack in your browser: ${standIn.pageUrl}`,
          '(pick who you are, type /iam commands, approve in the approval channel, open your DMs and App Home)',
          'Or from another terminal: npm run slack -- "/iam whoami"',
          'Daily tasks now (or N days on): npm run slack -- --daily [--days-ahead N]; a leaver: npm run slack -- --leave U0...',
        ].join('\n'),
      );
    }
    return { url, slack, standIn, deps, moto, scheduler, clock, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}
