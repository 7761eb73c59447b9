/**
 * DynamoDB's TTL deletes an item some time after its `ttl` (within days); DynamoDB Local, like moto, never does.
 * Here `expireItems` (test/support/dynamo-controls.ts) deletes every item of the bot whose `ttl` is past on the test
 * clock, in the middle of a key rotation and of an offboarding, and the flows still end as README describes them.
 * Written against README's behaviour, not the rotation's internals. Signed requests, moto, DynamoDB Local, the
 * recording fake Slack, the injected clock and the role checker.
 */
import { CreateAccessKeyCommand, CreateUserCommand, type IAMClient, ListAccessKeysCommand } from '@aws-sdk/client-iam';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OFFBOARD_REACTIVATE } from '../../src/blocks/ids.js';
import { DAY } from '../../src/clock.js';
import { dailyTasks, runScheduledTasks } from '../../src/jobs/schedule.js';
import { leaverRequestId } from '../../src/services/kinds/offboard.js';
import type { AccessRequest } from '../../src/store/requests.js';
import { startTestBot, type TestBot } from '../support/bot.js';
import { linkSentTo, requestPage } from '../support/credentials.js';
import { expireItems } from '../support/dynamo-controls.js';
import { testPolicy } from '../support/policy.js';

const GRACE_DAYS = 40; // longer than a link item lives after its expiry (30 days), so TTL may take it mid-rotation
let bot: TestBot;
let iam: IAMClient;
beforeAll(async () => {
  bot = await startTestBot({
    policy: testPolicy({
      keys: { rotationGraceDays: GRACE_DAYS, recoveryDays: 7 },
      leavers: { action: 'disable', recoveryDays: 60 },
    }),
    members: ['U0TTLOWNER'],
  });
  iam = bot.deps.aws.account().iam;
});
afterAll(async () => {
  await bot.stop();
});

async function userWithKeys(name: string, owner: string, keys = 1): Promise<string[]> {
  await iam.send(
    new CreateUserCommand({ UserName: name, Path: '/iam-slack-bot/', Tags: [{ Key: 'slack-user-id', Value: owner }] }),
  );
  const ids: string[] = [];
  for (let i = 0; i < keys; i++)
    ids.push((await iam.send(new CreateAccessKeyCommand({ UserName: name }))).AccessKey?.AccessKeyId ?? '');
  return ids;
}

async function keysOf(name: string): Promise<Record<string, string>> {
  const out = await iam.send(new ListAccessKeysCommand({ UserName: name }));
  return Object.fromEntries((out.AccessKeyMetadata ?? []).map((k) => [k.AccessKeyId ?? '', k.Status ?? '']));
}

/** Days pass: the frequent scheduled tasks run every day, as EventBridge runs them (and the jobs they hand over). */
async function daysPass(days: number) {
  for (let d = 0; d < days; d++) {
    bot.clock.advance(DAY);
    await bot.schedule();
    await bot.drain();
  }
}

describe('a key rotation whose link items TTL deleted mid-flight', () => {
  it('still deactivates the old key after the grace period and deletes it after the recovery period; the new key stays', async () => {
    const [oldKey] = await userWithKeys('ttl-rotated', 'U0TTLOWNER');
    await bot.schedule(); // the ownership projection
    await bot.drain(); // the projection refresh parts it hands the worker

    const { result } = await bot.command('rotate-key ttl-rotated', 'U0TTLOWNER');
    await bot.drain();
    expect(result.statusCode).toBe(200);
    const page = await requestPage(bot, 'POST', linkSentTo(bot, 'U0TTLOWNER').token);
    expect(page.statusCode).toBe(200); // the owner opened the link
    const newKey = Object.keys(await keysOf('ttl-rotated')).find((k) => k !== oldKey) ?? '';
    expect(newKey).not.toBe('');

    await daysPass(35); // past the link's expiry and its 30 days of keeping
    const gone = await expireItems(bot);
    expect(gone.filter((g) => g.table === 'links').length).toBeGreaterThan(0); // the link's items went
    await daysPass(GRACE_DAYS - 35 + 1); // the grace period ends

    expect(await keysOf('ttl-rotated')).toEqual({ [oldKey as string]: 'Inactive', [newKey]: 'Active' });
    await expireItems(bot);
    await daysPass(8); // the recovery period ends
    expect(await keysOf('ttl-rotated')).toEqual({ [newKey]: 'Active' });
  }, 120_000);
});

describe('an offboarding whose expired items TTL deleted mid-flight', () => {
  it('still reactivates exactly what it disabled when an approver clicks Reactivate within the recovery period, once', async () => {
    const member = 'U0TTLLEAVER';
    bot.slack.members.add(member);
    const keys = await userWithKeys('ttl-leaver-app', member, 2);
    await bot.schedule();
    await bot.drain(); // the projection refresh parts it hands the worker
    bot.slack.members.deactivate(member);

    await bot.as('schedule', () => runScheduledTasks(bot.deps, dailyTasks)); // the daily check of owners
    await bot.drain();
    expect(Object.values(await keysOf('ttl-leaver-app'))).toEqual(['Inactive', 'Inactive']);
    const id = leaverRequestId(member);

    await daysPass(35); // past every job item's 30 days (its claim, the daily check's)
    await expireItems(bot);
    await bot.as('schedule', () => runScheduledTasks(bot.deps, dailyTasks)); // the daily check again: not twice
    await bot.drain();
    const request = (await bot.deps.store.requests.get(id)) as AccessRequest;
    expect(request, 'the offboarding outlives the TTL of its jobs').toBeDefined();
    await bot.clickButton({
      userId: 'U0APPROVER1',
      actionId: OFFBOARD_REACTIVATE,
      value: request.id,
      blockId: `offboard_actions_${request.id}`,
      ...(request.message ? { message: request.message } : {}),
    });
    await bot.drain();

    expect(await keysOf('ttl-leaver-app')).toEqual(Object.fromEntries(keys.map((k) => [k, 'Active'])));
    const reports = bot.slack
      .callsOf('chat.postMessage')
      .filter((c) => c.args.channel === 'C0APPROVALS' && JSON.stringify(c.args).includes(id));
    expect(reports).toHaveLength(1);
  }, 120_000);
});
