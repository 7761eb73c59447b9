/**
 * The key scan's part budget (issue 20): the policy's `runner.partBudgetSeconds`, counted from the worker
 * invocation's start on the injected clock (src/invocation.ts), as the runner's is; not a constant on the wall clock.
 * Here the budget is 10 s of the test clock and each Slack post the bot makes takes 4 s of it (an observer of the
 * recording fake Slack advances the ManualClock): a scan of five owners with due keys cannot fit one part, so it
 * continues itself, and every owner still gets their DM exactly once across the parts.
 */
import { CreateAccessKeyCommand } from '@aws-sdk/client-iam';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/clock.js';
import { keyScanJob } from '../../src/jobs/key-scan.js';
import type { Job } from '../../src/jobs/types.js';
import { runJob } from '../../src/jobs/worker.js';
import { refreshAccount } from '../../src/services/user-projection.js';
import { startTestBot, type TestBot } from '../support/bot.js';
import { existingUser } from '../support/changes.js';
import { testPolicy } from '../support/policy.js';

const DAY = 86_400_000;
const BUDGET_S = 10;
const POST_MS = 4_000;
const OWNERS = ['U0BUDGET1', 'U0BUDGET2', 'U0BUDGET3', 'U0BUDGET4', 'U0BUDGET5'];

let bot: TestBot;
const clock = new ManualClock(new Date());

beforeAll(async () => {
  bot = await startTestBot({
    clock,
    env: { SLACK_BOT_ID: 'B0BOT', SLACK_BOT_USER_ID: 'U0BOT' },
    members: OWNERS,
    policy: testPolicy({ runner: { partBudgetSeconds: BUDGET_S } }),
  });
});
afterAll(async () => {
  await bot.stop();
});

describe('the key scan’s part budget', () => {
  it('a scan longer than the policy’s part budget (on the injected clock) continues in parts, and every owner gets one DM', async () => {
    // Prepare: one user with a key due for a reminder per owner; the projection refreshed; slow Slack posts
    let created = 0;
    for (const [i, owner] of OWNERS.entries()) {
      const name = `budget-${i}`;
      await existingUser(bot, name, { owner });
      const out = await bot.deps.aws.account().iam.send(new CreateAccessKeyCommand({ UserName: name }));
      created = Math.max(created, out.AccessKey?.CreateDate?.getTime() ?? 0);
    }
    await bot.as('worker', () => refreshAccount(bot.deps, 'home', { reportWaitMs: 60_000 }));
    clock.set(new Date(created + 81 * DAY + 3_600_000));
    const parts: { job: Job; start: number; end: number }[] = [];
    bot.dispatcher.setRunner(async (job) => {
      const start = clock.now().getTime();
      try {
        return await runJob(bot.deps, job);
      } finally {
        if (job.type === 'key-scan') parts.push({ job, start, end: clock.now().getTime() });
      }
    });
    const slowPosts = (call: { method: string }) => {
      if (call.method === 'chat.postMessage') clock.advance(POST_MS);
    };
    bot.slack.observers.push(slowPosts);

    // Act: the day's scan, as the schedule dispatches it, and its continuations
    try {
      await bot.deps.dispatcher.dispatch(keyScanJob({ account: 'home', day: clock.now().toISOString().slice(0, 10) }));
      await bot.drain();
    } finally {
      bot.slack.observers.splice(bot.slack.observers.indexOf(slowPosts), 1);
    }

    // Assess: more than one part; none started an owner past its budget (at most one owner's post over it); one DM each
    expect(parts.length).toBeGreaterThan(1);
    for (const part of parts) expect(part.end - part.start).toBeLessThanOrEqual(BUDGET_S * 1000 + POST_MS);
    for (const owner of OWNERS) {
      const dms = bot.slack.callsOf('chat.postMessage').filter((c) => c.args.channel === owner);
      expect(dms, owner).toHaveLength(1);
    }
  });
});
