/**
 * Helpers of the offboarding tests at size (test/integration/offboard-*.test.ts): IAM users owned by a member seeded
 * straight in moto, their keys' statuses, a Slack `user_change` through the real handler, and a worker killed in the
 * middle of a part (one IAM UpdateAccessKey call never answers, as when Lambda times out).
 */
import {
  CreateAccessKeyCommand,
  CreateLoginProfileCommand,
  CreateRoleCommand,
  CreateUserCommand,
  GetLoginProfileCommand,
  type IAMClient,
  ListAccessKeysCommand,
  UpdateAccessKeyCommand,
} from '@aws-sdk/client-iam';
import type { ManualClock } from '../../src/clock.js';
import type { Deps } from '../../src/deps.js';
import type { Job } from '../../src/jobs/types.js';
import { runJob } from '../../src/jobs/worker.js';
import { leaverRequestId } from '../../src/services/kinds/offboard.js';
import type { AccessRequest, OffboardedUser } from '../../src/store/requests.js';
import { startTestBot, type TestBot, type TestBotOptions } from './bot.js';
import { APPROVALS } from './create-user.js';
import { testPolicy } from './policy.js';

export const STAGING_ID = '111111111111';
export const PATH = '/iam-slack-bot/';
export const ACCOUNTS = ['home', 'staging'] as const;

/** The policy's `accounts` of these tests: a named account reached through its role (see createStagingRole). */
export const stagingAccount = { name: 'staging', roleArn: `arn:aws:iam::${STAGING_ID}:role/iam-slack-bot-staging` };

/** The role the bot assumes in the named account (moto: one account, any role that exists may be assumed). */
export async function createStagingRole(bot: TestBot): Promise<void> {
  await bot.deps.aws.account().iam.send(
    new CreateRoleCommand({
      RoleName: 'iam-slack-bot-staging',
      AssumeRolePolicyDocument: JSON.stringify({
        Version: '2012-10-17',
        Statement: [
          { Effect: 'Allow', Principal: { AWS: 'arn:aws:iam::123456789012:root' }, Action: 'sts:AssumeRole' },
        ],
      }),
    }),
  );
}

/**
 * The bot of the offboarding tests: leavers disabled (30 days to Reactivate), users under PATH in home and the named
 * account (its role created), and the runner's part budget of the test (`runner`: `maxStepsPerPart` or
 * `partBudgetSeconds`, configuration values).
 */
export async function startLeaversBot(options: {
  clock: ManualClock;
  runner: Record<string, number>;
  members?: TestBotOptions['members'];
}): Promise<TestBot> {
  const bot = await startTestBot({
    clock: options.clock,
    policy: testPolicy({
      users: { path: PATH },
      leavers: { action: 'disable', exclude: [], recoveryDays: 30 },
      accounts: [stagingAccount],
      runner: options.runner,
    }),
    ...(options.members ? { members: options.members } : {}),
  });
  await createStagingRole(bot);
  return bot;
}

/** What was seeded for one IAM user: the keys active and inactive before the offboarding, and its password. */
export interface Seeded {
  account: string;
  userName: string;
  active: string[];
  inactive: string[];
  console: boolean;
}

const iamOf = (bot: TestBot, account: string): IAMClient => bot.deps.aws.account(account).iam;

/** Runs `work` over `items`, `width` at a time, keeping the order of the results. */
async function inBatches<T, R>(items: T[], width: number, work: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = [];
  for (let at = 0; at < items.length; at += width)
    out.push(...(await Promise.all(items.slice(at, at + width).map(work))));
  return out;
}

/**
 * IAM users owned by `member`, `perAccount` per account, made straight in moto (as before the bot): each with an
 * active key, every third with a second one, inactive before the offboarding for every sixth (Reactivate must leave
 * it so), every tenth with a console password.
 */
export async function seedOwner(bot: TestBot, member: string, prefix: string, perAccount: number): Promise<Seeded[]> {
  const specs = ACCOUNTS.flatMap((account) =>
    Array.from({ length: perAccount }, (_, i) => ({ account, userName: `${prefix}-${account}-${i}`, i })),
  );
  return inBatches(specs, 10, async ({ account, userName, i }): Promise<Seeded> => {
    const iam = iamOf(bot, account);
    await iam.send(
      new CreateUserCommand({ UserName: userName, Path: PATH, Tags: [{ Key: 'slack-user-id', Value: member }] }),
    );
    const key = async () =>
      (await iam.send(new CreateAccessKeyCommand({ UserName: userName }))).AccessKey?.AccessKeyId ?? '';
    const active = [await key()];
    const inactive: string[] = [];
    if (i % 3 === 0) {
      const second = await key();
      if (i % 6 === 0) {
        await iam.send(new UpdateAccessKeyCommand({ UserName: userName, AccessKeyId: second, Status: 'Inactive' }));
        inactive.push(second);
      } else active.push(second);
    }
    const console = i % 10 === 0;
    if (console)
      await iam.send(new CreateLoginProfileCommand({ UserName: userName, Password: `Seeded-${userName}-pw-1!x` }));
    return { account, userName, active, inactive, console };
  });
}

/** Each key of a user with its status, e.g. `{ AKIA…: 'Active' }`. */
export async function keyStatuses(
  bot: TestBot,
  u: Pick<Seeded, 'account' | 'userName'>,
): Promise<Record<string, string>> {
  const out = await iamOf(bot, u.account).send(new ListAccessKeysCommand({ UserName: u.userName }));
  return Object.fromEntries((out.AccessKeyMetadata ?? []).map((k) => [k.AccessKeyId ?? '', k.Status ?? '']));
}

/** Every seeded user's keys with their status, 10 users at a time. */
export async function allKeyStatuses(bot: TestBot, users: Seeded[]): Promise<Record<string, string>> {
  return Object.assign({}, ...(await inBatches(users, 10, (u) => keyStatuses(bot, u))));
}

/** The key statuses after a Reactivate: those active before the offboarding active, those inactive before not. */
export const statusesBefore = (users: Seeded[]): Record<string, string> =>
  Object.fromEntries(
    users.flatMap((u) => [...u.active.map((k) => [k, 'Active']), ...u.inactive.map((k) => [k, 'Inactive'])]),
  );

export const hasConsole = (bot: TestBot, u: Seeded) =>
  iamOf(bot, u.account)
    .send(new GetLoginProfileCommand({ UserName: u.userName }))
    .then(
      () => true,
      () => false,
    );

const byUser = (a: { account: string; userName: string }, b: { account: string; userName: string }) =>
  `${a.account}/${a.userName}`.localeCompare(`${b.account}/${b.userName}`);

/** The records an offboarding of these users must end with: each active key deactivated, each password deleted. */
export const expectedRecords = (users: Seeded[]) =>
  users
    .map((u) => ({
      account: u.account,
      userName: u.userName,
      outcome: 'disabled',
      keys: [...u.active].sort(),
      console: u.console,
    }))
    .sort(byUser);

/** The per-user records as stored (what the report renders and Reactivate restores). */
export const recordsOf = (request: AccessRequest) =>
  (request.offboard?.users ?? [])
    .map((u: OffboardedUser) => ({
      account: u.account,
      userName: u.userName,
      outcome: u.outcome,
      keys: [...u.keys].sort(),
      console: u.console,
    }))
    .sort(byUser);

let eventSeq = 0;
/** Slack tells the bot a member was deactivated (a signed `user_change` through the real handler). */
export async function userDeactivated(bot: TestBot, member: string) {
  const body = JSON.stringify({
    type: 'event_callback',
    team_id: 'T0TEAM',
    api_app_id: 'A0APP',
    token: 'legacy-verification-token',
    event_id: `Ev0SIZE${++eventSeq}`,
    event_time: Math.floor(Date.now() / 1000),
    event: {
      type: 'user_change',
      user: { id: member, team_id: 'T0TEAM', name: member.toLowerCase(), deleted: true },
      cache_ts: Math.floor(Date.now() / 1000),
      event_ts: `${Date.now() / 1000}`,
    },
  });
  return bot.send(body, { contentType: 'application/json' });
}

/** Posts of the member's automatic offboarding report in the approval channel. */
export const reportsOf = (bot: TestBot, member: string) =>
  bot.slack
    .callsOf('chat.postMessage')
    .filter((c) => c.args.channel === APPROVALS && JSON.stringify(c.args).includes(leaverRequestId(member)));

export const offboarding = async (bot: TestBot, member: string) =>
  (await bot.deps.store.requests.get(leaverRequestId(member))) as AccessRequest;

/** Seeds an owner's users, refreshes the projection and marks the member deactivated in Slack. */
export async function prepareLeaver(bot: TestBot, member: string, prefix: string, perAccount: number) {
  const users = await seedOwner(bot, member, prefix, perAccount);
  await bot.schedule(); // the ownership projection
  await bot.drain();
  bot.slack.members.deactivate(member);
  return users;
}

/** Where the worker dies: the first call, from now on, that one of these says yes to never answers. */
export interface KillPoint {
  /** An IAM call (of any account). */
  iam?: (command: unknown) => boolean;
  /** A call of the Slack Web API port (`post`, `update`, ...) with its arguments. */
  messenger?: (method: string, args: unknown[]) => boolean;
  /** A job handed to the worker. */
  dispatch?: (job: Job) => boolean;
}

/**
 * Makes the worker die in the middle of a part: from now on, the first call `at` names never answers, and the
 * invocation it is part of gives no answer (as when Lambda times out); its job stays claimed and its run leased in
 * DynamoDB. What the call would have done never happens. Resolves with that job once it happened. Jobs after it run
 * normally.
 */
export function killWorkerAt(bot: TestBot, at: KillPoint): Promise<Job> {
  let kill: ((job: Job) => void) | undefined;
  const killed = new Promise<Job>((resolve) => {
    kill = resolve;
  });
  let dead = false;
  bot.dispatcher.setRunner((job) => {
    if (dead) return runJob(bot.deps, job);
    let signal: (() => void) | undefined;
    const stopped = new Promise<undefined>((resolve) => {
      signal = () => resolve(undefined);
    });
    /** `target` with its methods `hung(method, args)` says yes to never answering. */
    const hanging = <T extends object>(target: T, hung: (method: string, args: unknown[]) => boolean): T =>
      new Proxy(target, {
        get(t, prop) {
          const value = Reflect.get(t, prop, t);
          if (typeof value !== 'function') return value;
          return (...args: unknown[]) => {
            if (!dead && hung(String(prop), args)) {
              dead = true;
              kill?.(job);
              signal?.();
              return new Promise(() => {}); // never answers
            }
            return Reflect.apply(value, t, args);
          };
        },
      });
    const iamHung = (method: string, args: unknown[]) => method === 'send' && (at.iam?.(args[0]) ?? false);
    const aws = new Proxy(bot.deps.aws, {
      get(target, prop) {
        const value = Reflect.get(target, prop, target);
        if (prop !== 'account') return typeof value === 'function' ? value.bind(target) : value;
        return (name?: string) => {
          const account = target.account(name);
          return new Proxy(account, {
            get(a, p) {
              const v = Reflect.get(a, p, a);
              return p === 'iam' ? hanging(v as IAMClient, iamHung) : v;
            },
          });
        };
      },
    });
    const deps: Deps = {
      ...bot.deps,
      aws,
      messenger: hanging(bot.deps.messenger, (method, args) => at.messenger?.(method, args) ?? false),
      dispatcher: hanging(
        bot.deps.dispatcher,
        (method, args) => method === 'dispatch' && (at.dispatch?.(args[0] as Job) ?? false),
      ),
    };
    // The invocation ends (for the dispatcher) when its job is done or when it died: a dead one never finishes.
    return Promise.race([runJob(deps, job), stopped]);
  });
  return killed;
}

/** Kills the worker at the `n`-th IAM UpdateAccessKey call it makes from now on (see killWorkerAt). */
export function killWorkerAtUpdateAccessKey(bot: TestBot, n: number): Promise<Job> {
  let calls = 0;
  return killWorkerAt(bot, { iam: (command) => command instanceof UpdateAccessKeyCommand && ++calls === n });
}

/** The normal runner again: every job runs as the worker does. */
export const restoreWorker = (bot: TestBot) => bot.dispatcher.setRunner((job) => runJob(bot.deps, job));
