/**
 * An offboarding at size: one owner with 120 IAM users in two accounts (home and a named one, through its assumed
 * role), with the runner's part budget set low in the policy (`runner.maxStepsPerPart`, a configuration value) so
 * that the worker does it in many parts. Then the same with one part killed in the middle (one of its IAM calls
 * never answers and the invocation gives no answer, as when Lambda times out): Lambda's retry of that part, or the
 * 15-minute stall sweep, finishes it with the same end state; Reactivate restores exactly the keys it deactivated.
 * Moto holds the users; the role checker evaluates every AWS call against the role of the function that made it.
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
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OFFBOARD_REACTIVATE } from '../../src/blocks/ids.js';
import { ManualClock } from '../../src/clock.js';
import type { Deps } from '../../src/deps.js';
import { dailyTasks, runScheduledTasks } from '../../src/jobs/schedule.js';
import type { Job } from '../../src/jobs/types.js';
import { runJob } from '../../src/jobs/worker.js';
import { leaverRequestId } from '../../src/services/kinds/offboard.js';
import type { AccessRequest, OffboardedUser } from '../../src/store/requests.js';
import { startTestBot, type TestBot } from '../support/bot.js';
import { APPROVALS, auditActions } from '../support/create-user.js';
import { testPolicy } from '../support/policy.js';

const STAGING_ID = '111111111111';
const PATH = '/iam-slack-bot/';
const USERS_PER_ACCOUNT = 60;
/** Time for one test at this size on a loaded 2-core machine (the worker does about 300 steps per offboarding). */
const LONG = 600_000;
const ACCOUNTS = ['home', 'staging'] as const;
/** The part budget of this test's policy: a few users per part. */
const MAX_STEPS_PER_PART = 25;
const MINUTE = 60_000;

let bot: TestBot;
const clock = new ManualClock(new Date());

beforeAll(async () => {
  bot = await startTestBot({
    clock,
    policy: testPolicy({
      users: { path: PATH },
      leavers: { action: 'disable', exclude: [], recoveryDays: 30 },
      accounts: [{ name: 'staging', roleArn: `arn:aws:iam::${STAGING_ID}:role/iam-slack-bot-staging` }],
      runner: { maxStepsPerPart: MAX_STEPS_PER_PART },
    }),
  });
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
});
afterAll(async () => {
  await bot.stop();
});

/** What was seeded for one IAM user: the keys active and inactive before the offboarding, and its password. */
interface Seeded {
  account: string;
  userName: string;
  active: string[];
  inactive: string[];
  console: boolean;
}

const iamOf = (account: string): IAMClient => bot.deps.aws.account(account).iam;

/**
 * 120 IAM users owned by `member`, 60 per account, made straight in moto (as before the bot), 10 at a time: each
 * with an active key, every third with a second one, inactive before the offboarding for every sixth (Reactivate
 * must leave it so), every tenth with a console password.
 */
async function seedOwner(member: string, prefix: string, perAccount: number): Promise<Seeded[]> {
  const specs = ACCOUNTS.flatMap((account) =>
    Array.from({ length: perAccount }, (_, i) => ({ account, userName: `${prefix}-${account}-${i}`, i })),
  );
  const seeded: Seeded[] = [];
  for (let at = 0; at < specs.length; at += 10)
    seeded.push(
      ...(await Promise.all(
        specs.slice(at, at + 10).map(async ({ account, userName, i }): Promise<Seeded> => {
          const iam = iamOf(account);
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
              await iam.send(
                new UpdateAccessKeyCommand({ UserName: userName, AccessKeyId: second, Status: 'Inactive' }),
              );
              inactive.push(second);
            } else active.push(second);
          }
          const console = i % 10 === 0;
          if (console)
            await iam.send(
              new CreateLoginProfileCommand({ UserName: userName, Password: `Seeded-${userName}-pw-1!x` }),
            );
          return { account, userName, active, inactive, console };
        }),
      )),
    );
  return seeded;
}

/** Each key of a user with its status, e.g. `{ AKIA…: 'Active' }`. */
async function keyStatuses(u: Pick<Seeded, 'account' | 'userName'>): Promise<Record<string, string>> {
  const out = await iamOf(u.account).send(new ListAccessKeysCommand({ UserName: u.userName }));
  return Object.fromEntries((out.AccessKeyMetadata ?? []).map((k) => [k.AccessKeyId ?? '', k.Status ?? '']));
}

/** Every seeded user's keys with their status, 10 users at a time. */
async function allKeyStatuses(users: Seeded[]): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (let at = 0; at < users.length; at += 10)
    for (const statuses of await Promise.all(users.slice(at, at + 10).map(keyStatuses))) Object.assign(out, statuses);
  return out;
}

const hasConsole = (u: Seeded) =>
  iamOf(u.account)
    .send(new GetLoginProfileCommand({ UserName: u.userName }))
    .then(
      () => true,
      () => false,
    );

/** The records an offboarding of these users must end with: each active key deactivated, each password deleted. */
const expectedRecords = (users: Seeded[]) =>
  users
    .map((u) => ({
      account: u.account,
      userName: u.userName,
      outcome: 'disabled',
      keys: [...u.active].sort(),
      console: u.console,
    }))
    .sort((a, b) => `${a.account}/${a.userName}`.localeCompare(`${b.account}/${b.userName}`));

/** The per-user records as stored (what the report renders and Reactivate restores). */
const recordsOf = (request: AccessRequest) =>
  (request.offboard?.users ?? [])
    .map((u: OffboardedUser) => ({
      account: u.account,
      userName: u.userName,
      outcome: u.outcome,
      keys: [...u.keys].sort(),
      console: u.console,
    }))
    .sort((a, b) => `${a.account}/${a.userName}`.localeCompare(`${b.account}/${b.userName}`));

let eventSeq = 0;
/** Slack tells the bot a member was deactivated (a signed `user_change` through the real handler). */
async function userDeactivated(member: string) {
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
const reportsOf = (member: string) =>
  bot.slack
    .callsOf('chat.postMessage')
    .filter((c) => c.args.channel === APPROVALS && JSON.stringify(c.args).includes(leaverRequestId(member)));

const offboarding = async (member: string) =>
  (await bot.deps.store.requests.get(leaverRequestId(member))) as AccessRequest;

/** Seeds an owner's users, refreshes the projection and marks the member deactivated in Slack. */
async function prepareLeaver(member: string, prefix: string, perAccount = USERS_PER_ACCOUNT): Promise<Seeded[]> {
  const users = await seedOwner(member, prefix, perAccount);
  await bot.schedule(); // the ownership projection
  await bot.drain();
  bot.slack.members.set(member, 'deleted');
  return users;
}

/**
 * Makes the worker die in the middle of a part: from now on, the `n`-th IAM UpdateAccessKey call the worker makes
 * never answers, and the invocation it is part of gives no answer (as when Lambda times out); its job stays claimed
 * and its run leased in DynamoDB. Resolves with that job once it happened. Jobs after it run normally.
 */
function killWorkerAtUpdateAccessKey(n: number): Promise<Job> {
  let calls = 0;
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
    const hanging = (client: IAMClient): IAMClient =>
      new Proxy(client, {
        get(target, prop) {
          if (prop !== 'send') {
            const value = Reflect.get(target, prop, target);
            return typeof value === 'function' ? value.bind(target) : value;
          }
          return (command: unknown, ...rest: unknown[]) => {
            if (!dead && command instanceof UpdateAccessKeyCommand && ++calls === n) {
              dead = true;
              kill?.(job);
              signal?.();
              return new Promise(() => {}); // never answers
            }
            return Reflect.apply(target.send, target, [command, ...rest]);
          };
        },
      });
    const aws = new Proxy(bot.deps.aws, {
      get(target, prop) {
        if (prop !== 'account') {
          const value = Reflect.get(target, prop, target);
          return typeof value === 'function' ? value.bind(target) : value;
        }
        return (name?: string) => {
          const account = target.account(name);
          return new Proxy(account, {
            get(a, p) {
              const value = Reflect.get(a, p, a);
              return p === 'iam' ? hanging(value as IAMClient) : value;
            },
          });
        };
      },
    });
    const deps: Deps = { ...bot.deps, aws };
    // The invocation ends (for the dispatcher) when its job is done or when it died: a dead one never finishes.
    return Promise.race([runJob(deps, job), stopped]);
  });
  return killed;
}

/** The normal runner again: every job runs as the worker does. */
const restoreWorker = () => bot.dispatcher.setRunner((job) => runJob(bot.deps, job));

describe('an offboarding of one owner with 120 IAM users in two accounts', () => {
  const member = 'U0BIGOWNER1';
  let users: Seeded[];

  beforeAll(async () => {
    users = await prepareLeaver(member, 'big');
  }, LONG);

  it(
    'deactivates every key in many parts of the worker, records each user, and posts one report',
    async () => {
      await userDeactivated(member);
      await bot.drain();

      const statuses = await allKeyStatuses(users);
      const request = await offboarding(member);
      expect(Object.values(statuses).filter((s) => s !== 'Inactive')).toEqual([]);
      expect(Object.keys(statuses)).toHaveLength(users.reduce((n, u) => n + u.active.length + u.inactive.length, 0));
      expect(request.status).toBe('done');
      expect(recordsOf(request)).toEqual(expectedRecords(users));
      expect(reportsOf(member)).toHaveLength(1);
      expect(request.message).toBeDefined();
      // many parts, each handed to the next once
      const actions = await auditActions(bot, request.id);
      expect(request.run?.part).toBeGreaterThan(5);
      expect(actions.filter((a) => a === 'run-continued')).toHaveLength((request.run?.part ?? 0) - 1);
      expect(actions.filter((a) => a === 'offboarded')).toHaveLength(1);
      for (const u of users.filter((x) => x.console)) expect(await hasConsole(u), u.userName).toBe(false);
    },
    LONG,
  );
});

describe('an offboarding of 120 IAM users whose worker is killed in the middle of a part', () => {
  const member = 'U0BIGOWNER2';
  let users: Seeded[];
  let killedJob: Job;

  beforeAll(async () => {
    users = await prepareLeaver(member, 'cut');
  }, LONG);
  afterAll(restoreWorker);

  it(
    'finishes with the same end state once Lambda retries the killed part',
    async () => {
      const killed = killWorkerAtUpdateAccessKey(100); // well past the first parts (about 150 keys in all)

      await userDeactivated(member);
      await bot.drain();
      killedJob = await killed;
      const during = await offboarding(member);
      const activeWhileDead = Object.values(await allKeyStatuses(users)).filter((s) => s === 'Active').length;
      restoreWorker();
      clock.advance(2 * MINUTE); // the invocation timed out; Lambda retries it a minute later: both leases are over
      await bot.runJob(killedJob);
      await bot.drain();

      const statuses = await allKeyStatuses(users);
      const request = await offboarding(member);
      expect(during.status).toBe('provisioning');
      expect(activeWhileDead).toBeGreaterThan(0);
      expect(Object.values(statuses).filter((s) => s !== 'Inactive')).toEqual([]);
      expect(request.status).toBe('done');
      expect(recordsOf(request)).toEqual(expectedRecords(users));
      expect(reportsOf(member)).toHaveLength(1);
      expect(killedJob.type).toBe('run-part'); // a continuation part was the one killed
      expect(Number(killedJob.payload.part)).toBeGreaterThan(1);
    },
    LONG,
  );

  it(
    'Reactivate on the report restores exactly the keys the offboarding deactivated',
    async () => {
      const request = await offboarding(member);

      const { result } = await bot.clickButton({
        userId: 'U0APPROVER1',
        actionId: OFFBOARD_REACTIVATE,
        value: request.id,
        blockId: `offboard_actions_${request.id}`,
        ...(request.message ? { message: request.message } : {}),
      });
      await bot.drain();

      const statuses = await allKeyStatuses(users);
      expect(result.statusCode).toBe(200);
      expect(statuses).toEqual(
        Object.fromEntries(
          users.flatMap((u) => [
            ...u.active.map((k) => [k, 'Active']),
            ...u.inactive.map((k) => [k, 'Inactive']), // inactive before the offboarding: stays so
          ]),
        ),
      );
      expect((await offboarding(member)).offboard?.reactivation?.phase).toBe('reactivated');
    },
    LONG,
  );
});

describe('an offboarding (20 IAM users in two accounts) whose killed part Lambda never retries', () => {
  const member = 'U0BIGOWNER3';
  let users: Seeded[];

  beforeAll(async () => {
    users = await prepareLeaver(member, 'lost', 10); // the 120-user runs above cover the size
  }, LONG);
  afterAll(restoreWorker);

  it(
    'is finished by the 15-minute stall sweep from its checkpoint, not failed',
    async () => {
      const killed = killWorkerAtUpdateAccessKey(12);
      await userDeactivated(member);
      await bot.drain();
      await killed;
      restoreWorker();

      clock.advance(16 * MINUTE);
      const swept = await bot.schedule();
      await bot.drain();

      const request = await offboarding(member);
      expect(swept['resume-stalled-runs']).toEqual({ resumed: 1, failed: 0 });
      expect(swept['fail-stalled-provisioning']).toEqual({ stalled: 0 });
      expect(Object.values(await allKeyStatuses(users)).filter((s) => s !== 'Inactive')).toEqual([]);
      expect(request.status).toBe('done');
      expect(recordsOf(request)).toEqual(expectedRecords(users));
      expect(reportsOf(member)).toHaveLength(1);
      expect(await auditActions(bot, request.id)).toContain('run-resumed');
    },
    LONG,
  );
});

describe('an offboarding (10 IAM users in two accounts) whose killed part nothing retries', () => {
  const member = 'U0BIGOWNER4';
  let users: Seeded[];

  beforeAll(async () => {
    users = await prepareLeaver(member, 'day', 5);
  }, LONG);
  afterAll(restoreWorker);

  it(
    'is resumed from its checkpoint by the daily check of owners, before the stall sweep would',
    async () => {
      const killed = killWorkerAtUpdateAccessKey(4);
      await userDeactivated(member);
      await bot.drain();
      await killed;
      restoreWorker();

      clock.advance(2 * MINUTE); // the lease is over, the stall time is not
      const daily = await bot.as('schedule', () => runScheduledTasks(bot.deps, dailyTasks));
      await bot.drain();

      const request = await offboarding(member);
      expect(Object.values(await allKeyStatuses(users)).filter((s) => s !== 'Inactive')).toEqual([]);
      expect(request.status).toBe('done');
      expect(recordsOf(request)).toEqual(expectedRecords(users));
      expect(reportsOf(member)).toHaveLength(1);
      expect(daily['reconcile-owners']).toMatchObject({ resumed: 1 });
    },
    LONG,
  );
});
