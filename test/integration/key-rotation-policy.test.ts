/**
 * Key rotation under a stricter policy: `keys.rotationNeedsApproval: true` (the owner's own rotation is approved
 * too) and `keys.stillInUse: escalate` (a key still in use after the extra grace period is left to the approvers).
 */
import { CreateAccessKeyCommand, GetAccessKeyLastUsedCommand, ListAccessKeysCommand } from '@aws-sdk/client-iam';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { rotationStateOf } from '../../src/kinds/rotate-key/rotation.js';
import type { AccessRequest } from '../../src/store/requests.js';
import { startTestBot, type TestBot } from '../support/bot.js';
import { existingUser } from '../support/changes.js';
import { APPROVALS, auditActions, click } from '../support/create-user.js';
import { linkSentTo, requestPage } from '../support/credentials.js';
import { testPolicy } from '../support/policy.js';

const DAY = 86_400_000;
let bot: TestBot;
beforeAll(async () => {
  bot = await startTestBot({
    policy: testPolicy({ keys: { rotationGraceDays: 7, rotationNeedsApproval: true, stillInUse: 'escalate' } }),
  });
});
afterAll(async () => {
  await bot.stop();
});

it("sends the owner's own rotation through approval, and escalates a key still in use instead of deactivating it", async () => {
  const iam = bot.deps.aws.account().iam;
  await existingUser(bot, 'strict-bot', { owner: 'U0OWNER' });
  const oldKey = (await iam.send(new CreateAccessKeyCommand({ UserName: 'strict-bot' }))).AccessKey?.AccessKeyId ?? '';
  const keys = async () =>
    Object.fromEntries(
      ((await iam.send(new ListAccessKeysCommand({ UserName: 'strict-bot' }))).AccessKeyMetadata ?? []).map((k) => [
        k.AccessKeyId,
        k.Status,
      ]),
    );

  const { result, responseId } = await bot.command('rotate-key strict-bot', 'U0OWNER');
  await bot.drain();
  expect(result.body ?? '').toBe(''); // the worker answers under the command once the rotation is posted
  expect(bot.slack.shown(responseId).map((m) => m.text)).toEqual([expect.stringContaining('waiting for approval')]);
  const id = (await rotationStateOf(bot.deps, 'home', 'strict-bot'))?.requestId ?? '';
  await click(bot, (await bot.deps.store.requests.get(id)) as AccessRequest, 'U0APPROVER1');
  await bot.drain();
  const { token } = linkSentTo(bot, 'U0OWNER');
  expect((await requestPage(bot, 'POST', token)).statusCode).toBe(200);

  // STUB: moto cannot record a key's use, so GetAccessKeyLastUsed answers a use after delivery; all else is moto.
  const send = iam.send.bind(iam) as (command: unknown) => Promise<unknown>;
  const usedAt = new Date(bot.clock.now().getTime() + DAY);
  (iam as { send: unknown }).send = async (command: unknown) =>
    command instanceof GetAccessKeyLastUsedCommand
      ? { UserName: 'strict-bot', AccessKeyLastUsed: { LastUsedDate: usedAt, ServiceName: 'ec2', Region: 'us-west-2' } }
      : send(command);
  try {
    bot.clock.advance(7 * DAY + 60_000);
    await bot.schedule();
    await bot.drain(); // the worker runs what the sweep woke
    bot.clock.advance(7 * DAY + 60_000);
    await bot.schedule();
    await bot.drain(); // the worker runs what the sweep woke
    await bot.schedule();
    await bot.drain(); // the worker runs what the sweep woke
  } finally {
    (iam as { send: unknown }).send = send;
  }
  expect((await keys())[oldKey]).toBe('Active');
  expect((await rotationStateOf(bot.deps, 'home', 'strict-bot'))?.phase).toBe('escalated');
  const escalations = bot.slack
    .callsOf('chat.postMessage')
    .filter((c) => c.args.channel === APPROVALS && JSON.stringify(c.args).includes('still in use'));
  expect(escalations).toHaveLength(1);
  expect(JSON.stringify(escalations[0]?.args)).toContain('`ec2`');
  expect((await auditActions(bot, id)).filter((a) => a.startsWith('rotation.'))).toEqual([
    'rotation.key-delivered',
    'rotation.old-key-still-in-use',
    'rotation.escalated',
  ]);
});
