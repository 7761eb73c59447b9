/**
 * A day in the life of a company (`npm run bench -- org`; not in the default run: it takes many minutes): 2,000
 * owners, 100 accounts, 50,000 IAM users with a spread of key ages, 1% of the owners leaving that day (half of them
 * without a user_change event). It runs the scheduled tasks of the day (every 15 minutes: the sweeps and the
 * projection refresh; at 08:00: the owner check and the key scan) and the worker jobs they start, and prints what
 * each cost and whether the targets of issue 20 are met.
 *
 * What is real and what is simulated:
 * - Real: the bot's code, its handlers (runScheduledTasks, handleWorkerEvent), its SDK v3 clients and Slack Web API
 *   client, and DynamoDB (DynamoDB Local, AWS's own engine, in memory; each call also costs DYNAMO_MS virtual).
 * - Simulated in this process, on a virtual clock (bench/sim/virtual-time.ts): IAM and STS (bench/sim/iam.ts, the
 *   SDK clients' `requestHandler`; rates, latencies and their sources are stated there), Slack (the bot's WebClient
 *   with its `fetch` answered by the strict stand-in, src/local/fake-slack.ts, whose tiers are Slack's published
 *   ones: users.list tier 2, 20 a minute; chat.update and conversations.* tier 3, 50; users.info tier 4, 100;
 *   chat.postMessage about one a second per channel, api.slack.com/docs/rate-limits; each call SLACK_MS virtual; a
 *   429 carries Retry-After, which the client waits out on the virtual clock) and Lambda (bench/sim/lambda.ts: each
 *   invocation killed at its timeout, 60 s worker and 300 s schedule as serverless.yml says, retried twice, then the
 *   on-failure queue).
 * - Real time: DynamoDB Local on a shared 2-core machine writes some 25 users a second here, so the first refresh of
 *   50,000 users alone takes about 35 minutes, and a 15-minute tick about a minute at 2,000 users. Smaller runs:
 *   ORG_USERS, ORG_OWNERS (the company), ORG_HOURS (virtual hours from midnight, 33 by default: the next day's
 *   08:00 check finds a leaver of 23:59), ORG_LEAVE_HOURS (leavers leave within this many hours of midnight, 24 by
 *   default), ORG_PROGRESS=1 (progress on stderr).
 * - Kinder than the real thing: Slack's users.info cache (src/services/slack-members.ts) is one for every invocation
 *   here (one process), where each Lambda container has its own; the user_change event is handed to the worker at
 *   the moment of deactivation (the Slack function is not run).
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse, stringify } from 'yaml';
import { AwsAccounts } from '../../src/aws/accounts.js';
import { buildDeps } from '../../src/build-deps.js';
import { loadConfig } from '../../src/config.js';
import { runScheduledTasks, tasksFor } from '../../src/jobs/schedule.js';
import { handleWorkerEvent } from '../../src/jobs/worker.js';
import { javaAvailable, startDynamoDbLocal } from '../../src/local/dynamodb-local.js';
import { FakeSlack } from '../../src/local/fake-slack.js';
import { logger } from '../../src/logger.js';
import { leaverJob } from '../../src/services/kinds/offboard.js';
import { refreshUserProjection } from '../../src/services/user-projection.js';
import { slackWebClient } from '../../src/slack/client.js';
import { SlackMessenger } from '../../src/slack/messenger.js';
import { type Row, root, type Section } from '../lib.js';
import { type SimUser, SimulatedIam } from '../sim/iam.js';
import { LambdaModel } from '../sim/lambda.js';
import { random, realFetchHandler } from '../sim/shared.js';
import { VirtualTime } from '../sim/virtual-time.js';

const OWNERS = Number(process.env.ORG_OWNERS ?? 2_000);
const ACCOUNTS = 100;
const USERS = Number(process.env.ORG_USERS ?? 50_000);
const OTHER_MEMBERS = 1_000;
const LEAVERS = Math.max(2, Math.round(OWNERS / 100));
const SEED = 20;
/** Virtual latency of a Slack Web API call (assumed, typical) and of a DynamoDB call (its "single-digit ms"). */
const SLACK_MS = 150;
const DYNAMO_MS = 6;
const MIN = 60_000;
const HOUR = 60 * MIN;
const DAY = 24 * HOUR;
const T0 = Date.parse('2026-12-08T00:00:00Z');
/** Simulated until the next day's owner check has had time to end: a leaver of 23:59 without event is found then. */
const END = T0 + Number(process.env.ORG_HOURS ?? 33) * HOUR;
const DAILY_AT = 8 * HOUR; // serverless.yml: cron(0 8 * * ? *)
/** Leavers leave within this long of the day's start (ORG_LEAVE_HOURS; a shorter run lets them leave before 08:00). */
const LEAVE_WITHIN = Number(process.env.ORG_LEAVE_HOURS ?? 24) * HOUR;

/** Secrets Manager with no secret: ListSecrets answers an empty list (JSON protocol), after IAM's read latency. */
function emptySecretsManager(vt: VirtualTime, lambda: LambdaModel, of: (task: string) => TaskCount) {
  return {
    async handle(request: { headers: Record<string, string> }) {
      await lambda.gate();
      of(lambda.task()).other++;
      await vt.sleep(60);
      const target = request.headers['x-amz-target'] ?? '';
      if (!target.endsWith('.ListSecrets')) throw new Error(`the simulated Secrets Manager does not answer ${target}`);
      return {
        response: {
          statusCode: 200,
          headers: { 'content-type': 'application/x-amz-json-1.1' },
          body: new Uint8Array(Buffer.from('{"SecretList":[]}')),
        },
      };
    },
    updateHttpClientConfig() {},
    httpHandlerConfigs: () => ({}),
    destroy() {},
  };
}

interface TaskCount {
  other: number;
  iam: number;
  dynamo: number;
  slack: number;
  wcu: number;
  invocations: number;
  longest: number;
  /** The longest invocation's label (its job type and id). */
  longestLabel?: string;
  chain: number;
}

export const orgSection: Section = {
  title: `org: a day in the life of a company (${OWNERS.toLocaleString('en-US')} owners, ${ACCOUNTS} accounts, ${USERS.toLocaleString('en-US')} IAM users), simulated IAM and Slack on a virtual clock`,
  optIn: true,
  async run(): Promise<Row[]> {
    if (!javaAvailable()) throw new Error('the org bench needs Java for DynamoDB Local');
    const level = logger.getLevelName();
    logger.setLogLevel('SILENT');
    process.env.AWS_ACCESS_KEY_ID ??= 'bench';
    process.env.AWS_SECRET_ACCESS_KEY ??= 'bench';
    const ddb = await startDynamoDbLocal();
    const ticker = process.env.ORG_PROGRESS
      ? setInterval(
          () => process.stderr.write(`org: virtual ${vtNow()} timers ${vtPending()} real I/O ${vtInflight()}\n`),
          10_000,
        )
      : undefined;
    const vt = new VirtualTime(new Date(T0 - 2 * HOUR));
    const vtNow = () => vt.now().toISOString();
    const vtPending = () => vt.pending;
    const vtInflight = () => vt.inflight;
    const restore = vt.install();
    try {
      return await day(vt, ddb.url);
    } finally {
      restore();
      clearInterval(ticker);
      await ddb.stop();
      logger.setLogLevel(level);
    }
  },
};

async function day(vt: VirtualTime, dynamoUrl: string): Promise<Row[]> {
  const started = performance.now();
  // on stderr with ORG_PROGRESS=1: the virtual hour reached and the real seconds spent
  const progress = (now: number) => {
    if (process.env.ORG_PROGRESS)
      process.stderr.write(
        `org: ${new Date(now).toISOString()} after ${((performance.now() - started) / 1000).toFixed(0)} s\n`,
      );
  };
  const rand = random(SEED);
  const counts = new Map<string, TaskCount>();
  const of = (task: string) => {
    let c = counts.get(task);
    if (!c) {
      c = { iam: 0, dynamo: 0, slack: 0, wcu: 0, invocations: 0, longest: 0, chain: 0, other: 0 };
      counts.set(task, c);
    }
    return c;
  };

  // --- The company ---------------------------------------------------------------------------------------------
  const accountNames = [
    'home',
    ...Array.from({ length: ACCOUNTS - 1 }, (_, i) => `acct${String(i + 1).padStart(2, '0')}`),
  ];
  const accountId = (i: number) => String(100000000000 + i);
  const policy = {
    ...(parse(readFileSync(path.join(root, 'policy.yml'), 'utf8')) as object),
    accounts: accountNames
      .slice(1)
      .map((name, i) => ({ name, roleArn: `arn:aws:iam::${accountId(i + 1)}:role/iam-slack-bot` })),
  };
  const policyText = stringify(policy);
  const config = loadConfig(
    {
      SLACK_SIGNING_SECRET: 'bench-signing-secret-0123456789',
      SLACK_BOT_TOKEN: 'xoxb-bench',
      POLICY_FILE: 'policy.yml',
      SLACK_API_URL: 'http://slack.invalid/api/',
      AWS_ENDPOINT_URL_DYNAMODB: dynamoUrl,
      TABLE_PREFIX: 'bench-org-',
    },
    () => policyText,
  );
  const lambda = new LambdaModel(vt);
  const iam = new SimulatedIam(vt, async (service) => {
    await lambda.gate();
    if (service === 'iam') of(lambda.task()).iam++;
  });
  for (const [i, name] of accountNames.entries()) iam.addAccount(name, accountId(i));
  const owners = Array.from({ length: OWNERS }, (_, i) => `U0OWN${String(i).padStart(5, '0')}`);
  const usersOf = new Map<string, { account: string; user: SimUser }[]>();
  const mgmtPath = config.policy.users.path;
  for (let i = 0; i < USERS; i++) {
    // every owner has one user; the rest go to owners with a skew (a few own hundreds, most a handful)
    const o = i < OWNERS ? i : Math.floor(OWNERS * rand() ** 2);
    const owner = owners[o] as string;
    const r = rand();
    const acct = r < 0.7 ? o % ACCOUNTS : r < 0.95 ? (o * 7 + 3) % ACCOUNTS : Math.floor(rand() * ACCOUNTS);
    const k = rand();
    const keyCount = k < 0.2 ? 0 : k < 0.85 ? 1 : 2;
    const keys = Array.from({ length: keyCount }, (_, j) => {
      const a = rand();
      const ageDays = a < 0.55 ? rand() * 79 : a < 0.85 ? 80 + rand() * 285 : 365 + rand() * 1100;
      return {
        id: `AKIASIM${String(i).padStart(7, '0')}${j}`,
        status: 'Active' as const,
        created: Math.floor(T0 - ageDays * DAY),
        ...(rand() < 0.8 ? { lastUsed: T0 - Math.floor(rand() * DAY) } : {}),
      };
    });
    const unowned = i >= OWNERS && rand() < 0.02;
    const user: SimUser = {
      name: `svc-${String(i).padStart(5, '0')}`,
      path: mgmtPath,
      id: `AIDASIM${i}`,
      created: T0 - 2000 * DAY,
      tags: unowned ? [] : [{ Key: 'slack-user-id', Value: owner }],
      groups: [],
      keys,
      login: rand() < 0.1,
    };
    const account = accountNames[acct] as string;
    iam.accounts.get(account)?.users.set(user.name.toLowerCase(), user);
    if (!unowned) usersOf.set(owner, [...(usersOf.get(owner) ?? []), { account, user }]);
  }

  // --- Slack ----------------------------------------------------------------------------------------------------
  const slack = new FakeSlack();
  slack.members.add(
    ...owners,
    ...Array.from({ length: OTHER_MEMBERS }, (_, i) => `U0MEM${String(i).padStart(5, '0')}`),
  );
  const slackTask = new Map<number, string>();
  const web = slackWebClient({ SLACK_BOT_TOKEN: 'xoxb-bench', SLACK_API_URL: 'http://slack.invalid/api/' });
  (web as unknown as { fetchFn: typeof fetch }).fetchFn = (async (url: string, init: { body?: unknown }) => {
    await lambda.gate();
    const method = String(url).split('/api/')[1] ?? '';
    const args: Record<string, unknown> = Object.fromEntries(new URLSearchParams(String(init.body ?? '')));
    of(lambda.task()).slack++;
    await vt.sleep(SLACK_MS);
    await lambda.gate();
    const wait = slack.limits.check(method, args, vt.ms());
    if (wait !== undefined)
      return new Response(JSON.stringify({ ok: false, error: 'ratelimited' }), {
        status: 429,
        headers: { 'content-type': 'application/json', 'retry-after': String(wait) },
      });
    const answer = slack.answerInProcess(method, args);
    slackTask.set(slack.calls.length - 1, lambda.task());
    return new Response(JSON.stringify(answer), { status: 200, headers: { 'content-type': 'application/json' } });
  }) as unknown as typeof fetch;

  // --- The bot --------------------------------------------------------------------------------------------------
  const aws = new AwsAccounts({
    region: 'us-east-1',
    accounts: config.policy.accounts,
    clock: vt,
    credentials: { accessKeyId: 'bench', secretAccessKey: 'bench' },
    decorateClient: (client, account) => {
      const service =
        client.constructor.name === 'STSClient' ? 'sts' : client.constructor.name === 'IAMClient' ? 'iam' : undefined;
      if (service) (client.config as { requestHandler: unknown }).requestHandler = iam.handlerFor(account, service);
      // Secrets Manager (the orphaned-secrets sweep): no one-time secret is pending in this company
      else (client.config as { requestHandler: unknown }).requestHandler = emptySecretsManager(vt, lambda, of);
    },
  });
  const WRITES = new Set([
    'PutItemCommand',
    'UpdateItemCommand',
    'DeleteItemCommand',
    'TransactWriteItemsCommand',
    'BatchWriteItemCommand',
  ]);
  const deps = buildDeps(config, {
    createTables: true,
    decorateDynamo: (client) => {
      // DynamoDB (real) through fetch: the SDK's Node handler sets timers of its own around each request, which the
      // virtual clock would hold while the request is in flight
      (client.config as { requestHandler: unknown }).requestHandler = realFetchHandler(vt);
      client.middlewareStack.add(
        (next, context) => async (args) => {
          await lambda.gate();
          const c = of(lambda.task());
          c.dynamo++;
          const write = WRITES.has(String(context.commandName));
          if (write) (args.input as Record<string, unknown>).ReturnConsumedCapacity = 'TOTAL';
          if (process.env.ORG_DEBUG)
            process.stderr.write(`ddb ${String(context.commandName)} ${lambda.task()} start\n`);
          const out = await next(args);
          await vt.sleep(DYNAMO_MS);
          await lambda.gate();
          if (write) {
            const cc = (out.output as { ConsumedCapacity?: unknown }).ConsumedCapacity;
            const list = (Array.isArray(cc) ? cc : cc ? [cc] : []) as { CapacityUnits?: number }[];
            c.wcu += list.reduce((n, x) => n + (x.CapacityUnits ?? 0), 0);
          }
          return out;
        },
        { step: 'initialize', name: 'orgBenchDynamo' },
      );
    },
    overrides: {
      aws,
      clock: vt,
      messenger: new SlackMessenger(web),
      dispatcher: lambda.dispatcher((task) => void task),
    },
  });
  // the functions, as serverless.yml declares them
  lambda.define('worker', {
    timeoutMs: 60_000,
    handler: (event: unknown) => handleWorkerEvent(deps, event),
  });
  lambda.define('schedule', {
    timeoutMs: 300_000,
    handler: (event: unknown) =>
      runScheduledTasks(
        deps,
        tasksFor(event).map((t) => ({ name: t.name, run: (d) => lambda.asTask(t.name, () => t.run(d)) })),
      ),
  });

  // --- Before the day: the projection as the bot had it (one full refresh), then one with nothing changed --------
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
    while (!out) await vt.runUntil(vt.ms() + DAY, progress, () => out !== undefined);
    if ('e' in out) throw out.e;
    return out.v;
  };
  await background(() => deps.preload());
  // The Secrets Manager client is imported on its first use (src/aws/accounts.ts), which takes real time the virtual
  // clock does not see: time jumped over it, and the first schedule (its orphaned-secrets sweep) was killed at 300 s.
  // On Lambda that import takes a fraction of a second of the invocation; here it is done before the day, as real I/O.
  await background(() => vt.real(() => deps.aws.secrets()));
  const realStart = performance.now();
  vt.timer(() => {}, 0);
  const seeded = await background(() => refreshUserProjection(deps));
  const setupSeconds = (performance.now() - realStart) / 1000;
  await vt.runUntil(T0 - 30 * MIN);
  const before = new Map(iam.calls);
  const unchangedCount = of('refresh, nothing changed');
  const unchanged = await background(() => {
    const p = (async () => {
      const c = of('setup');
      const d0 = { dynamo: c.dynamo, wcu: c.wcu };
      const r = await refreshUserProjection(deps);
      unchangedCount.dynamo = c.dynamo - d0.dynamo;
      unchangedCount.wcu = c.wcu - d0.wcu;
      return r;
    })();
    return p;
  });
  const perAccount = accountNames.map((a) => (iam.calls.get(a) ?? 0) - (before.get(a) ?? 0));
  unchangedCount.iam = perAccount.reduce((a, b) => a + b, 0);

  // --- The day --------------------------------------------------------------------------------------------------
  await vt.runUntil(T0);
  const dayStart = performance.now();
  for (let t = T0; t < END; t += 15 * MIN)
    vt.timer(
      () =>
        lambda.invoke(
          'schedule',
          {},
          {
            task: 'schedule (every 15 min)',
            depth: 0,
            label: `frequent of ${new Date(t).toISOString().slice(11, 16)}`,
          },
        ),
      t - vt.ms(),
    );
  for (const at of [T0 + DAILY_AT, T0 + DAY + DAILY_AT])
    vt.timer(
      () =>
        lambda.invoke(
          'schedule',
          { tasks: ['reconcile-owners', 'key-scan'] },
          { task: 'schedule (daily)', depth: 0, label: 'daily' },
        ),
      at - vt.ms(),
    );
  const shuffled = [...owners].sort(() => rand() - 0.5);
  const leavers = shuffled.slice(0, LEAVERS).map((owner, i) => ({
    owner,
    event: i % 2 === 0,
    at: T0 + Math.floor(rand() * LEAVE_WITHIN),
  }));
  const leaverIds = new Set(leavers.map((l) => l.owner));
  for (const l of leavers)
    vt.timer(() => {
      slack.members.deactivate(l.owner);
      if (l.event)
        lambda.invoke('worker', leaverJob(l.owner, 'event', `Ev${l.owner}`), {
          task: 'leaver (user_change event)',
          depth: 1,
          label: `leaver ${l.owner}`,
        });
    }, l.at - vt.ms());
  await vt.runUntil(END, progress);
  const daySeconds = (performance.now() - dayStart) / 1000;

  // --- What happened --------------------------------------------------------------------------------------------
  for (const inv of lambda.invocations) {
    if (inv.task === 'setup') continue;
    const c = of(inv.fn === 'schedule' ? inv.task : inv.task);
    c.invocations++;
    const took = ((inv.end ?? END) - inv.start) / 1000;
    if (took > c.longest) c.longestLabel = inv.label;
    c.longest = Math.max(c.longest, took);
    c.chain = Math.max(c.chain, inv.depth);
  }
  const dayInvocations = lambda.invocations.filter((i) => i.task !== 'setup');
  const longest = dayInvocations.reduce(
    (m, i) => (((i.end ?? END) - i.start) / 1000 > m.s ? { s: ((i.end ?? END) - i.start) / 1000, label: i.label } : m),
    { s: 0, label: '' },
  );
  const chain = Math.max(0, ...dayInvocations.map((i) => i.depth));
  const timeouts = dayInvocations.filter((i) => i.outcome === 'timeout').length;
  const failed = dayInvocations.filter((i) => i.outcome === 'failed').length;

  // owners checked on day 1: listed by users.list or asked with users.info within the owner check
  const dayOneEnd = T0 + DAY;
  const checked = new Set<string>();
  slack.calls.forEach((call, i) => {
    if (call.at >= dayOneEnd || slackTask.get(i) !== 'reconcile-owners') return;
    if (call.method === 'users.list')
      for (const m of (call.answer as { members?: { id: string }[] })?.members ?? []) checked.add(m.id);
    if (call.method === 'users.info' && (call.answer as { ok?: boolean })?.ok) checked.add(String(call.args.user));
  });
  const projectedOwners = owners.filter((o) => usersOf.has(o));
  const ownersChecked = projectedOwners.filter((o) => checked.has(o)).length;

  // due keys at the first key scan (08:00): active, at least remindAfterDays old, owner still in Slack then
  const scanAt = T0 + DAILY_AT;
  const remindAfter = config.policy.keys.remindAfterDays;
  const dmText = new Map<string, string>();
  slack.calls.forEach((call, i) => {
    if (call.method !== 'chat.postMessage' || call.at >= dayOneEnd || slackTask.get(i) !== 'key-scan') return;
    if (!(call.answer as { ok?: boolean })?.ok) return;
    const ch = String(call.args.channel);
    dmText.set(ch, `${dmText.get(ch) ?? ''}\n${String(call.args.text ?? '')}${String(call.args.blocks ?? '')}`);
  });
  let due = 0;
  let reminded = 0;
  for (const [owner, list] of usersOf) {
    const left = leavers.find((l) => l.owner === owner && l.at <= scanAt);
    if (left) continue;
    for (const { user } of list)
      for (const k of user.keys) {
        if (scanAt - k.created < remindAfter * DAY) continue;
        due++;
        if (dmText.get(owner)?.includes(user.name)) reminded++;
      }
  }

  // leavers: from deactivation to the last of their keys disabled
  const leaverTimes = { event: [] as number[], none: [] as number[], missed: { event: 0, none: 0 } };
  for (const l of leavers) {
    const keys = (usersOf.get(l.owner) ?? []).flatMap(({ user }) => user.keys);
    const stillActive = keys.filter((k) => k.status === 'Active').length;
    const last = Math.max(l.at, ...keys.map((k) => k.disabledAt ?? l.at));
    if (stillActive > 0) leaverTimes.missed[l.event ? 'event' : 'none']++;
    else leaverTimes[l.event ? 'event' : 'none'].push(last - l.at);
  }
  void leaverIds;

  // --- The table ------------------------------------------------------------------------------------------------
  const n = (v: number) => v.toLocaleString('en-US');
  const pct = (a: number, b: number) => `${b === 0 ? 100 : ((a / b) * 100).toFixed(1)}%`;
  const mins = (ms: number) => `${(ms / MIN).toFixed(1)} min`;
  const rows: Row[] = [
    {
      metric: 'the company',
      value: `${n(USERS)} IAM users in ${ACCOUNTS} accounts, ${n(projectedOwners.length)} owners, ${n(slack.members.size)} Slack members, ${n([...iam.accounts.values()].reduce((s, a) => s + [...a.users.values()].reduce((t, u) => t + u.keys.length, 0), 0))} access keys; ${leavers.length} leavers (${leavers.filter((l) => l.event).length} with a user_change event)`,
    },
    {
      metric: 'before the day: the first refresh (projection written from IAM)',
      value: `${n(seeded.written ?? 0)} users written (${n(seeded.liveReads ?? 0)} read live), ${n(seeded.iamCalls ?? 0)} IAM calls, ${seeded.failedAccounts ?? 0} accounts failed, ${setupSeconds.toFixed(0)} s real`,
    },
  ];
  const tasks = [...counts.entries()].filter(([t]) => !['setup', 'refresh, nothing changed'].includes(t));
  for (const [task, c] of tasks.sort(([a], [b]) => a.localeCompare(b)))
    rows.push({
      metric: `task ${task}: IAM / DynamoDB / Slack calls; invocations, longest, longest chain`,
      value: `${n(c.iam)} / ${n(c.dynamo)} / ${n(c.slack)}; ${n(c.invocations)}, ${c.longest.toFixed(1)} s${c.longestLabel ? ` (${c.longestLabel})` : ''}, ${c.chain} hops`,
    });
  rows.push(
    {
      metric: 'invocations in all; killed at their timeout; failed; sent to the on-failure queue',
      value: `${n(dayInvocations.length)}; ${timeouts}; ${failed}; ${lambda.onFailure.length}`,
    },
    {
      metric: 'the longest invocation (virtual)',
      value: `${longest.s.toFixed(1)} s (${longest.label})`,
      target: '≤ 45 s',
      met: longest.s <= 45,
    },
    { metric: 'the longest chain of invocations', value: `${chain} hops`, target: '≤ 8 hops', met: chain <= 8 },
    {
      metric: 'owners checked by the day-1 owner check',
      value: `${n(ownersChecked)} of ${n(projectedOwners.length)} (${pct(ownersChecked, projectedOwners.length)})`,
      target: '100%',
      met: ownersChecked === projectedOwners.length,
    },
    {
      metric: `due keys (active, ≥ ${remindAfter} days at the 08:00 scan) whose owner got the DM naming the user`,
      value: `${n(reminded)} of ${n(due)} (${pct(reminded, due)})`,
      target: '100%',
      met: reminded === due,
    },
    {
      metric: `leaver with event: deactivation to last key disabled (worst of ${leavers.filter((l) => l.event).length})`,
      value:
        leaverTimes.missed.event > 0
          ? `${leaverTimes.missed.event} leaver(s) with keys still active at the end`
          : mins(Math.max(0, ...leaverTimes.event)),
      target: '≤ 15 min',
      met: leaverTimes.missed.event === 0 && Math.max(0, ...leaverTimes.event) <= 15 * MIN,
    },
    {
      metric: `leaver without event: deactivation to last key disabled (worst of ${leavers.filter((l) => !l.event).length})`,
      value:
        leaverTimes.missed.none > 0
          ? `${leaverTimes.missed.none} leaver(s) with keys still active at the end`
          : mins(Math.max(0, ...leaverTimes.none)),
      target: '≤ 24 h',
      met: leaverTimes.missed.none === 0 && Math.max(0, ...leaverTimes.none) <= DAY,
    },
    {
      metric: 'DynamoDB write units of the day’s projection refreshes (every item rewritten once a day)',
      value: n(Math.round(of('refresh-user-projection').wcu)),
    },
    {
      metric: 'refresh with nothing changed: IAM calls per account (worst; all accounts), DynamoDB calls, write units',
      value: `${Math.max(...perAccount)}; ${n(unchangedCount.iam)}, ${n(unchangedCount.dynamo)}, ${n(Math.round(unchangedCount.wcu))} (${n(unchanged.written ?? 0)} written, ${n(unchanged.liveReads ?? 0)} read live, ${unchanged.failedAccounts ?? 0} accounts failed)`,
      target: '≤ 10 per account',
      met: Math.max(...perAccount) <= 10,
    },
    {
      metric: 'IAM calls answered Throttling; Slack calls answered 429',
      value: `${n(iam.throttled)}; ${n([...slack.limits.limited.values()].reduce((a, b) => a + b, 0))}`,
    },
    {
      metric: `real time of the simulated day (${(END - T0) / HOUR} virtual hours)`,
      value: `${daySeconds.toFixed(0)} s`,
    },
  );
  return rows;
}
