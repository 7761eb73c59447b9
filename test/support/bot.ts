import { appendFileSync } from 'node:fs';
import { DeleteTableCommand, DynamoDBClient, ListTablesCommand } from '@aws-sdk/client-dynamodb';
import { expect, inject } from 'vitest';
import { stringify } from 'yaml';
import { AwsAccounts } from '../../src/aws/accounts.js';
import { buildDeps } from '../../src/build-deps.js';
import { ManualClock } from '../../src/clock.js';
import { loadConfig } from '../../src/config.js';
import type { FunctionName } from '../../src/deploy/roles.js';
import type { Deps } from '../../src/deps.js';
import type { HttpHandler, HttpResult } from '../../src/http/types.js';
import { InProcessJobDispatcher } from '../../src/jobs/dispatchers.js';
import { runScheduledTasks } from '../../src/jobs/schedule.js';
import { handleWorkerEvent, runJob } from '../../src/jobs/worker.js';
import { FakeSlack, type RecordedCall, type SlackMember } from '../../src/local/fake-slack.js';
import { serveHandlers } from '../../src/local/http-server.js';
import { freePort, type MotoServer, startMoto } from '../../src/local/moto.js';
import { appRoutes } from '../../src/local/routes.js';
import { ensurePolicyGroups } from '../../src/services/setup.js';
import { stsCheckingRoleExists } from './aws.js';
import { recordCreatedSecrets, trackLeaks } from './leaks.js';
import { type AwsCall, recordAwsCalls } from './network-calls.js';
import { testPolicy } from './policy.js';
import { asFunction, RoleChecker } from './role-checker.js';
import { recordSlackAnswer, recordSlackPayload } from './slack-limits.js';
import { commandBody, interactionBody, type SignOptions, signedEvent } from './slack-request.js';
import { TestQueue } from './sqs.js';

export const SIGNING_SECRET = 'test-signing-secret-not-real';

export interface TestBot {
  moto: MotoServer;
  /**
   * The bot's DynamoDB: the run's DynamoDB Local (AWS's own engine, started by test/support/global-setup.ts), where
   * the bot's tables carry a prefix of their own (`tablePrefix`, its TABLE_PREFIX) so that bots never share a table.
   */
  dynamo: { url: string; tablePrefix: string };
  slack: FakeSlack;
  deps: Deps;
  clock: ManualClock;
  dispatcher: InProcessJobDispatcher;
  /** Every AWS SDK call the bot made (`service:Action`), DynamoDB's included, in order. */
  awsCalls: AwsCall[];
  /** The Slack Lambda handler and the credential page handler, exactly as Lambda runs them. */
  slackHandler: HttpHandler;
  webHandler: HttpHandler;
  /** Sends a body to the Slack handler, signed unless told otherwise. */
  send(body: string, sign?: Partial<SignOptions>): Promise<HttpResult>;
  /** `/iam <text>` from a user; `responseId` names its response_url on the fake Slack. */
  command(text: string, userId?: string): Promise<{ result: HttpResult; responseId: string }>;
  /** An interactivity payload (button click, modal submission). */
  interact(payload: Record<string, unknown>): Promise<HttpResult>;
  /** A click on a button of a message the bot posted; `responseId` names its response_url on the fake Slack. */
  clickButton(click: ButtonClick): Promise<{ result: HttpResult; responseId: string }>;
  /** A modal submission (view_submission); the result's body carries the ack (e.g. `response_action: 'errors'`). */
  submitView(submission: ViewSubmission): Promise<HttpResult>;
  /** Waits for every job dispatched so far to finish. */
  drain(): Promise<void>;
  /**
   * With `failedJobsQueue`: the queue in the emulator that receives Lambda's on-failure records (the in-process
   * dispatcher then models Lambda's two retries), and Lambda's event source mapping: hands the queue's messages to
   * the worker as an SQS event and deletes them once it succeeded. Returns how many it delivered.
   */
  failedJobsQueue?: TestQueue;
  deliverFailedJobs(): Promise<number>;
  /** Runs the scheduled tasks (or the ones given) as the schedule function does (its AWS calls checked against its role). */
  schedule(tasks?: Parameters<typeof runScheduledTasks>[1]): ReturnType<typeof runScheduledTasks>;
  /** Runs a job as the worker function does (a repeated delivery, say), its AWS calls checked against its role. */
  runJob(job: unknown): ReturnType<typeof runJob>;
  /** Runs `fn` as one of the Lambda functions: what it calls is checked against that function's role. */
  as<T>(fn: FunctionName, run: () => Promise<T>): Promise<T>;
  /**
   * The bot's AWS clients built anew (same options, same decorations): a named account's role is assumed again on
   * its next call. Moto forgets every AssumeRole session when it is reset, and an SDK client keeps the credentials it
   * was given until they expire (in real time), so after a reset the old clients would act in the home account.
   */
  renewAwsClients(): void;
  /** Checks every AWS call the bot makes against the role of the function that makes it. */
  roles: RoleChecker;
  /**
   * Serves the HTTP routes (for browser tests); returns the base URL. The first call listens on the port that
   * PUBLIC_URL names, so the links in the bot's DMs work; later calls on free ports.
   */
  serve(): Promise<string>;
  stop(): Promise<void>;
}

export interface ButtonClick {
  userId: string;
  actionId: string;
  value: string;
  /** The message the button is on (default: a made-up one in C0APPROVALS). */
  message?: { channel: string; ts: string; blocks?: unknown };
  blockId?: string;
}

export interface ViewSubmission {
  userId: string;
  callbackId: string;
  /** `state.values`: block id -> action id -> { type, value | selected_option | selected_options | selected_user }. */
  values: Record<string, Record<string, Record<string, unknown>>>;
  privateMetadata?: string;
}

export interface TestBotOptions {
  policy?: Record<string, unknown>;
  env?: Record<string, string>;
  clock?: ManualClock;
  /**
   * Load the store before the first request (default true): tests read repositories' models directly, which the
   * lazily loaded store allows only once loaded (src/store/lazy.ts). `false` runs as on Lambda.
   */
  preload?: boolean;
  /** Also decorates the store's DynamoDB client (e.g. test/support/stale-dynamo.ts). */
  decorateDynamo?: (client: unknown) => void;
  /**
   * Also decorates every AWS client the bot builds, DynamoDB's included, after the harness's own middleware (e.g.
   * test/support/kill-points.ts adds a middleware step that can stop an invocation at any call).
   */
  decorateClient?: (client: unknown) => void;
  /**
   * Model Lambda's asynchronous invocation failures: a job that throws is retried twice, then its failure record
   * goes to a failed-jobs queue in the emulator (see TestBot.deliverFailedJobs). Default: a failed job is logged.
   */
  failedJobsQueue?: boolean;
  /**
   * The workspace's members users.info knows, besides DEFAULT_MEMBERS, the policy's approvers and whoever sends the
   * bot a command, click or submission (Slack sends those only from members). Any other id is `user_not_found`, as
   * in Slack: a test that names an owner or recipient registers them here or with `bot.slack.members.add`.
   */
  members?: (SlackMember | string)[];
}

/** The suite's usual cast, registered in every test bot's workspace (active, human, full members). */
export const DEFAULT_MEMBERS = [
  'U0REQUESTER',
  'U0RECIPIENT',
  'U0OWNER',
  'U0ALICE',
  'U0BOB',
  'U0SOMEONE',
  'U0SECMEMBER',
  'U0FINANCE1',
  'U0NEWOWNER',
  'U0OLDOWNER',
];

let responseSeq = 0;
let botSeq = 0;

/**
 * The run's DynamoDB Local (test/support/global-setup.ts). IAM_SLACK_BOT_TEST_DYNAMODB=moto runs DynamoDB on each
 * bot's moto server instead, as before issue 20 (to compare the two engines); so does a bot started outside vitest
 * (`npm run bench`, whose targets are stated on moto), where there is no global setup to ask.
 */
function runDynamoDbUrl(moto: MotoServer): string {
  if (process.env.IAM_SLACK_BOT_TEST_DYNAMODB === 'moto' || !process.env.VITEST) return moto.url;
  const url = inject('dynamoDbUrl');
  if (!url)
    throw new Error('No DynamoDB Local: test/support/global-setup.ts did not run (vitest.config.ts globalSetup)');
  return url;
}

/** Drops a bot's tables (those named with its prefix) so that the run's one DynamoDB Local keeps little in memory. */
async function dropTables(url: string, prefix: string): Promise<void> {
  const ddb = new DynamoDBClient({
    region: 'us-east-1',
    endpoint: url,
    credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' },
  });
  try {
    const names: string[] = [];
    let from: string | undefined;
    do {
      const page = await ddb.send(new ListTablesCommand({ ExclusiveStartTableName: from }));
      names.push(...(page.TableNames ?? []).filter((t) => t.startsWith(prefix)));
      from = page.LastEvaluatedTableName;
    } while (from);
    await Promise.all(names.map((TableName) => ddb.send(new DeleteTableCommand({ TableName }))));
  } finally {
    ddb.destroy();
  }
}

/**
 * A bot wired to real parts: a moto server of its own (IAM, STS, Secrets Manager, SQS, Lambda), tables of its own in
 * the run's DynamoDB Local, a recording Slack Web API, the real Lambda handlers, and an
 * in-process job dispatcher. One per test file (dynamoose's client is process-wide).
 */
export async function startTestBot(options: TestBotOptions = {}): Promise<TestBot> {
  const clock = options.clock ?? new ManualClock();
  // response_urls live thirty minutes of the test clock; rate limits run on the real clock, which the Web API
  // client waits on after a 429.
  const [moto, slack, publicPort] = await Promise.all([
    startMoto(),
    new FakeSlack({ now: () => clock.now().getTime() }).start(),
    freePort(),
  ]);
  // The leak check and the Slack-limit check see every call; a test must not replace onCall.
  const seenCalls: RecordedCall[] = [];
  slack.onCall = (call) => {
    seenCalls.push(call);
    recordSlackPayload(call.method, call.args);
  };
  // A prefix of this bot's own (process, bot): the run's one DynamoDB Local holds the tables of every file.
  const dynamo = {
    url: runDynamoDbUrl(moto),
    tablePrefix: `test-${process.pid.toString(36)}${(++botSeq).toString(36)}-`,
  };
  const leaks = trackLeaks(seenCalls, moto.url, dynamo);
  const env = {
    SLACK_SIGNING_SECRET: SIGNING_SECRET,
    SLACK_BOT_TOKEN: 'xoxb-test-token',
    SLACK_API_URL: slack.url,
    POLICY_FILE: 'test-policy.yml',
    AWS_REGION: 'us-east-1',
    AWS_ENDPOINT_URL: moto.url,
    AWS_ENDPOINT_URL_DYNAMODB: dynamo.url,
    TABLE_PREFIX: dynamo.tablePrefix,
    PUBLIC_URL: `http://127.0.0.1:${publicPort}`,
    ...options.env,
  };
  const policyYaml = stringify(options.policy ?? testPolicy());
  const config = loadConfig(env, () => policyYaml);
  slack.members.add(...DEFAULT_MEMBERS, ...config.policy.approvals.approvers.users, ...(options.members ?? []));
  // A DM to an id nobody registered is refused, as Slack refuses it (measured: the suite DMs no one else).
  slack.members.strictDms = true;
  for (const group of config.policy.groups) slack.members.add(...(group.approvers?.users ?? []));
  const member = (id: string) => {
    if (!slack.members.has(id)) slack.members.add(id);
  };
  const failedJobsQueue = options.failedJobsQueue
    ? await TestQueue.create(moto.url, 'iam-slack-bot-test-failed-jobs')
    : undefined;
  const dispatcher = new InProcessJobDispatcher(
    failedJobsQueue
      ? { maximumRetryAttempts: 2, onFailure: (record) => failedJobsQueue.send(JSON.stringify(record)) }
      : undefined,
  );
  const roles = new RoleChecker({
    policy: config.policy,
    endpoint: moto.url,
    tablePrefix: config.env.TABLE_PREFIX,
    secretPrefix: config.env.SECRET_PREFIX,
  });
  const awsCalls: AwsCall[] = [];
  const recordCalls = recordAwsCalls(awsCalls);
  const decorateClient = (client: Parameters<RoleChecker['decorate']>[0], account: string) => {
    recordCreatedSecrets(client as never);
    recordCalls(client);
    roles.decorate(client, account);
    options.decorateClient?.(client);
  };
  // The hand-off to the worker: on Lambda an asynchronous Invoke, which the role must allow.
  const dispatch = dispatcher.dispatch.bind(dispatcher);
  dispatcher.dispatch = async (job) => {
    await roles.recordInvoke();
    return dispatch(job);
  };
  const homeIam = new AwsAccounts({
    region: 'us-east-1',
    endpoint: moto.url,
    accounts: [],
    clock,
    decorateClient: recordCreatedSecrets,
  }).account().iam;
  const newAws = () =>
    new AwsAccounts({
      region: 'us-east-1',
      endpoint: moto.url,
      accounts: config.policy.accounts,
      clock,
      stsFactory: stsCheckingRoleExists(homeIam),
      decorateClient,
    });
  const aws = newAws();
  const deps = buildDeps(config, {
    createTables: true,
    decorateDynamo: (client) => {
      recordCalls(client);
      roles.decorate(client, 'home');
      options.decorateDynamo?.(client);
      options.decorateClient?.(client);
    },
    overrides: { clock, dispatcher, aws },
  });
  if (options.preload ?? true) await deps.preload();
  // Whatever runs the jobs (tests may set their own runner) runs as the worker function.
  const setRunner = dispatcher.setRunner.bind(dispatcher);
  dispatcher.setRunner = (run) => setRunner((job) => asFunction('worker', () => run(job)));
  dispatcher.setRunner((job) => runJob(deps, job));
  await ensurePolicyGroups(homeIam, config.policy.groups);
  // Each route runs as its Lambda function, so that its AWS calls are checked against that function's role.
  const routes = appRoutes(deps).map((route, i) => {
    const fn = i === 0 ? 'slack' : 'web';
    const handler = route.handler;
    return { ...route, handler: ((event, context) => asFunction(fn, () => handler(event, context))) as HttpHandler };
  });
  const slackHandler = routes[0]?.handler as HttpHandler;
  const webHandler = routes[1]?.handler as HttpHandler;
  const servers: { close(cb: () => void): void }[] = [];

  const send = async (body: string, sign: Partial<SignOptions> = {}) => {
    const result = await slackHandler(signedEvent(body, { secret: SIGNING_SECRET, ...sign }));
    if (result.statusCode === 200) recordSlackAnswer(result.body);
    return result;
  };

  return {
    moto,
    dynamo,
    slack,
    deps,
    clock,
    dispatcher,
    awsCalls,
    slackHandler,
    webHandler,
    send,
    async command(text, userId = 'U0REQUESTER') {
      const responseId = `r${++responseSeq}`;
      member(userId);
      const result = await send(commandBody({ text, userId, responseUrl: slack.responseUrl(responseId, 'command') }));
      if (result.statusCode === 200 && result.body) {
        try {
          slack.acked(responseId, JSON.parse(result.body) as Record<string, unknown>);
        } catch {
          slack.acked(responseId, { text: result.body });
        }
      }
      return { result, responseId };
    },
    interact: (payload) => {
      const user = (payload.user as { id?: string } | undefined)?.id;
      if (user) member(user);
      return send(interactionBody(payload));
    },
    async clickButton({ userId, actionId, value, message, blockId }) {
      const responseId = `a${++responseSeq}`;
      const where = message ?? { channel: 'C0APPROVALS', ts: '1700000000.000100' };
      member(userId);
      slack.responseUrl(responseId, 'interaction', { text: '', blocks: (where.blocks as unknown[]) ?? [] });
      const result = await send(
        interactionBody({
          type: 'block_actions',
          user: { id: userId, username: userId.toLowerCase(), team_id: 'T0TEAM' },
          team: { id: 'T0TEAM', domain: 'example' },
          api_app_id: 'A0APP',
          token: 'legacy-verification-token',
          trigger_id: `${responseSeq}.${Date.now()}.trigger`,
          response_url: slack.responseUrl(responseId),
          container: { type: 'message', channel_id: where.channel, message_ts: where.ts, is_ephemeral: false },
          channel: { id: where.channel, name: 'approvals' },
          message: { type: 'message', ts: where.ts, text: '', blocks: where.blocks ?? [] },
          actions: [
            {
              type: 'button',
              action_id: actionId,
              block_id: blockId ?? 'actions',
              value,
              text: { type: 'plain_text', text: actionId },
              action_ts: `${Date.now() / 1000}`,
            },
          ],
        }),
      );
      return { result, responseId };
    },
    submitView: ({ userId, callbackId, values, privateMetadata }) => {
      member(userId);
      return send(
        interactionBody({
          type: 'view_submission',
          user: { id: userId, username: userId.toLowerCase(), team_id: 'T0TEAM' },
          team: { id: 'T0TEAM', domain: 'example' },
          api_app_id: 'A0APP',
          token: 'legacy-verification-token',
          trigger_id: `${++responseSeq}.${Date.now()}.trigger`,
          view: {
            id: `V0VIEW${responseSeq}`,
            type: 'modal',
            callback_id: callbackId,
            private_metadata: privateMetadata ?? '',
            state: { values },
            hash: `${responseSeq}.hash`,
          },
        }),
      );
    },
    drain: () => dispatcher.drain(),
    ...(failedJobsQueue ? { failedJobsQueue } : {}),
    async deliverFailedJobs() {
      if (!failedJobsQueue) throw new Error('startTestBot({ failedJobsQueue: true }) has no failed-jobs queue');
      const messages = await failedJobsQueue.receive();
      if (messages.length === 0) return 0;
      const event = {
        Records: messages.map((m) => ({
          messageId: m.MessageId,
          receiptHandle: m.ReceiptHandle,
          body: m.Body,
          eventSource: 'aws:sqs' as const,
          eventSourceARN: failedJobsQueue.arn,
        })),
      };
      await asFunction('worker', () => handleWorkerEvent(deps, event));
      for (const m of messages) await failedJobsQueue.delete(m);
      return messages.length;
    },
    schedule: (tasks) => asFunction('schedule', () => runScheduledTasks(deps, tasks)),
    runJob: (job) => asFunction('worker', () => runJob(deps, job)),
    as: (fn, run) => asFunction(fn, run),
    renewAwsClients() {
      deps.aws = newAws();
    },
    roles,
    async serve() {
      const { server, url } = await serveHandlers(routes, servers.length === 0 ? publicPort : 0);
      servers.push(server);
      return url;
    },
    async stop() {
      await dispatcher.drain();
      for (const s of servers) await new Promise<void>((r) => s.close(() => r()));
      await leaks.snapshot();
      // SLACK_LIMIT_REPORT=dir: what Slack's rate limits refused in this file, and the DMs to ids no test registered
      // (which strictDms would refuse), to measure the suite against Slack's strictness
      const report = process.env.SLACK_LIMIT_REPORT;
      if (report && (slack.limits.limited.size > 0 || slack.members.unknownDms.size > 0))
        appendFileSync(
          `${report}/limits.jsonl`,
          `${JSON.stringify({
            file: expect.getState().testPath,
            limited: Object.fromEntries(slack.limits.limited),
            unknownDms: Object.fromEntries(slack.members.unknownDms),
          })}\n`,
        );
      await Promise.all([
        moto.stop(),
        slack.stop(),
        dynamo.url === moto.url || dropTables(dynamo.url, dynamo.tablePrefix),
      ]);
    },
  };
}
