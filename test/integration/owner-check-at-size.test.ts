/**
 * The daily check of owners at 2,000 owners, with Slack's rate limits as the strict stand-in applies them and the
 * default budgets: every owner is answered for in one day's run, and an owner deactivated without any event is
 * offboarded that day. The 1,999 other owners are projection items written straight to DynamoDB (their IAM users
 * would take minutes to make in moto and are not read by the check); the leaver's IAM user is real.
 */
import { CreateAccessKeyCommand, CreateUserCommand, ListAccessKeysCommand } from '@aws-sdk/client-iam';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { DAY, ManualClock } from '../../src/clock.js';
import { dailyTasks, runScheduledTasks } from '../../src/jobs/schedule.js';
import { leaverRequestId } from '../../src/services/kinds/offboard.js';
import { startTestBot, type TestBot } from '../support/bot.js';
import { testPolicy } from '../support/policy.js';

const OWNERS = 2_000;
const PATH = '/iam-slack-bot/';
const LEAVER = 'U0ZZLEAVER';
let bot: TestBot;
const clock = new ManualClock(new Date());

beforeAll(async () => {
  bot = await startTestBot({
    clock,
    policy: testPolicy({ users: { path: PATH }, leavers: { action: 'disable', exclude: [], recoveryDays: 30 } }),
  });
  const iam = bot.deps.aws.account().iam;
  // the leaver's user sorts last of the account ('zz-'): the old check (300 users.info a run) never reached it
  await iam.send(
    new CreateUserCommand({ UserName: 'zz-leaver', Path: PATH, Tags: [{ Key: 'slack-user-id', Value: LEAVER }] }),
  );
  await iam.send(new CreateAccessKeyCommand({ UserName: 'zz-leaver' }));
  bot.slack.members.add(LEAVER);
  await bot.schedule(); // the projection of the leaver's user
  await bot.drain(); // the projection refresh parts it hands the worker
  const now = clock.now().toISOString();
  const others = Array.from({ length: OWNERS - 1 }, (_, i) => `U0OWN${String(i).padStart(5, '0')}`);
  bot.slack.members.add(...others);
  let next = 0;
  await bot.as('worker', () =>
    Promise.all(
      Array.from({ length: 8 }, async () => {
        while (next < others.length) {
          const owner = others[next++] as string;
          await bot.deps.store.users.put({
            account: 'home',
            userName: `u-${owner.toLowerCase()}`,
            path: PATH,
            owner,
            groups: [],
            console: false,
            keys: [],
            keysObservedAt: now,
            refreshedAt: now,
          });
        }
      }),
    ),
  );
}, 300_000);
afterAll(async () => {
  await bot.stop();
});

it('checks every one of 2,000 owners in one day within Slack rate limits, and offboards the one deactivated that day', async () => {
  // Prepare: the leaver deactivated without any event
  bot.slack.members.deactivate(LEAVER);
  bot.slack.clear();
  bot.slack.limits.limited.clear();

  // Act: one day's reconcile, and every part it hands over
  clock.advance(DAY);
  const reconcile = dailyTasks.filter((t) => t.name === 'reconcile-owners');
  await bot.as('schedule', () => runScheduledTasks(bot.deps, reconcile));
  await bot.drain();

  // Assess: the walk listed every owner, no call was refused for Slack's rate limits, the leaver is offboarded
  const pages = bot.slack.callsOf('users.list');
  const listed = new Set(pages.flatMap((c) => ((c.answer?.members ?? []) as { id: string }[]).map((m) => m.id)));
  const owners = new Set((await bot.deps.store.users.ofAccount('home')).map((u) => u.owner));
  expect(owners.size).toBe(OWNERS);
  expect([...owners].filter((o) => !listed.has(o as string))).toEqual([]);
  expect(pages).toHaveLength(Math.ceil(bot.slack.members.size / 200));
  expect(bot.slack.callsOf('users.info').map((c) => c.args.user)).toEqual([LEAVER]); // its fresh check
  expect(bot.slack.limits.limited.size).toBe(0);
  const keys = await bot.deps.aws.account().iam.send(new ListAccessKeysCommand({ UserName: 'zz-leaver' }));
  expect(keys.AccessKeyMetadata?.map((k) => k.Status)).toEqual(['Inactive']);
  expect((await bot.deps.store.requests.get(leaverRequestId(LEAVER)))?.offboard?.trigger).toBe('scan');
}, 120_000);
