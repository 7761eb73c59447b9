/**
 * Failed jobs are never lost. Lambda runs an asynchronous invocation of the worker, retries it twice, then sends its
 * failure record to the worker's on-failure destination, the failed-jobs queue (serverless.yml; package.test.ts
 * checks the template declares it, with its alarms). Here the in-process dispatcher models those three attempts and
 * sends the record to a real SQS queue in moto; `bot.deliverFailedJobs()` plays Lambda's event source mapping,
 * handing the queue's messages to the worker, which records the job and tells the approvers.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { JOB_RERUN } from '../../src/blocks/ids.js';
import { type JobHandler, jobHandlers } from '../../src/jobs/registry.js';
import { handleWorkerEvent } from '../../src/jobs/worker.js';
import { startTestBot, type TestBot } from '../support/bot.js';
import { APPROVALS, requestFor, submitForm, validForm } from '../support/create-user.js';

let bot: TestBot;
const realPublish = jobHandlers['publish-request'] as JobHandler;
let broken = false;
let publishRuns = 0;

beforeAll(async () => {
  bot = await startTestBot({ failedJobsQueue: true });
  // The job that posts a new request to the approval channel, with a fault that can be switched off ("fixed").
  jobHandlers['publish-request'] = async (deps, payload) => {
    publishRuns++;
    if (broken) {
      const error = new Error('the approval channel is unreachable today');
      error.name = 'ChannelUnreachableError';
      throw error;
    }
    await realPublish(deps, payload);
  };
});
afterEach(() => {
  broken = false;
});
afterAll(async () => {
  jobHandlers['publish-request'] = realPublish;
  await bot.stop();
});

const body = (result: { body?: string }) =>
  JSON.parse(result.body ?? '{}') as { text: string; blocks?: { accessory?: { action_id: string; value: string } }[] };
const approvalPosts = () => bot.slack.postsTo(APPROVALS);
const rerunButtons = (result: { body?: string }) =>
  (body(result).blocks ?? []).flatMap((b) => (b.accessory?.action_id === JOB_RERUN ? [b.accessory.value] : []));

describe('a job that fails on every attempt', () => {
  it('lands in the failed-jobs queue after three attempts; approvers are told; /iam jobs re-runs it to success once', async () => {
    broken = true;
    publishRuns = 0;
    const posted = approvalPosts().length;

    await submitForm(bot, validForm('lost-bot'));
    await bot.drain();
    const request = await requestFor(bot, 'lost-bot');
    const jobId = `publish-request:${request.id}`;

    // Lambda ran it three times (the first attempt and two retries), then sent the record to the queue.
    expect(publishRuns).toBe(3);
    expect(await bot.failedJobsQueue?.visible()).toBe(1); // what the queue's alarm watches
    expect(approvalPosts()).toHaveLength(posted);

    // The worker, subscribed to the queue, records the job and tells the approval channel.
    expect(await bot.deliverFailedJobs()).toBe(1);
    expect(await bot.failedJobsQueue?.visible()).toBe(0);
    const stored = await bot.deps.store.jobs.get(jobId);
    expect(stored).toMatchObject({ status: 'failed', attempts: 3, error: 'ChannelUnreachableError' });
    expect(JSON.stringify(stored)).not.toContain('unreachable today'); // the error's name, never its message
    const notice = approvalPosts().at(-1);
    expect(String(notice?.args.text)).toBe(
      `:warning: \`publish-request\` job \`${jobId}\` failed 3 times (ChannelUnreachableError) and Lambda gave up on it. It was for request \`${request.id}\` (create-user of IAM user \`lost-bot\` in home), which is now *pending*.`,
    );

    // /iam jobs lists it, with Re-run.
    const { result: listed } = await bot.command('jobs', 'U0APPROVER1');
    expect(body(listed).text).toBe('1 failed jobs (page 1)');
    expect(JSON.stringify(body(listed).blocks)).toContain('which is now *pending*');
    expect(rerunButtons(listed)).toEqual([jobId]);

    // Fixed; an approver clicks Re-run twice at once: the job runs once and posts the request.
    broken = false;
    publishRuns = 0;
    const [first, second] = await Promise.all([
      bot.clickButton({ userId: 'U0APPROVER1', actionId: JOB_RERUN, value: jobId }),
      bot.clickButton({ userId: 'U0APPROVER1', actionId: JOB_RERUN, value: jobId }),
    ]);
    await bot.drain();

    expect(publishRuns).toBe(1);
    const replies = [first.responseId, second.responseId].flatMap((id) =>
      bot.slack
        .callsOf('response_url')
        .filter((c) => c.args.response_id === id)
        .map((c) => String(c.args.text)),
    );
    expect(replies.filter((r) => r.startsWith('Re-running job'))).toHaveLength(1);
    expect(replies.filter((r) => r.includes('already being re-run'))).toHaveLength(1);
    const requestMessages = approvalPosts().filter(
      (c) => JSON.stringify(c.args.blocks).includes(request.id) && !String(c.args.text).startsWith(':warning:'),
    );
    expect(requestMessages).toHaveLength(1);
    expect((await bot.deps.store.jobs.get(jobId))?.status).toBe('done');
    expect((await requestFor(bot, 'lost-bot')).message).toBeDefined();

    // Off the list; a later click does nothing new.
    const { result: after } = await bot.command('jobs', 'U0APPROVER1');
    expect(body(after).text).toBe('No failed jobs: every job ran or was re-run to success.');
    const late = await bot.clickButton({ userId: 'U0APPROVER2', actionId: JOB_RERUN, value: jobId });
    await bot.drain();
    expect(publishRuns).toBe(1);
    expect(
      bot.slack
        .callsOf('response_url')
        .filter((c) => c.args.response_id === late.responseId)
        .map((c) => c.args.text),
    ).toEqual([`Job \`${jobId}\` is not a failed job (any more): nothing to re-run.`]);
    expect(await bot.deps.store.audit.list(`job#${jobId}`)).toEqual([
      expect.objectContaining({ actor: 'system', action: 'job-gave-up' }),
      expect.objectContaining({ actor: 'U0APPROVER1', action: 'job-rerun' }),
    ]);
  });

  it('records a failure record the queue delivers twice once, and tells the approvers once', async () => {
    broken = true;
    await submitForm(bot, validForm('twice-bot'));
    await bot.drain();
    const [message] = (await bot.failedJobsQueue?.receive()) ?? [];
    if (!message) throw new Error('no failure record in the queue');
    await bot.failedJobsQueue?.send(message.Body); // the same record again: SQS delivers at least once
    const notices = approvalPosts().length;

    // the first receive hid the original for 30 s: deliver the copy, then the original once visible again
    await bot.deliverFailedJobs();
    await bot.as('worker', () =>
      handleWorkerEvent(bot.deps, { Records: [{ messageId: 'm', body: message.Body, eventSource: 'aws:sqs' }] }),
    );

    expect(approvalPosts()).toHaveLength(notices + 1);
  });

  it('records a job that failed before its claim was ever written (no item yet)', async () => {
    const record = {
      version: '1.0',
      timestamp: bot.clock.now().toISOString(),
      requestContext: { requestId: 'r', functionArn: 'arn', condition: 'RetriesExhausted', approximateInvokeCount: 3 },
      requestPayload: { id: 'whoami:never-claimed', type: 'whoami', payload: {} },
      responsePayload: { errorType: 'ProvisionedThroughputExceededException', errorMessage: 'x' },
    };
    await bot.failedJobsQueue?.send(JSON.stringify(record));

    expect(await bot.deliverFailedJobs()).toBe(1);
    expect(await bot.deps.store.jobs.get('whoami:never-claimed')).toMatchObject({
      status: 'failed',
      attempts: 3,
      error: 'ProvisionedThroughputExceededException',
    });
    expect(String(approvalPosts().at(-1)?.args.text)).toContain('It was about no request.');
  });

  it('shows failed jobs to approvers only, and lets only approvers re-run them', async () => {
    const { result } = await bot.command('jobs', 'U0REQUESTER');
    const click = await bot.clickButton({ userId: 'U0REQUESTER', actionId: JOB_RERUN, value: 'publish-request:x' });

    expect(body(result).text).toBe('Only approvers can see failed jobs.');
    expect(
      bot.slack
        .callsOf('response_url')
        .filter((c) => c.args.response_id === click.responseId)
        .map((c) => c.args.text),
    ).toEqual(['Only approvers can re-run failed jobs.']);
  });

  it('pages the list within Slack’s limits: /iam jobs --page 2', async () => {
    broken = true;
    for (let i = 0; i < 11; i++) await submitForm(bot, validForm(`page-bot-${i}`));
    await bot.drain();
    while ((await bot.deliverFailedJobs()) > 0);

    const { result: one } = await bot.command('jobs', 'U0APPROVER1');
    const { result: two } = await bot.command('jobs --page 2', 'U0APPROVER1');
    const { result: wrong } = await bot.command('jobs --page x', 'U0APPROVER1');

    expect(rerunButtons(one)).toHaveLength(10);
    expect(JSON.stringify(body(one).blocks)).toContain('`/iam jobs --page 2`');
    // 13 failed jobs: those of the previous tests (still failed) and these 11, newest first
    expect(rerunButtons(two)).toHaveLength(3);
    expect(new Set([...rerunButtons(one), ...rerunButtons(two)]).size).toBe(13);
    expect(body(wrong).text).toBe('Usage: `/iam jobs [--page n]`');
  });
});

describe('a re-run long after the command', () => {
  it('answers the requester by DM, not through the command’s response_url, which Slack no longer takes', async () => {
    // Prepare: `/iam create-user` whose posting job fails every attempt and lands in /iam jobs
    broken = true;
    const { responseId } = await bot.command('create-user late-bot --groups ci-deployers --keys --reason "CI"');
    await bot.drain();
    await bot.deliverFailedJobs();
    const jobId = `publish-request:${(await requestFor(bot, 'late-bot')).id}`;
    broken = false;
    bot.clock.advance(31 * 60_000); // past the response_url's thirty minutes
    bot.slack.failNext('chat.postMessage', 'not_in_channel'); // the bot was removed from the channel meanwhile

    // Act: an approver re-runs it
    await bot.clickButton({ userId: 'U0APPROVER1', actionId: JOB_RERUN, value: jobId });
    await bot.drain();

    // Assess: the requester is told by DM; nothing was posted to the dead response_url
    const dms = bot.slack.postsTo('U0REQUESTER');
    const replayed = bot.slack.callsOf('response_url').filter((c) => c.args.response_id === responseId);
    expect(String(dms.at(-1)?.args.text)).toContain('I could not post your request');
    expect(replayed).toHaveLength(0);
  });
});
