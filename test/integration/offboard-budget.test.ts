/**
 * The resumable runner's time budget per part (the policy's `runner.partBudgetSeconds`, here 10 s of the test clock),
 * on an offboarding (issue 20: a leaver job started by the daily check ran 47.1 s, past the 45 s target, because the
 * budget counted from the runner's loop, after the plan, and a step was started whatever its length). IAM's latency
 * is given on the test clock: each IAM call the bot makes in the act takes 1 s (an SDK middleware on the bot's own
 * clients advances the ManualClock; moto answers), and Slack's users.info 4 s (the leaver's check before the run, which
 * the part's budget must count). Every worker invocation, one at a time, and every step of the run
 * (the kind's own `step`, called through) are timed on the test clock. Steps differ in length (a user's last write
 * also refreshes its projection: 7 calls), so the rule checked is the runner's: no step starts when the time the
 * invocation has spent plus the slowest step it ran so far would pass the budget.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/clock.js';
import type { Job } from '../../src/jobs/types.js';
import { runJob } from '../../src/jobs/worker.js';
import { offboardRun } from '../../src/services/kinds/offboard.js';
import type { TestBot } from '../support/bot.js';
import { auditActions } from '../support/create-user.js';
import * as size from '../support/leavers-at-size.js';
import { ACCOUNTS, expectedRecords, recordsOf, type Seeded } from '../support/leavers-at-size.js';

const BUDGET_S = 10;
const IAM_CALL_MS = 1_000;
const SLACK_CALL_MS = 4_000;
const LONG = 120_000;

let bot: TestBot;
const clock = new ManualClock(new Date());
let slowIam = false;

type Handler = (args: unknown) => Promise<unknown>;
interface MiddlewareClient {
  middlewareStack: { add(mw: (next: Handler) => Handler, options: { step: 'initialize'; name: string }): void };
}

beforeAll(async () => {
  bot = await size.startLeaversBot({ clock, runner: { partBudgetSeconds: BUDGET_S } });
  // IAM's latency on the test clock, while `slowIam` is on (the bot's clients are made once per account)
  for (const account of ACCOUNTS)
    (bot.deps.aws.account(account).iam as unknown as MiddlewareClient).middlewareStack.add(
      (next) => async (args) => {
        if (slowIam) clock.advance(IAM_CALL_MS);
        return next(args);
      },
      { step: 'initialize', name: 'slowIamOnTheTestClock' },
    );
}, LONG);
afterAll(async () => {
  await bot.stop();
});

describe('an offboarding whose IAM calls are slow', () => {
  const member = 'U0SLOWLEAVER';
  let users: Seeded[];

  beforeAll(async () => {
    users = await size.prepareLeaver(bot, member, 'slow', 4);
  }, LONG);

  it(
    'starts no step that the slowest one so far says would end past the part budget, counted from the invocation’s start, and its continuations finish the offboarding',
    async () => {
      // Prepare: slow IAM; the worker runs one invocation at a time; invocations and steps timed on the test clock
      const invocations: { job: Job; start: number; end: number }[] = [];
      const steps: { invocation: number; start: number; end: number }[] = [];
      let queue: Promise<unknown> = Promise.resolve();
      let current = 0; // the invocation running (one at a time): its index in `invocations` once it ends
      bot.dispatcher.setRunner((job) => {
        const run = queue.then(async () => {
          const start = clock.now().getTime();
          current = invocations.length;
          try {
            return await runJob(bot.deps, job);
          } finally {
            invocations.push({ job, start, end: clock.now().getTime() });
          }
        });
        queue = run.catch(() => undefined);
        return run;
      });
      const step = offboardRun.step;
      offboardRun.step = async (...args) => {
        const start = clock.now().getTime();
        try {
          return await step(...args);
        } finally {
          steps.push({ invocation: current, start, end: clock.now().getTime() });
        }
      };
      const messenger = bot.deps.messenger;
      const memberStatus = messenger.memberStatus.bind(messenger);
      messenger.memberStatus = async (id) => {
        clock.advance(SLACK_CALL_MS);
        return memberStatus(id);
      };
      slowIam = true;

      // Act: Slack says the member was deactivated; the leaver job and every part it hands on run
      try {
        await size.userDeactivated(bot, member);
        await bot.drain();
      } finally {
        slowIam = false;
        messenger.memberStatus = memberStatus;
        offboardRun.step = step;
        size.restoreWorker(bot);
      }

      // Assess: several parts of the run; in each, no step started that its slowest step so far said would end past
      // the budget, counted from the invocation's start (the plan's IAM calls included); the end state of one part
      const budget = BUDGET_S * 1_000;
      const parts = invocations.filter((i) => i.job.type === 'leaver' || i.job.type === 'run-part');
      expect(parts.map((p) => p.job.type)).toContain('run-part');
      for (const part of parts) {
        const ran = steps.filter((s) => s.invocation === invocations.indexOf(part));
        ran.forEach((s, i) => {
          const slowest = Math.max(0, ...ran.slice(0, i).map((r) => r.end - r.start));
          expect(s.start - part.start + slowest, `${part.job.id}, step ${i + 1}`).toBeLessThanOrEqual(budget);
        });
      }
      expect(steps.length).toBeGreaterThan(0);
      const statuses = await size.allKeyStatuses(bot, users);
      const request = await size.offboarding(bot, member);
      expect(Object.values(statuses).filter((s) => s !== 'Inactive')).toEqual([]);
      expect(request.status).toBe('done');
      expect(recordsOf(request)).toEqual(expectedRecords(users));
      expect(size.reportsOf(bot, member)).toHaveLength(1);
      const actions = await auditActions(bot, request.id);
      expect(actions.filter((a) => a === 'run-continued')).toHaveLength((request.run?.part ?? 0) - 1);
      expect(actions.filter((a) => a === 'offboarded')).toHaveLength(1);
      for (const u of users.filter((x) => x.console)) expect(await size.hasConsole(bot, u), u.userName).toBe(false);
    },
    LONG,
  );
});
