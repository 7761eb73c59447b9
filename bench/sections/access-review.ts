/**
 * An access review round at scale (`npm run bench -- review`; opt-in: a few minutes): one account of REVIEW_USERS
 * (5,000) owned IAM users in REVIEW_GROUPS (10) policy groups, owned by REVIEW_OWNERS (500) owners, reviewed from the
 * day a round is due until every owner has had the review DM. The daily schedule (serverless.yml: 09:00, `{"tasks":
 * ["access-review"]}`) dispatches the worker's `access-review` job each day; the bench prints what the round cost.
 *
 * Real: the bot's handlers (runScheduledTasks, handleWorkerEvent), its SDK v3 IAM client and Slack Web API client, and
 * DynamoDB (DynamoDB Local; each call DYNAMO_MS virtual). Simulated on a virtual clock (bench/sim): IAM (its rate and
 * latencies, and the service last accessed jobs, ready LAST_ACCESSED_MAKING_MS after their start: see
 * bench/sim/iam.ts), Slack (the strict stand-in and its rate tiers, each call SLACK_MS) and Lambda (the worker killed
 * at 60 s, retried twice). The projection is written straight to DynamoDB before the round (it is not what is measured).
 */

import { readFileSync } from 'node:fs';
import path from 'node:path';
import { ListAccountAliasesCommand } from '@aws-sdk/client-iam';
import { parse, stringify } from 'yaml';
import { AwsAccounts } from '../../src/aws/accounts.js';
import { buildDeps } from '../../src/build-deps.js';
import { loadConfig } from '../../src/config.js';
import { reviewTasks, runScheduledTasks } from '../../src/jobs/schedule.js';
import { handleWorkerEvent } from '../../src/jobs/worker.js';
import { javaAvailable, startDynamoDbLocal } from '../../src/local/dynamodb-local.js';
import { FakeSlack } from '../../src/local/fake-slack.js';
import { logger } from '../../src/logger.js';
import { roundItemId } from '../../src/services/access-review.js';
import { slackWebClient } from '../../src/slack/client.js';
import { SlackMessenger } from '../../src/slack/messenger.js';
import { type Row, root, type Section } from '../lib.js';
import { type SimUser, SimulatedIam } from '../sim/iam.js';
import { LambdaModel } from '../sim/lambda.js';
import { random, realFetchHandler } from '../sim/shared.js';
import { VirtualTime } from '../sim/virtual-time.js';

const USERS = Number(process.env.REVIEW_USERS ?? 5_000);
const OWNERS = Number(process.env.REVIEW_OWNERS ?? 500);
const GROUPS = Number(process.env.REVIEW_GROUPS ?? 10);
/** Days simulated at most (a round that has not ended by then is reported as such). */
const MAX_DAYS = Number(process.env.REVIEW_DAYS ?? 30);
const SLACK_MS = 150;
const DYNAMO_MS = 6;
const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const T0 = Date.parse('2026-12-08T00:00:00Z');
const DAILY_AT = 9 * HOUR; // serverless.yml: cron(0 9 * * ? *)
const WORKER_TIMEOUT_MS = 60_000;
const PART_LIMIT_MS = 40_000;

export const accessReviewSection: Section = {
  title: `access review: a round of ${USERS.toLocaleString('en-US')} owned users in ${GROUPS} groups, ${OWNERS} owners (simulated IAM and Slack, virtual clock)`,
  optIn: true,
  async run(): Promise<Row[]> {
    if (!javaAvailable()) throw new Error('the access review bench needs Java for DynamoDB Local');
    const level = logger.getLevelName();
    logger.setLogLevel(process.env.REVIEW_DEBUG ? 'WARN' : 'SILENT');
    process.env.AWS_ACCESS_KEY_ID ??= 'bench';
    process.env.AWS_SECRET_ACCESS_KEY ??= 'bench';
    const ddb = await startDynamoDbLocal();
    const vt = new VirtualTime(new Date(T0));
    const restore = vt.install();
    try {
      return await round(vt, ddb.url);
    } finally {
      restore();
      await ddb.stop();
      logger.setLogLevel(level);
    }
  },
};

async function round(vt: VirtualTime, dynamoUrl: string): Promise<Row[]> {
  const realStart = performance.now();
  const rand = random(22);
  const groups = Array.from({ length: GROUPS }, (_, i) => `review-group-${String(i).padStart(2, '0')}`);
  const base = parse(readFileSync(path.join(root, 'policy.yml'), 'utf8')) as { groups: unknown[] };
  const policy = {
    ...base,
    accounts: [],
    groups: [...base.groups, ...groups.map((name) => ({ name, description: `Review bench group ${name}` }))],
  };
  const config = loadConfig(
    {
      SLACK_SIGNING_SECRET: 'bench-signing-secret-0123456789',
      SLACK_BOT_TOKEN: 'xoxb-bench',
      POLICY_FILE: 'policy.yml',
      SLACK_API_URL: 'http://slack.invalid/api/',
      AWS_ENDPOINT_URL_DYNAMODB: dynamoUrl,
      TABLE_PREFIX: 'bench-review-',
    },
    () => stringify(policy),
  );
  const callsPerRun = config.policy.reviews.callsPerRun;
  const everyDays = config.policy.reviews.everyDays;
  const lambda = new LambdaModel(vt);
  /** IAM calls of each worker invocation (by its id). */
  const callsOf = new Map<number, number>();
  const iam = new SimulatedIam(vt, async (service) => {
    await lambda.gate();
    const inv = lambda.current();
    if (service === 'iam' && inv) callsOf.set(inv.id, (callsOf.get(inv.id) ?? 0) + 1);
  });
  const account = iam.addAccount('home', '100000000000');
  // each group grants 3 to 12 services; a user is in 1 to 3 groups and used some of what one of them grants
  const namespaces = [
    's3',
    'ec2',
    'lambda',
    'dynamodb',
    'sqs',
    'sns',
    'cloudwatch',
    'logs',
    'kms',
    'iam',
    'sts',
    'ecr',
  ];
  for (const [i, g] of groups.entries())
    account.groups.set(
      g,
      namespaces.filter((_, j) => (i + j) % 4 === 0 || j < 3 + (i % 10)),
    );
  const owners = Array.from({ length: OWNERS }, (_, i) => `U0REV${String(i).padStart(5, '0')}`);
  const mgmtPath = config.policy.users.path;
  const users: SimUser[] = [];
  for (let i = 0; i < USERS; i++) {
    const n = 1 + Math.floor(rand() * 3);
    const mine = [...new Set(Array.from({ length: n }, () => groups[Math.floor(rand() * GROUPS)] as string))].sort();
    const r = rand();
    const used: Record<string, number> = {};
    // a fifth used nothing, the rest used one or two services of their first group
    if (r >= 0.2)
      for (const ns of (account.groups.get(mine[0] as string) ?? []).slice(0, r < 0.6 ? 1 : 2))
        used[ns] = T0 - Math.floor(rand() * 30 * DAY);
    const user: SimUser = {
      name: `rev-${String(i).padStart(5, '0')}`,
      path: mgmtPath,
      id: `AIDAREV${i}`,
      created: T0 - 400 * DAY,
      tags: [{ Key: 'slack-user-id', Value: owners[i % OWNERS] as string }],
      groups: mine,
      keys: [],
      login: false,
      used,
    };
    account.users.set(user.name.toLowerCase(), user);
    users.push(user);
  }

  const slack = new FakeSlack();
  slack.members.add(...owners);
  const web = slackWebClient({ SLACK_BOT_TOKEN: 'xoxb-bench', SLACK_API_URL: 'http://slack.invalid/api/' });
  (web as unknown as { fetchFn: typeof fetch }).fetchFn = (async (url: string, init: { body?: unknown }) => {
    await lambda.gate();
    const method = String(url).split('/api/')[1] ?? '';
    const args: Record<string, unknown> = Object.fromEntries(new URLSearchParams(String(init.body ?? '')));
    await vt.sleep(SLACK_MS);
    await lambda.gate();
    const wait = slack.limits.check(method, args, vt.ms());
    if (wait !== undefined)
      return new Response(JSON.stringify({ ok: false, error: 'ratelimited' }), {
        status: 429,
        headers: { 'content-type': 'application/json', 'retry-after': String(wait) },
      });
    const answer = slack.answerInProcess(method, args);
    return new Response(JSON.stringify(answer), { status: 200, headers: { 'content-type': 'application/json' } });
  }) as unknown as typeof fetch;

  const aws = new AwsAccounts({
    region: 'us-east-1',
    accounts: config.policy.accounts,
    clock: vt,
    credentials: { accessKeyId: 'bench', secretAccessKey: 'bench' },
    decorateClient: (client) => {
      const service =
        client.constructor.name === 'STSClient' ? 'sts' : client.constructor.name === 'IAMClient' ? 'iam' : undefined;
      if (!service) throw new Error(`the access review bench simulates no ${client.constructor.name}`);
      (client.config as { requestHandler: unknown }).requestHandler = iam.handlerFor('home', service);
    },
  });
  const deps = buildDeps(config, {
    createTables: true,
    decorateDynamo: (client) => {
      (client.config as { requestHandler: unknown }).requestHandler = realFetchHandler(vt);
      client.middlewareStack.add(
        (next) => async (args) => {
          await lambda.gate();
          const out = await next(args);
          await vt.sleep(DYNAMO_MS);
          await lambda.gate();
          return out;
        },
        { step: 'initialize', name: 'reviewBenchDynamo' },
      );
    },
    overrides: {
      aws,
      clock: vt,
      messenger: new SlackMessenger(web),
      dispatcher: lambda.dispatcher(() => {}),
    },
  });
  lambda.define('worker', {
    timeoutMs: WORKER_TIMEOUT_MS,
    handler: (event) =>
      handleWorkerEvent(deps, event).catch((error: unknown) => {
        if (process.env.REVIEW_DEBUG) process.stderr.write(`review: worker error ${(error as Error)?.stack}\n`);
        throw error;
      }),
  });
  lambda.define('schedule', { timeoutMs: 300_000, handler: () => runScheduledTasks(deps, reviewTasks) });

  const background = async <T>(fn: () => Promise<T>): Promise<T> => {
    let out: { v: T } | { e: unknown } | undefined;
    void fn().then(
      (v) => {
        out = { v };
      },
      (e) => {
        out = { e };
      },
    );
    while (!out) await vt.runUntil(vt.ms() + DAY, undefined, () => out !== undefined);
    if ('e' in out) throw out.e;
    return out.v;
  };
  await background(() => deps.preload());
  // the SDK clients' first use reads configuration files (real time the virtual clock does not see): before the
  // round, while no other timer is set (time does not jump over it then)
  // callerIdentity imports its STS module on each call (import('./sts.js')): under tsx that resolution is real work
  // off the main thread the virtual clock cannot see, over which it jumped to the worker's timeout; its answer is
  // the same on every call, so the bench answers it once (STS, not an IAM call: nothing measured is left out)
  const who = await background(() => deps.aws.callerIdentity('home'));
  aws.callerIdentity = async () => who;
  await background(() => deps.aws.account('home').iam.send(new ListAccountAliasesCommand({})));
  // the projection, as a refresh would have written it (straight to DynamoDB: not what is measured)
  const observed = new Date(T0 - HOUR).toISOString();
  await background(async () => {
    for (let at = 0; at < users.length; at += 50)
      await Promise.all(
        users.slice(at, at + 50).map((u) =>
          deps.store.users.put({
            account: 'home',
            userName: u.name,
            path: u.path,
            owner: u.tags[0]?.Value as string,
            groups: u.groups,
            console: false,
            keys: [],
            keysObservedAt: observed,
            refreshedAt: observed,
          }),
        ),
      );
  });
  const setupSeconds = (performance.now() - realStart) / 1000;
  if (process.env.REVIEW_PROGRESS) process.stderr.write(`review: setup done after ${setupSeconds.toFixed(0)} s\n`);

  // --- The round: the daily schedule until every owner had the DM (or MAX_DAYS) ---------------------------------
  const roundStart = performance.now();
  const firstRun = T0 + DAILY_AT;
  let days = 0;
  let sentOnDay: number | undefined;
  for (let d = 0; d < MAX_DAYS && sentOnDay === undefined; d++) {
    days = d + 1;
    vt.timer(
      () => lambda.invoke('schedule', { tasks: ['access-review'] }, { task: 'review', depth: 0, label: `day ${d}` }),
      firstRun + d * DAY - vt.ms(),
    );
    await vt.runUntil(firstRun + d * DAY + 20 * HOUR);
    if (process.env.REVIEW_PROGRESS)
      process.stderr.write(
        `review: day ${d} done after ${((performance.now() - roundStart) / 1000).toFixed(0)} s real, ${lambda.invocations.length} invocations\n`,
      );
    const state = await background(() => deps.store.reminders.review(roundItemId('home')));
    if (state?.state === 'sent') sentOnDay = d;
  }
  const roundSeconds = (performance.now() - roundStart) / 1000;

  // --- What it cost --------------------------------------------------------------------------------------------
  const workers = lambda.invocations.filter((i) => i.fn === 'worker');
  const took = (i: (typeof workers)[number]) => ((i.end ?? vt.ms()) - i.start) / 1000;
  const longest = workers.reduce((m, i) => Math.max(m, took(i)), 0);
  const calls = workers.map((i) => callsOf.get(i.id) ?? 0);
  const maxCalls = Math.max(0, ...calls);
  const totalCalls = [...callsOf.values()].reduce((a, b) => a + b, 0);
  const timeouts = workers.filter((i) => i.outcome === 'timeout').length;
  const failed = workers.filter((i) => i.outcome === 'failed').length;
  const dms = slack.calls.filter(
    (c) =>
      c.method === 'chat.postMessage' &&
      (c.answer as { ok?: boolean })?.ok &&
      String(c.args.text ?? '').startsWith('Access review'),
  );
  // an owner's review is one DM of one or more messages (many users: several); only its first message names the
  // owner's first user (by name), so a review sent twice shows as two messages naming it
  const firstUser = new Map<string, string>();
  for (const u of [...users].sort((a, b) => a.name.localeCompare(b.name)))
    if (!firstUser.has(u.tags[0]?.Value as string)) firstUser.set(u.tags[0]?.Value as string, u.name);
  const firsts = new Map<string, number>();
  for (const c of dms) {
    const owner = String(c.args.channel);
    if (String(c.args.blocks ?? '').includes(`\`${firstUser.get(owner)}\``))
      firsts.set(owner, (firsts.get(owner) ?? 0) + 1);
  }
  if (process.env.REVIEW_DEBUG)
    for (const i of workers)
      process.stderr.write(
        `review: ${i.label} attempt ${i.attempt} ${new Date(i.start).toISOString()} ${took(i).toFixed(1)} s ${callsOf.get(i.id) ?? 0} IAM calls ${i.outcome}\n`,
      );
  const ownersDmed = firsts.size;
  const doubled = [...firsts.values()].filter((n) => n > 1).length;
  const perGroup = groups.map((g) => account.groups.get(g)?.length ?? 0);
  const n = (v: number) => v.toLocaleString('en-US');
  const ended = sentOnDay !== undefined;
  return [
    {
      metric: 'the account',
      value: `${n(USERS)} owned users, ${n(OWNERS)} owners, ${GROUPS} policy groups (${Math.min(...perGroup)}–${Math.max(...perGroup)} services each); reviews.everyDays ${everyDays}, callsPerRun ${callsPerRun}`,
    },
    {
      metric: 'days from the round’s first run to the last owner’s DM (daily runs)',
      value: ended ? `${(sentOnDay as number) + 1} days` : `not done after ${days} days`,
      target: '≤ 7 days',
      met: ended && (sentOnDay as number) + 1 <= 7,
    },
    { metric: 'IAM calls in the round (job starts, GetGroup, result pages, polls)', value: n(totalCalls) },
    {
      metric: 'worker invocations (runs and their parts) in the round; killed at 60 s; failed',
      value: `${n(workers.length)}; ${timeouts}; ${failed}`,
    },
    {
      metric: `most IAM calls in one invocation (callsPerRun ${callsPerRun})`,
      value: n(maxCalls),
      target: `≤ ${callsPerRun}`,
      met: maxCalls <= callsPerRun,
    },
    {
      metric: 'the longest invocation (virtual)',
      value: `${longest.toFixed(1)} s`,
      target: `≤ ${PART_LIMIT_MS / 1000} s`,
      met: longest <= PART_LIMIT_MS / 1000 && timeouts === 0,
    },
    {
      metric: 'owners who got the review DM (messages posted in all)',
      value: `${n(ownersDmed)} of ${n(OWNERS)} (${n(dms.length)} messages)`,
      target: `${n(OWNERS)}`,
      met: ownersDmed === OWNERS,
    },
    { metric: 'owners who got it more than once', value: n(doubled), target: '0', met: doubled === 0 },
    {
      metric: 'IAM calls answered Throttling; Slack calls answered 429',
      value: `${n(iam.throttled)}; ${n([...slack.limits.limited.values()].reduce((a, b) => a + b, 0))}`,
    },
    {
      metric: 'real time: setup (projection written); the round',
      value: `${setupSeconds.toFixed(0)} s; ${roundSeconds.toFixed(0)} s`,
    },
  ];
}
