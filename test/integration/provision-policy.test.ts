/**
 * Defence in depth: the worker provisions only what the policy allows when it runs, whatever was approved under an
 * earlier policy. A request approved for a group the policy has since dropped (or under another user path) is
 * refused before any IAM write: failed with a clear reason, audited, the approval channel told.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Config } from '../../src/config.js';
import type { Job } from '../../src/jobs/types.js';
import type { AccessRequest } from '../../src/store/requests.js';
import { startTestBot, type TestBot } from '../support/bot.js';
import { APPROVALS, auditActions, click, dmsTo, iamUserNames, requestUser } from '../support/create-user.js';

let bot: TestBot;
beforeAll(async () => {
  bot = await startTestBot();
});
afterAll(async () => {
  await bot.stop();
});

/** Approves the request under the current policy and returns the provisioning job, not yet run. */
async function approveHoldingJob(request: AccessRequest): Promise<Job> {
  const real = bot.deps.dispatcher;
  const held: Job[] = [];
  bot.deps.dispatcher = { dispatch: async (job) => void held.push(job) };
  try {
    await click(bot, request, 'U0APPROVER1');
  } finally {
    bot.deps.dispatcher = real;
  }
  const [job] = held;
  if (job?.type !== 'provision') throw new Error('the approval dispatched no provisioning job');
  return job;
}

/** Runs `fn` with the policy changed by `change`, as a redeployed worker would have it. */
async function underPolicy<T>(change: (policy: Config['policy']) => Config['policy'], fn: () => Promise<T>) {
  const original = bot.deps.config;
  bot.deps.config = { ...original, policy: change(original.policy) };
  try {
    return await fn();
  } finally {
    bot.deps.config = original;
  }
}

describe('the worker, with a policy that changed since the approval', () => {
  it('refuses a group the policy no longer lists: no IAM user, request failed with the reason', async () => {
    const request = await requestUser(bot, 'dropped-group-bot', { groups: ['ci-deployers', 'read-only'] });
    const job = await approveHoldingJob(request);

    await underPolicy(
      (p) => ({ ...p, groups: p.groups.filter((g) => g.name !== 'read-only') }),
      () => bot.runJob(job),
    );
    await bot.drain();

    const failed = await bot.deps.store.requests.get(request.id);
    expect(await iamUserNames(bot)).not.toContain('dropped-group-bot');
    expect(failed?.status).toBe('failed');
    expect(failed?.error).toBe(
      'refused: the policy no longer allows it (group read-only is not in the policy any more)',
    );
    expect(failed?.remaining).toEqual([]);
    expect(await auditActions(bot, request.id)).toContain('provisioning-refused');
    const notice = bot.slack
      .callsOf('chat.postMessage')
      .find(
        (c) =>
          c.args.channel === APPROVALS && String(c.args.text).includes('did not create IAM user `dropped-group-bot`'),
      );
    expect(notice?.args.text).toContain('group read-only is not in the policy any more');
    expect(dmsTo(bot, 'U0APPROVER1').some((d) => d.includes(request.id) && d.includes('policy no longer allows'))).toBe(
      true,
    );
  });

  it('refuses a user path that is no longer the policy’s', async () => {
    const request = await requestUser(bot, 'moved-path-bot');
    const job = await approveHoldingJob(request);

    await underPolicy(
      (p) => ({ ...p, users: { ...p.users, path: '/elsewhere/' } }),
      () => bot.runJob(job),
    );

    const failed = await bot.deps.store.requests.get(request.id);
    expect(await iamUserNames(bot)).not.toContain('moved-path-bot');
    expect(failed?.error).toContain("user path /iam-slack-bot/ is not the policy's user path (/elsewhere/)");
  });

  it('provisions as before when the policy still allows the request', async () => {
    const request = await requestUser(bot, 'still-allowed-bot');
    const job = await approveHoldingJob(request);

    await bot.runJob(job);
    await bot.drain();

    expect((await bot.deps.store.requests.get(request.id))?.status).toBe('done');
    expect(await iamUserNames(bot)).toContain('still-allowed-bot');
  });
});
