/**
 * The projection refresh as fan-out (issue 20): the frequent schedule refreshes no account itself, it hands one
 * `refresh-projection` part per group of accounts (PROJECTION_ACCOUNTS_PER_PART, 10 by default: here home and
 * staging in one) to the worker, which takes them in turn; a part that reaches its budget (here a small one by
 * configuration: PROJECTION_USERS_PER_PART users that cost a call or a write, in the whole part) hands the rest of
 * the account it was in to a continuation of its own and the accounts it did not start to another, at most
 * PROJECTION_MAX_PARTS hops in all; a part killed midway is retried by Lambda to the same end.
 * Real moto (home and a named account), the real worker and its job claims, Lambda's two retries modelled by the
 * in-process dispatcher with the failed-jobs queue.
 */
import { CreateAccessKeyCommand, CreateRoleCommand, CreateUserCommand, type IAMClient } from '@aws-sdk/client-iam';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { scheduledTasks } from '../../src/jobs/schedule.js';
import type { Job } from '../../src/jobs/types.js';
import { startTestBot, type TestBot } from '../support/bot.js';
import { testPolicy } from '../support/policy.js';

const STAGING_ID = '111111111111';
const PATH = '/iam-slack-bot/';
let bot: TestBot;
const keyIds: Record<string, string> = {};
/** Every job handed to the worker, in order. */
const dispatched: Job[] = [];
/** The users-table writes of a user's projection (UpdateItem), by `account/userName`. */
const writes: string[] = [];
/** Armed by a test: kills the worker's invocation just after this many more users-table writes (see below). */
let killAfterWrites: number | undefined;

class Killed extends Error {
  override name = 'InvocationKilled';
}

const refreshTask = scheduledTasks.filter((t) => t.name === 'refresh-user-projection');

async function seed(account: string, names: string[]) {
  const iam: IAMClient = bot.deps.aws.account(account).iam;
  for (const name of names) {
    await iam.send(
      new CreateUserCommand({ UserName: name, Path: PATH, Tags: [{ Key: 'slack-user-id', Value: 'U0ALICE' }] }),
    );
    const key = await iam.send(new CreateAccessKeyCommand({ UserName: name }));
    keyIds[name] = key.AccessKey?.AccessKeyId ?? '';
  }
}

/** The refresh parts handed to the worker since `from`, as `account+account…#part`. */
const partsSince = (from: number) =>
  dispatched
    .slice(from)
    .filter((j) => j.type === 'refresh-projection')
    .map((j) => `${(j.payload.accounts as string[] | undefined)?.join('+') ?? j.payload.account}#${j.payload.part}`)
    .sort();

beforeAll(async () => {
  bot = await startTestBot({
    policy: testPolicy({
      accounts: [{ name: 'staging', roleArn: `arn:aws:iam::${STAGING_ID}:role/iam-slack-bot-staging` }],
    }),
    env: { PROJECTION_USERS_PER_PART: '2', PROJECTION_MAX_PARTS: '3' },
    failedJobsQueue: true,
    decorateClient: (client) => {
      (client as IAMClient).middlewareStack.add(
        (next, context) => async (args) => {
          const out = await next(args);
          const input = args.input as { TableName?: string; Key?: { pk?: { S?: string }; sk?: { S?: string } } };
          if (context.commandName === 'UpdateItemCommand' && input.TableName?.endsWith('users')) {
            writes.push(`${input.Key?.pk?.S ?? ''}|${input.Key?.sk?.S ?? ''}`);
            // "Killed" just after the write: as when Lambda's timeout ends the invocation there; the job's claim
            // is left failed (here, by the error) and Lambda runs the same event again.
            if (killAfterWrites !== undefined && --killAfterWrites === 0) {
              killAfterWrites = undefined;
              throw new Killed('the invocation was killed just after this write');
            }
          }
          return out;
        },
        { step: 'initialize', name: 'usersWritesAndKill' },
      );
    },
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
  const dispatch = bot.dispatcher.dispatch.bind(bot.dispatcher);
  bot.dispatcher.dispatch = async (job) => {
    dispatched.push(job);
    return dispatch(job);
  };
});
afterAll(async () => {
  await bot.stop();
});

/** Each user's write count among `writes` since `from`. */
const writesOf = (from: number, names: string[]) =>
  Object.fromEntries(names.map((n) => [n, writes.slice(from).filter((w) => w.includes(n)).length]));

describe('the frequent schedule’s projection refresh', () => {
  it('hands one part per group of accounts to the worker, which splits an account at its budget, and writes each user once', async () => {
    // Prepare: 5 users in home, 3 in staging; a part's budget is 2 users that cost a call or a write.
    const home = ['fan-h0', 'fan-h1', 'fan-h2', 'fan-h3', 'fan-h4'];
    const staging = ['fan-s0', 'fan-s1', 'fan-s2'];
    await seed('home', home);
    await seed('staging', staging);
    const fromJobs = dispatched.length;
    const fromWrites = writes.length;
    const fromCalls = bot.awsCalls.length;

    // Act
    const results = await bot.schedule(refreshTask);
    const scheduleCalls = bot.awsCalls.slice(fromCalls);
    await bot.drain();

    // Assess: the schedule itself made no IAM call; home in 3 parts (2, 2, 1 users); staging, not started by the
    // first part (its 2 users were home's), in 2 more of its own (2, 1).
    expect(results['refresh-user-projection']).toEqual({ dispatched: 1 });
    expect(scheduleCalls.filter((c) => c.startsWith('iam:'))).toEqual([]);
    expect(partsSince(fromJobs)).toEqual(['home#2', 'home#3', 'home+staging#1', 'staging#2', 'staging#3']);
    expect(writesOf(fromWrites, [...home, ...staging])).toEqual(
      Object.fromEntries([...home, ...staging].map((n) => [n, 1])),
    );
    for (const [account, names] of [
      ['home', home],
      ['staging', staging],
    ] as const)
      for (const n of names)
        expect(
          (await bot.deps.store.users.get(account, n))?.keys.map((k) => k.id),
          `${account} ${n}`,
        ).toEqual([keyIds[n]]);
  });

  it('never chains more than PROJECTION_MAX_PARTS parts: the rest is refreshed by the next schedule, alone', async () => {
    // Prepare: 8 new users in home, whose 5 known users cost nothing: 3 parts of 2 leave 2 new users.
    const fresh = Array.from({ length: 8 }, (_, i) => `fan-more-${i}`);
    await seed('home', fresh);
    const fromJobs = dispatched.length;
    const fromWrites = writes.length;

    // Act
    await bot.schedule(refreshTask);
    await bot.drain();
    const firstParts = partsSince(fromJobs);
    const projected = await Promise.all(fresh.map((n) => bot.deps.store.users.get('home', n)));
    bot.clock.advance(15 * 60_000);
    const fromNext = dispatched.length;
    await bot.schedule(refreshTask);
    await bot.drain();

    // Assess
    expect(firstParts).toEqual(['home#2', 'home#3', 'home+staging#1', 'staging#2']);
    expect(projected.filter((u) => u === undefined)).toHaveLength(2);
    // home's last 2 users use the first part's count: staging (nothing changed) goes on in a part of its own
    expect(partsSince(fromNext)).toEqual(['home+staging#1', 'staging#2']);
    expect(writesOf(fromWrites, fresh)).toEqual(Object.fromEntries(fresh.map((n) => [n, 1])));
    for (const n of fresh) expect((await bot.deps.store.users.get('home', n))?.keys[0]?.id).toBe(keyIds[n]);
  });

  it('ends a part killed midway, retried by Lambda, as an uninterrupted one: every user projected, nothing failed', async () => {
    // Prepare: 5 new users in staging (parts of 2); the first part is killed just after its first user's write.
    const fresh = Array.from({ length: 5 }, (_, i) => `fan-kill-${i}`);
    await seed('staging', fresh);
    bot.clock.advance(15 * 60_000);
    const fromJobs = dispatched.length;
    const fromWrites = writes.length;
    killAfterWrites = 1;

    // Act
    await bot.schedule(refreshTask);
    await bot.drain();

    // Assess: the kill happened; the retry went on from what was written (the user written before the kill is not
    // written again) and handed on the rest once; every user projected with its key; nothing for the failed-jobs
    // queue.
    expect(killAfterWrites).toBeUndefined();
    const parts = partsSince(fromJobs);
    expect(parts.filter((p) => p.includes('staging'))).toEqual(['home+staging#1', 'staging#2']);
    const first = dispatched.slice(fromJobs).find((j) => j.type === 'refresh-projection' && j.payload.part === 1);
    expect(await bot.deps.store.jobs.model.get({ id: first?.id ?? '' })).toMatchObject({
      status: 'done',
      attempts: 2,
    });
    expect(writesOf(fromWrites, fresh)).toEqual(Object.fromEntries(fresh.map((n) => [n, 1])));
    for (const n of fresh) expect((await bot.deps.store.users.get('staging', n))?.keys[0]?.id).toBe(keyIds[n]);
    expect(await bot.deliverFailedJobs()).toBe(0);
  });

  it('takes several small accounts in turn in one part: one invocation refreshes them all', async () => {
    // Prepare: one new user in each account, within one part's budget (2 users that cost a call or a write)
    await seed('home', ['fan-small-h']);
    await seed('staging', ['fan-small-s']);
    bot.clock.advance(15 * 60_000);
    const fromJobs = dispatched.length;
    const fromWrites = writes.length;

    // Act
    const results = await bot.schedule(refreshTask);
    await bot.drain();

    // Assess: one part for both accounts, each new user written once with its key
    expect(results['refresh-user-projection']).toEqual({ dispatched: 1 });
    expect(partsSince(fromJobs)).toEqual(['home+staging#1']);
    expect(writesOf(fromWrites, ['fan-small-h', 'fan-small-s'])).toEqual({ 'fan-small-h': 1, 'fan-small-s': 1 });
    expect((await bot.deps.store.users.get('home', 'fan-small-h'))?.keys[0]?.id).toBe(keyIds['fan-small-h']);
    expect((await bot.deps.store.users.get('staging', 'fan-small-s'))?.keys[0]?.id).toBe(keyIds['fan-small-s']);
  });
});
