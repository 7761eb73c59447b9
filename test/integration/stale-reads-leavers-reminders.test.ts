/**
 * Leavers and key reminders on a DynamoDB that answers every eventually consistent GetItem with the item as it was
 * before its last write (test/support/stale-dynamo.ts), as real DynamoDB may for a moment and moto never does. Every
 * read that decides a state change here (the offboarding's one-per-member record, Reactivate's phase, the ladder's
 * claims) must be consistent or conditional, or a repeat acts twice.
 */
import { CreateAccessKeyCommand, ListAccessKeysCommand, UpdateAccessKeyCommand } from '@aws-sdk/client-iam';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OFFBOARD_REACTIVATE } from '../../src/blocks/ids.js';
import { DAY, HOUR } from '../../src/clock.js';
import { runKeyScan } from '../../src/jobs/key-scan.js';
import { leaverRequestId } from '../../src/services/kinds/offboard.js';
import type { AccessRequest } from '../../src/store/requests.js';
import { startTestBot, type TestBot } from '../support/bot.js';
import { existingUser } from '../support/changes.js';
import { APPROVALS, dmsTo, repliesTo } from '../support/create-user.js';
import { type StaleReads, staleReads } from '../support/stale-dynamo.js';

let bot: TestBot;
let stale: StaleReads;
beforeAll(async () => {
  stale = staleReads();
  // U0STALEOWNER: the owner a key reminder goes to (Slack's users.info knows no one unregistered)
  bot = await startTestBot({ decorateDynamo: (client) => stale.decorate(client), members: ['U0STALEOWNER'] });
});
afterAll(async () => {
  await bot.stop();
});

const iam = () => bot.deps.aws.account().iam;
async function userWithKey(userName: string, owner: string): Promise<string> {
  await existingUser(bot, userName, { owner });
  const made = await iam().send(new CreateAccessKeyCommand({ UserName: userName }));
  return made.AccessKey?.AccessKeyId ?? '';
}
const statuses = async (userName: string) =>
  ((await iam().send(new ListAccessKeysCommand({ UserName: userName }))).AccessKeyMetadata ?? []).map((k) => k.Status);

let seq = 0;
/** A signed `user_change` as Slack sends it, through the real handler; the worker's jobs drained. */
async function userChange(member: string) {
  const now = Math.floor(Date.now() / 1000);
  const result = await bot.send(
    JSON.stringify({
      type: 'event_callback',
      team_id: 'T0TEAM',
      api_app_id: 'A0APP',
      event_id: `Ev0STALE${++seq}`,
      event_time: now,
      event: { type: 'user_change', user: { id: member, team_id: 'T0TEAM', deleted: true }, event_ts: `${now}` },
    }),
    { contentType: 'application/json' },
  );
  expect(result.statusCode).toBe(200);
  await bot.drain();
}
const reportsOf = (member: string) =>
  bot.slack
    .callsOf('chat.postMessage')
    .filter((c) => c.args.channel === APPROVALS && JSON.stringify(c.args).includes(leaverRequestId(member)));

describe('with stale eventually consistent reads', () => {
  it('a leaver’s event repeated at once is handled once: one report, and the keys stay as the first left them', async () => {
    await userWithKey('stale-leaver-app', 'U0STALELEAVER');
    await bot.schedule(); // the ownership projection
    await bot.drain(); // the projection refresh parts it hands the worker
    bot.slack.members.deactivate('U0STALELEAVER');

    await userChange('U0STALELEAVER');
    await userChange('U0STALELEAVER');

    expect(await statuses('stale-leaver-app')).toEqual(['Inactive']);
    expect(reportsOf('U0STALELEAVER')).toHaveLength(1);
    // This flow's eventually consistent reads of the projection are Queries of an owner's partition since issue 20
    // (the App Home's list of the leaver's users), which test/support/stale-dynamo.ts does not answer stale (GetItem
    // only): it no longer checks that the store answered stale meanwhile. Its decisive reads are consistent.
  });

  it('Reactivate clicked by two approvers one after the other restores once; the second is told', async () => {
    const request = (await bot.deps.store.requests.get(leaverRequestId('U0STALELEAVER'))) as AccessRequest;
    const clickReactivate = (userId: string) =>
      bot.clickButton({
        userId,
        actionId: OFFBOARD_REACTIVATE,
        value: request.id,
        blockId: `offboard_actions_${request.id}`,
        ...(request.message ? { message: request.message } : {}),
      });

    await clickReactivate('U0APPROVER1');
    await bot.drain();
    expect(await statuses('stale-leaver-app')).toEqual(['Active']);
    // someone turns the key off again; a second Reactivate must not turn it back on
    const [key] =
      (await iam().send(new ListAccessKeysCommand({ UserName: 'stale-leaver-app' }))).AccessKeyMetadata ?? [];
    await iam().send(
      new UpdateAccessKeyCommand({ UserName: 'stale-leaver-app', AccessKeyId: key?.AccessKeyId, Status: 'Inactive' }),
    );
    const { responseId } = await clickReactivate('U0APPROVER2');
    await bot.drain();

    expect(repliesTo(bot, responseId).join(' ')).toContain('already reactivated');
    expect(await statuses('stale-leaver-app')).toEqual(['Inactive']);
  });

  it('a key scan run twice the same day sends its reminder once', async () => {
    await userWithKey('stale-reminder-app', 'U0STALEOWNER');
    await bot.schedule();
    await bot.drain(); // the projection refresh parts it hands the worker
    const created = Date.parse(
      (await bot.deps.store.users.get('home', 'stale-reminder-app', { consistent: true }))?.keys[0]?.createdAt ?? '',
    );
    bot.clock.set(new Date(created + 85 * DAY + HOUR));
    const scan = () =>
      bot.as('worker', () =>
        runKeyScan(bot.deps, { account: 'home', day: bot.clock.now().toISOString().slice(0, 10) }, { paceMs: 0 }),
      );

    await scan();
    await scan();

    expect(dmsTo(bot, 'U0STALEOWNER')).toHaveLength(1);
  });
});
