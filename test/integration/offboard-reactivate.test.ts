/**
 * Reactivate on the resumable runner: the keys an offboarding deactivated are restored one step per key, each
 * checkpointed, in parts of the worker (the policy's `runner.maxStepsPerPart` set low), as steps added to the ended
 * offboarding's run. A part killed in the middle (one IAM UpdateAccessKey call never answers and the invocation gives
 * no answer, as when Lambda times out) is finished by Lambda's retry of it, or by the 15-minute stall sweep when
 * nothing retries it: exactly the keys the offboarding deactivated end active, each made active once. Moto holds the
 * users (12 per owner, in two accounts); the role checker evaluates every AWS call.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OFFBOARD_REACTIVATE } from '../../src/blocks/ids.js';
import { ManualClock } from '../../src/clock.js';
import type { Job } from '../../src/jobs/types.js';
import type { AccessRequest } from '../../src/store/requests.js';
import type { TestBot } from '../support/bot.js';
import { auditActions, repliesTo } from '../support/create-user.js';
import {
  allKeyStatuses,
  killWorkerAtUpdateAccessKey,
  offboarding,
  prepareLeaver,
  restoreWorker,
  type Seeded,
  startLeaversBot,
  statusesBefore,
  userDeactivated,
} from '../support/leavers-at-size.js';

/** A few steps per part: a Reactivate of 14 keys takes 4 parts. */
const MAX_STEPS_PER_PART = 4;
const USERS_PER_ACCOUNT = 6;
const MINUTE = 60_000;
const LONG = 180_000;

let bot: TestBot;
const clock = new ManualClock(new Date());

beforeAll(async () => {
  bot = await startLeaversBot({ clock, runner: { maxStepsPerPart: MAX_STEPS_PER_PART } });
});
afterAll(async () => {
  await bot.stop();
});

/** The worker's IAM UpdateAccessKey calls so far (role-checked: a call that never answered never reached IAM). */
const keyWrites = () => bot.roles.checked().filter((c) => c.action === 'iam:UpdateAccessKey').length;

const clickReactivate = (request: AccessRequest, userId: string) =>
  bot.clickButton({
    userId,
    actionId: OFFBOARD_REACTIVATE,
    value: request.id,
    blockId: `offboard_actions_${request.id}`,
    ...(request.message ? { message: request.message } : {}),
  });

/** The restored keys as the offboarding records them, sorted. */
const restoredKeys = (request: AccessRequest) => request.offboard?.users.flatMap((u) => u.restoredKeys ?? []).sort();

/** Offboards the member (run to its end), then clicks Reactivate with the worker killed at its `n`-th key write. */
async function reactivateKilledAt(member: string, users: Seeded[], n: number) {
  await userDeactivated(bot, member);
  await bot.drain();
  const offboarded = await offboarding(bot, member);
  const writesBefore = keyWrites();
  const killed = killWorkerAtUpdateAccessKey(bot, n);
  const click = await clickReactivate(offboarded, 'U0APPROVER1');
  await bot.drain();
  const killedJob = await killed;
  const during = await offboarding(bot, member);
  const activeWhileDead = Object.values(await allKeyStatuses(bot, users)).filter((s) => s === 'Active').length;
  restoreWorker(bot);
  return { offboarded, writesBefore, click, killedJob, during, activeWhileDead };
}

describe('Reactivate of an offboarding of 12 IAM users whose part is killed midway', () => {
  const member = 'U0REACTIV1';
  let users: Seeded[];
  let killedJob: Job;

  beforeAll(async () => {
    users = await prepareLeaver(bot, member, 'rva', USERS_PER_ACCOUNT);
  }, LONG);

  it(
    'restores in several parts exactly the keys the offboarding deactivated, each once, after Lambda retries the killed part',
    async () => {
      const deactivated = users.flatMap((u) => u.active);
      const killedAt = await reactivateKilledAt(member, users, 7); // in the second part
      killedJob = killedAt.killedJob;

      clock.advance(2 * MINUTE); // the invocation timed out; Lambda retries it: both leases are over
      await bot.runJob(killedJob);
      await bot.drain();

      const request = await offboarding(bot, member);
      const actions = await auditActions(bot, request.id);
      const sinceClick = actions.slice(actions.indexOf('reactivate-requested'));
      expect(killedAt.click.result.statusCode).toBe(200);
      expect(killedAt.during.offboard?.reactivation?.phase).toBe('reactivating');
      expect(killedAt.activeWhileDead).toBe(6); // the first part's 4 keys and 2 of the killed part's
      expect(killedJob.type).toBe('run-part');
      expect(await allKeyStatuses(bot, users)).toEqual(statusesBefore(users));
      expect(keyWrites() - killedAt.writesBefore).toBe(deactivated.length); // each key made active once
      expect(restoredKeys(request)).toEqual([...deactivated].sort());
      expect(request.status).toBe('done');
      expect(request.offboard?.reactivation?.phase).toBe('reactivated');
      expect(sinceClick.filter((a) => a === 'run-continued').length).toBeGreaterThanOrEqual(3);
      expect(sinceClick.filter((a) => a === 'reactivated')).toHaveLength(1);
      expect(request.run?.cursor).toBe(request.run?.steps.length);
    },
    LONG,
  );

  it('is refused when clicked again, changing nothing', async () => {
    const request = await offboarding(bot, member);
    const writes = keyWrites();

    const { responseId } = await clickReactivate(request, 'U0APPROVER2');
    await bot.drain();

    expect(repliesTo(bot, responseId).join(' ')).toContain('already reactivated');
    expect(keyWrites()).toBe(writes);
    expect((await offboarding(bot, member)).run?.steps.length).toBe(request.run?.steps.length);
  });
});

describe('Reactivate of an offboarding of 12 IAM users whose killed part nothing retries', () => {
  const member = 'U0REACTIV2';
  let users: Seeded[];

  beforeAll(async () => {
    users = await prepareLeaver(bot, member, 'rvb', USERS_PER_ACCOUNT);
  }, LONG);

  it(
    'is finished by the 15-minute stall sweep from its checkpoint, with exactly the deactivated keys active',
    async () => {
      const deactivated = users.flatMap((u) => u.active);
      const killedAt = await reactivateKilledAt(member, users, 10); // in the third part

      clock.advance(16 * MINUTE);
      const swept = await bot.schedule();
      await bot.drain();

      const request = await offboarding(bot, member);
      expect(killedAt.activeWhileDead).toBe(9);
      expect(swept['resume-stalled-runs']).toEqual({ resumed: 1, failed: 0 });
      expect(await allKeyStatuses(bot, users)).toEqual(statusesBefore(users));
      expect(keyWrites() - killedAt.writesBefore).toBe(deactivated.length);
      expect(restoredKeys(request)).toEqual([...deactivated].sort());
      expect(request.status).toBe('done');
      expect(request.offboard?.reactivation?.phase).toBe('reactivated');
      expect(await auditActions(bot, request.id)).toContain('run-resumed');
    },
    LONG,
  );
});
