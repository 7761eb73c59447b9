/**
 * Findings of issue 20 that the stand-ins hid: the tag that names the request that created a user, users under a
 * sub-path of a managed path, and a failed-jobs batch that SQS delivers again. Signed requests through the real
 * handlers, moto (IAM, SQS), DynamoDB Local, the recording fake Slack and the role checker.
 */
import { CreateAccessKeyCommand, CreateUserCommand } from '@aws-sdk/client-iam';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type JobHandler, jobHandlers } from '../../src/jobs/registry.js';
import { handleWorkerEvent } from '../../src/jobs/worker.js';
import { REQUEST_ID_TAG } from '../../src/services/provisioning.js';
import { refreshAccount } from '../../src/services/user-projection.js';
import { startTestBot, type TestBot } from '../support/bot.js';
import { changeRequestFor, existingUser, groupsOf } from '../support/changes.js';
import { APPROVALS, click, repliesTo } from '../support/create-user.js';

let bot: TestBot;
beforeAll(async () => {
  bot = await startTestBot({ failedJobsQueue: true });
});
afterAll(async () => {
  delete jobHandlers['test-always-fails'];
  await bot.stop();
});

const refresh = () => bot.as('worker', () => refreshAccount(bot.deps, 'home', { reportWaitMs: 60_000 }));
const answerOf = (result: { body?: string }) => String(JSON.parse(result.body || '{}').text ?? '');

describe('the request that created a user', () => {
  it('is found from the tag create-user writes (request-id) when the projection is built from IAM', async () => {
    // The tags create-user puts on the users it creates (src/kinds/create-user-run.ts), the request's id among them.
    await bot.deps.aws.account().iam.send(
      new CreateUserCommand({
        UserName: 'tagged-by-request',
        Path: '/iam-slack-bot/',
        Tags: [
          { Key: 'slack-user-id', Value: 'U0OWNER' },
          { Key: REQUEST_ID_TAG, Value: 'req-createdit1' },
        ],
      }),
    );

    await refresh();

    const projected = await bot.deps.store.users.get('home', 'tagged-by-request', { consistent: true });
    expect(projected?.requestIds).toEqual(['req-createdit1']);
  });
});

describe('a user under a sub-path of a managed path (/iam-slack-bot/team-a/)', () => {
  it('can be added to a group through approval, as it is listed and as the roles allow', async () => {
    await existingUser(bot, 'sub-path-change', { owner: 'U0OWNER', path: '/iam-slack-bot/team-a/' });

    const { result } = await bot.command('add-to-group sub-path-change read-only --reason "Reads the logs"');
    await bot.drain();
    const answer = answerOf(result);
    expect(answer).not.toContain('outside the paths');
    const request = await changeRequestFor(bot, 'sub-path-change');
    const { responseId } = await click(bot, request, 'U0APPROVER1');
    await bot.drain();

    expect(repliesTo(bot, responseId)).toEqual([]);
    expect(await groupsOf(bot, 'sub-path-change')).toEqual(['read-only']);
    expect((await bot.deps.store.requests.get(request.id))?.status).toBe('done');
  });

  it('can have its key rotated by its owner', async () => {
    await existingUser(bot, 'sub-path-rotate', { owner: 'U0OWNER', path: '/iam-slack-bot/team-a/' });
    await bot.deps.aws.account().iam.send(new CreateAccessKeyCommand({ UserName: 'sub-path-rotate' }));

    const { result, responseId } = await bot.command('rotate-key sub-path-rotate', 'U0OWNER');
    await bot.drain();

    // acked with no message: the worker's answer, once it asked IAM (issue 19), is the one shown under the command
    expect(result.body ?? '').toBe('');
    const answer = bot.slack.shown(responseId).at(-1)?.text ?? '';
    expect(answer).not.toContain('outside the paths');
    expect(answer).toContain('needs no approval');
  });
});

describe('a failed-jobs batch that SQS delivers again', () => {
  it('still tells the approval channel when the first delivery recorded the job but its notice failed, and tells it once', async () => {
    jobHandlers['test-always-fails'] = (async () => {
      throw Object.assign(new Error('always'), { name: 'AlwaysFailsError' });
    }) as JobHandler;
    await bot.dispatcher.dispatch({ id: 'job-redelivered-1', type: 'test-always-fails', payload: {} });
    await bot.drain();
    const queue = bot.failedJobsQueue;
    const messages = (await queue?.receive()) ?? [];
    expect(messages).toHaveLength(1);
    const event = {
      Records: messages.map((m) => ({
        messageId: m.MessageId,
        receiptHandle: m.ReceiptHandle,
        body: m.Body,
        eventSource: 'aws:sqs' as const,
        eventSourceARN: queue?.arn,
      })),
    };
    const notices = () =>
      bot.slack
        .callsOf('chat.postMessage')
        .filter((c) => c.args.channel === APPROVALS && String(c.args.text).includes('job-redelivered-1'))
        .filter((c) => c.answer?.ok === true);
    // Slack refuses the notice once: the batch fails after the job was recorded, and SQS delivers it again.
    bot.slack.failNext('chat.postMessage', 'fatal_error');
    await expect(bot.as('worker', () => handleWorkerEvent(bot.deps, event))).rejects.toThrow();
    expect(await bot.deps.store.jobs.failedJob('job-redelivered-1')).toBeDefined();

    await bot.as('worker', () => handleWorkerEvent(bot.deps, event));
    await bot.as('worker', () => handleWorkerEvent(bot.deps, event)); // and once more, after it went through
    for (const m of messages) await queue?.delete(m);

    expect(notices()).toHaveLength(1);
    expect(String(notices()[0]?.args.text)).toContain('AlwaysFailsError');
  });
});
