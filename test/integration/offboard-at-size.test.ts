/**
 * An offboarding at size: one owner with 120 IAM users in two accounts (home and a named one, through its assumed
 * role), with the runner's part budget set low in the policy (`runner.maxStepsPerPart`, a configuration value) so
 * that the worker does it in many parts. Then the same with one part killed in the middle (one of its IAM calls
 * never answers and the invocation gives no answer, as when Lambda times out): Lambda's retry of that part finishes
 * it with the same end state; Reactivate restores exactly the keys it deactivated. (A killed part finished by the
 * stall sweep or the daily check, and a killed Reactivate: offboard-kill-windows and offboard-reactivate.test.ts, at a
 * small size in a moto of their own.) Moto holds the users; the role checker evaluates every AWS call against the
 * role of the function that made it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OFFBOARD_REACTIVATE } from '../../src/blocks/ids.js';
import { ManualClock } from '../../src/clock.js';
import type { Job } from '../../src/jobs/types.js';
import type { TestBot } from '../support/bot.js';
import { auditActions } from '../support/create-user.js';
import * as size from '../support/leavers-at-size.js';
import { expectedRecords, recordsOf, type Seeded } from '../support/leavers-at-size.js';

const USERS_PER_ACCOUNT = 60;
/** Time for one test at this size on a loaded 2-core machine (the worker does about 300 steps per offboarding). */
const LONG = 600_000;
/** The part budget of this test's policy: a few users per part. */
const MAX_STEPS_PER_PART = 25;
const MINUTE = 60_000;

let bot: TestBot;
const clock = new ManualClock(new Date());

beforeAll(async () => {
  bot = await size.startLeaversBot({ clock, runner: { maxStepsPerPart: MAX_STEPS_PER_PART } });
});
afterAll(async () => {
  await bot.stop();
});

// The shared helpers, bound to this file's bot.
const allKeyStatuses = (users: Seeded[]) => size.allKeyStatuses(bot, users);
const hasConsole = (u: Seeded) => size.hasConsole(bot, u);
const userDeactivated = (member: string) => size.userDeactivated(bot, member);
const reportsOf = (member: string) => size.reportsOf(bot, member);
const offboarding = (member: string) => size.offboarding(bot, member);
const prepareLeaver = (member: string, prefix: string, perAccount = USERS_PER_ACCOUNT) =>
  size.prepareLeaver(bot, member, prefix, perAccount);
const killWorkerAtUpdateAccessKey = (n: number) => size.killWorkerAtUpdateAccessKey(bot, n);
const restoreWorker = () => size.restoreWorker(bot);

describe('an offboarding of one owner with 120 IAM users in two accounts', () => {
  const member = 'U0BIGOWNER1';
  let users: Seeded[];

  beforeAll(async () => {
    users = await prepareLeaver(member, 'big');
  }, LONG);

  it(
    'deactivates every key in many parts of the worker, records each user, and posts one report',
    async () => {
      await userDeactivated(member);
      await bot.drain();

      const statuses = await allKeyStatuses(users);
      const request = await offboarding(member);
      expect(Object.values(statuses).filter((s) => s !== 'Inactive')).toEqual([]);
      expect(Object.keys(statuses)).toHaveLength(users.reduce((n, u) => n + u.active.length + u.inactive.length, 0));
      expect(request.status).toBe('done');
      expect(recordsOf(request)).toEqual(expectedRecords(users));
      expect(reportsOf(member)).toHaveLength(1);
      expect(request.message).toBeDefined();
      // many parts, each handed to the next once
      const actions = await auditActions(bot, request.id);
      expect(request.run?.part).toBeGreaterThan(5);
      expect(actions.filter((a) => a === 'run-continued')).toHaveLength((request.run?.part ?? 0) - 1);
      expect(actions.filter((a) => a === 'offboarded')).toHaveLength(1);
      for (const u of users.filter((x) => x.console)) expect(await hasConsole(u), u.userName).toBe(false);
    },
    LONG,
  );
});

describe('an offboarding of 120 IAM users whose worker is killed in the middle of a part', () => {
  const member = 'U0BIGOWNER2';
  let users: Seeded[];
  let killedJob: Job;

  beforeAll(async () => {
    users = await prepareLeaver(member, 'cut');
  }, LONG);
  afterAll(restoreWorker);

  it(
    'finishes with the same end state once Lambda retries the killed part',
    async () => {
      const killed = killWorkerAtUpdateAccessKey(100); // well past the first parts (about 150 keys in all)

      await userDeactivated(member);
      await bot.drain();
      killedJob = await killed;
      const during = await offboarding(member);
      const activeWhileDead = Object.values(await allKeyStatuses(users)).filter((s) => s === 'Active').length;
      restoreWorker();
      clock.advance(2 * MINUTE); // the invocation timed out; Lambda retries it a minute later: both leases are over
      await bot.runJob(killedJob);
      await bot.drain();

      const statuses = await allKeyStatuses(users);
      const request = await offboarding(member);
      expect(during.status).toBe('provisioning');
      expect(activeWhileDead).toBeGreaterThan(0);
      expect(Object.values(statuses).filter((s) => s !== 'Inactive')).toEqual([]);
      expect(request.status).toBe('done');
      expect(recordsOf(request)).toEqual(expectedRecords(users));
      expect(reportsOf(member)).toHaveLength(1);
      expect(killedJob.type).toBe('run-part'); // a continuation part was the one killed
      expect(Number(killedJob.payload.part)).toBeGreaterThan(1);
    },
    LONG,
  );

  it(
    'Reactivate on the report restores exactly the keys the offboarding deactivated',
    async () => {
      const request = await offboarding(member);

      const { result } = await bot.clickButton({
        userId: 'U0APPROVER1',
        actionId: OFFBOARD_REACTIVATE,
        value: request.id,
        blockId: `offboard_actions_${request.id}`,
        ...(request.message ? { message: request.message } : {}),
      });
      await bot.drain();

      const statuses = await allKeyStatuses(users);
      expect(result.statusCode).toBe(200);
      expect(statuses).toEqual(size.statusesBefore(users)); // a key inactive before the offboarding stays so
      expect((await offboarding(member)).offboard?.reactivation?.phase).toBe('reactivated');
    },
    LONG,
  );
});
