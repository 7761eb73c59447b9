/**
 * The worker posts a request's approval message and then records where it is; an Approve (or anything else) can land
 * in between, e.g. when the post is slow. Recording the message's place must not undo or block that decision, and the
 * message must end showing the request as it is.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { Job } from '../../src/jobs/types.js';
import { startTestBot, type TestBot } from '../support/bot.js';
import { approvalMessageNow, buttonsNow, click, requestFor, submitForm, validForm } from '../support/create-user.js';
import { outsideFunctions } from '../support/role-checker.js';

let bot: TestBot;
beforeAll(async () => {
  bot = await startTestBot();
});
afterAll(async () => {
  await bot.stop();
});

/** Jobs handed to the worker are kept, to run in the order a test chooses. */
function holdJobs(): Job[] {
  const held: Job[] = [];
  bot.dispatcher.setRunner(async (job) => {
    held.push(job);
  });
  return held;
}
const release = () => bot.dispatcher.setRunner((job) => bot.runJob(job));

describe('an approval message posted after its request was decided', () => {
  it('ends showing the request as it is when it was approved and provisioned before the worker recorded the post', async () => {
    // The approver clicks as soon as the message appears, and the whole approval runs before the worker that posted
    // the message gets to record where it is.
    const messenger = bot.deps.messenger;
    const post = messenger.post.bind(messenger);
    let approvedMeanwhile = false;
    messenger.post = async (channel, message) => {
      const posted = await post(channel, message);
      if (channel === 'C0APPROVALS' && !approvedMeanwhile && message.text?.includes('late-post-bot')) {
        approvedMeanwhile = true;
        const request = await outsideFunctions(() => requestFor(bot, 'late-post-bot'));
        await click(bot, request, 'U0APPROVER1');
        // (not bot.drain(): that would wait for this very job)
        await vi.waitFor(async () => expect((await bot.deps.store.requests.get(request.id))?.status).toBe('done'), {
          timeout: 15_000,
          interval: 50,
        });
      }
      return posted;
    };
    try {
      await submitForm(bot, validForm('late-post-bot'));
      await bot.drain();
    } finally {
      messenger.post = post;
    }

    const request = await requestFor(bot, 'late-post-bot');
    expect(approvedMeanwhile).toBe(true);
    expect(request.status).toBe('done');
    expect(request.message?.channel).toBe('C0APPROVALS');
    expect(approvalMessageNow(bot, request).text).toContain('*Done.*');
    expect(buttonsNow(bot, request)).toEqual([]);
  });

  it('recording where the message is changes no version, so a decision taken meanwhile still writes', async () => {
    holdJobs();
    await submitForm(bot, validForm('message-version-bot'));
    await bot.drain();
    release();
    const before = await requestFor(bot, 'message-version-bot');

    const located = await bot.deps.store.requests.setMessage(before.id, { channel: 'C0APPROVALS', ts: '1.000200' });
    const decided = await bot.deps.store.requests.update(before, { status: 'expired' }, bot.clock.now());

    expect(located?.version).toBe(before.version);
    expect(decided?.status).toBe('expired');
    expect(decided?.message).toEqual({ channel: 'C0APPROVALS', ts: '1.000200' });
  });
});
