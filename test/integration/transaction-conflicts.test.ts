/**
 * Clicks that collide in DynamoDB (issue 20): DynamoDB cancels a TransactWriteItems whose item another transaction is
 * writing, with reason TransactionConflict, and the SDK does not retry it. DynamoDB Local applies colliding
 * transactions one after the other, so test/support/dynamo-controls.ts cancels one on demand, after running the
 * competing click first: the race as DynamoDB reports it. Signed clicks through the real Slack handler, DynamoDB
 * Local, moto, the recording fake Slack and the role checker.
 */
import { CreateAccessKeyCommand } from '@aws-sdk/client-iam';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KEY_SNOOZE } from '../../src/blocks/ids.js';
import { runKeyScan } from '../../src/jobs/key-scan.js';
import { refreshAccount } from '../../src/services/user-projection.js';
import { startTestBot, type TestBot } from '../support/bot.js';
import { existingUser } from '../support/changes.js';
import { allowPasswordChange, auditActions, click, repliesTo, requestUser } from '../support/create-user.js';
import { TransactionConflicts } from '../support/dynamo-controls.js';

const DAY = 86_400_000;
const conflicts = new TransactionConflicts();
let bot: TestBot;
beforeAll(async () => {
  bot = await startTestBot({ decorateDynamo: conflicts.decorate, members: ['U0SNOOZER'] });
  conflicts.forBot(bot);
  bot.slack.usergroups.set('S0SECURITY', ['U0SECMEMBER']);
  await allowPasswordChange(bot);
});
afterAll(async () => {
  await bot.stop();
});

describe('two Approve clicks whose transactions collide', () => {
  it('gives the click DynamoDB cancelled (TransactionConflict) the refusal "already approved", not an error, and approves once', async () => {
    const request = await requestUser(bot, 'conflict-approve-1', { accessType: 'both' });
    let winner = '';
    const cancelled = conflicts.next({ table: 'requests', key: { id: request.id } }, async () => {
      winner = (await click(bot, request, 'U0APPROVER2')).responseId;
    });

    const { result, responseId } = await click(bot, request, 'U0APPROVER1');
    await bot.drain();

    expect(result.statusCode).toBe(200);
    expect((await cancelled).reasons).toContain('TransactionConflict');
    expect(repliesTo(bot, winner)).toEqual([]);
    const replies = repliesTo(bot, responseId);
    expect(replies).toHaveLength(1);
    expect(replies[0]).toMatch(/^This request was already approved/);
    expect(replies.join()).not.toContain('Something went wrong');
    expect((await auditActions(bot, request.id)).filter((a) => a === 'approved')).toHaveLength(1);
  });
});

describe('two Snooze clicks whose transactions collide', () => {
  it('gives the click DynamoDB cancelled (TransactionConflict) the answer "snoozed already", not an error, and snoozes once', async () => {
    const owner = 'U0SNOOZER';
    await existingUser(bot, 'conflict-snooze-1', { owner });
    const key = await bot.deps.aws.account().iam.send(new CreateAccessKeyCommand({ UserName: 'conflict-snooze-1' }));
    const keyId = key.AccessKey?.AccessKeyId ?? '';
    await bot.as('worker', () => refreshAccount(bot.deps, 'home', { reportWaitMs: 60_000 }));
    bot.clock.set(new Date((key.AccessKey?.CreateDate?.getTime() ?? 0) + 80 * DAY + 3_600_000));
    await bot.as('worker', () =>
      runKeyScan(bot.deps, { account: 'home', day: bot.clock.now().toISOString().slice(0, 10) }, { paceMs: 0 }),
    );
    const reminder = bot.slack.callsOf('chat.postMessage').find((c) => c.args.channel === owner);
    const value = ((reminder?.args.blocks ?? []) as { elements?: { action_id?: string; value?: string }[] }[])
      .flatMap((b) => b.elements ?? [])
      .find((e) => e.action_id === KEY_SNOOZE)?.value;
    expect(value, 'the reminder DM has a Snooze button').toBeDefined();
    const snooze = () => bot.clickButton({ userId: owner, actionId: KEY_SNOOZE, value: String(value) });
    const answers = (responseId: string) =>
      bot.slack
        .callsOf('response_url')
        .filter((c) => c.args.response_id === responseId)
        .map((c) => String(c.args.text));
    let winner = '';
    const cancelled = conflicts.next({ table: 'reminders', key: { id: `snooze#home#${keyId}` } }, async () => {
      winner = (await snooze()).responseId;
      await bot.drain();
    });

    const { responseId } = await snooze();
    await bot.drain();

    expect((await cancelled).reasons).toContain('TransactionConflict');
    expect(answers(winner)).toEqual([expect.stringContaining('Snoozed')]);
    expect(answers(responseId)).toEqual([expect.stringContaining('snoozed already')]);
    const events = await bot.deps.store.audit.list(`key#home#${keyId}`);
    expect(events.filter((e) => e.action === 'key.snoozed')).toHaveLength(1);
  });
});
