/**
 * Leavers with `leavers.action: report`: a member deactivated in Slack gets a report of what the bot would do, and
 * nothing changes in IAM (moto), nor among their requests; the report offers no Reactivate (nothing to restore).
 */
import {
  CreateAccessKeyCommand,
  CreateLoginProfileCommand,
  CreateUserCommand,
  GetLoginProfileCommand,
  type IAMClient,
  ListAccessKeysCommand,
} from '@aws-sdk/client-iam';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { OFFBOARD_REACTIVATE } from '../../src/blocks/ids.js';
import { ManualClock } from '../../src/clock.js';
import { leaverRequestId } from '../../src/services/kinds/offboard.js';
import { startTestBot, type TestBot } from '../support/bot.js';
import { APPROVALS } from '../support/create-user.js';
import { testPolicy } from '../support/policy.js';

let bot: TestBot;
let iam: IAMClient;
const member = 'U0LEAVER5';

beforeAll(async () => {
  bot = await startTestBot({
    clock: new ManualClock(new Date()),
    policy: testPolicy({ leavers: { action: 'report' } }),
  });
  iam = bot.deps.aws.account().iam;
  for (const name of ['rp-ci', 'rp-web']) {
    await iam.send(
      new CreateUserCommand({
        UserName: name,
        Path: '/iam-slack-bot/',
        Tags: [{ Key: 'slack-user-id', Value: member }],
      }),
    );
    await iam.send(new CreateAccessKeyCommand({ UserName: name }));
  }
  await iam.send(new CreateLoginProfileCommand({ UserName: 'rp-web', Password: 'Seeded-rp-web-pw-1!x' }));
  await bot.schedule(); // the ownership projection
  await bot.drain(); // the projection refresh parts it hands the worker
  bot.slack.members.deactivate(member);
});
afterAll(async () => {
  await bot.stop();
});

it('posts what it would do and changes nothing in IAM', async () => {
  const body = JSON.stringify({
    type: 'event_callback',
    team_id: 'T0TEAM',
    api_app_id: 'A0APP',
    event_id: 'Ev0REPORT',
    event_time: Math.floor(Date.now() / 1000),
    event: { type: 'user_change', user: { id: member, deleted: true }, event_ts: `${Date.now() / 1000}` },
  });

  const result = await bot.send(body, { contentType: 'application/json' });
  await bot.drain();

  expect(result.statusCode).toBe(200);
  for (const name of ['rp-ci', 'rp-web']) {
    const keys = await iam.send(new ListAccessKeysCommand({ UserName: name }));
    expect(
      keys.AccessKeyMetadata?.map((k) => k.Status),
      name,
    ).toEqual(['Active']);
  }
  expect(await iam.send(new GetLoginProfileCommand({ UserName: 'rp-web' })).then(() => true)).toBe(true);
  expect(bot.roles.checked().filter((c) => /^iam:(Update|Delete|Create)/.test(c.action))).toEqual([]);
  const reports = bot.slack
    .callsOf('chat.postMessage')
    .filter((c) => c.args.channel === APPROVALS && JSON.stringify(c.args).includes(leaverRequestId(member)));
  expect(reports).toHaveLength(1);
  const text = JSON.stringify(reports[0]?.args.blocks);
  expect(text).toContain('leavers.action: report');
  expect(text).toMatch(/rp-web.*would delete the console password/);
  expect(text).not.toContain(OFFBOARD_REACTIVATE);
  expect((await bot.deps.store.requests.get(leaverRequestId(member)))?.offboard?.action).toBe('report');
});
