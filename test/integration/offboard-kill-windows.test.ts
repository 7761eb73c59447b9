/**
 * The two kill windows of an offboarding's end, closed: the member's pending requests are cancelled one step per
 * request (a part killed after a cancellation and before its checkpoint still records that request as cancelled, by
 * this offboarding), and the report records where it was posted as soon as Slack answers, so a part killed after the
 * post updates it instead of posting it again. The one doubled message left: a kill between Slack's answer to the
 * post and that write (Slack has no idempotency key). And a killed part that Lambda never retries is finished by the
 * stall sweep, or by the daily check of owners, from its checkpoint. Moto holds the users (a few per owner, in two
 * accounts); the role checker evaluates every AWS call.
 */
import { CreateUserCommand } from '@aws-sdk/client-iam';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/clock.js';
import { dailyTasks, runScheduledTasks } from '../../src/jobs/schedule.js';
import type { AccessRequest } from '../../src/store/requests.js';
import type { TestBot } from '../support/bot.js';
import { changeRequestFor } from '../support/changes.js';
import { auditActions, shownText } from '../support/create-user.js';
import {
  allKeyStatuses,
  expectedRecords,
  killWorkerAt,
  killWorkerAtUpdateAccessKey,
  offboarding,
  PATH,
  prepareLeaver,
  recordsOf,
  reportsOf,
  restoreWorker,
  type Seeded,
  startLeaversBot,
  userDeactivated,
} from '../support/leavers-at-size.js';

const MINUTE = 60_000;
/** Time for one test on a loaded 2-core machine (the whole suite runs beside it). */
const LONG = 180_000;

let bot: TestBot;
const clock = new ManualClock(new Date());

beforeAll(async () => {
  // U0CAROL: the new owner of the member's pending requests: a person Slack knows
  bot = await startLeaversBot({ clock, runner: { maxStepsPerPart: 4 }, members: ['U0CAROL'] });
});
afterAll(async () => {
  restoreWorker(bot);
  await bot.stop();
});

const stored = async (id: string) => (await bot.deps.store.requests.get(id)) as AccessRequest;

/** Audit actions of a request, in order. */
const actionsOf = async (id: string) => (await bot.deps.store.audit.list(`request#${id}`)).map((e) => e.action);

describe('an offboarding killed right after it cancelled one of the member’s pending requests', () => {
  const member = 'U0KWINDOW1';
  let pendingIds: string[];

  beforeAll(async () => {
    for (const name of ['kw-bob-1', 'kw-bob-2'])
      await bot.deps.aws
        .account()
        .iam.send(
          new CreateUserCommand({ UserName: name, Path: PATH, Tags: [{ Key: 'slack-user-id', Value: 'U0BOB' }] }),
        );
    await prepareLeaver(bot, member, 'kwa', 1);
    bot.slack.members.reactivate(member); // until their requests are in
    pendingIds = [];
    for (const name of ['kw-bob-1', 'kw-bob-2']) {
      const { responseId } = await bot.command(`set-owner ${name} <@U0CAROL|carol> --reason "Carol runs it"`, member);
      await bot.drain();
      expect(shownText(bot, responseId)).toContain('is waiting for approval');
      pendingIds.push((await changeRequestFor(bot, name)).id);
    }
    bot.slack.members.deactivate(member);
  }, LONG);

  it(
    'records both requests as cancelled, each cancelled once, once Lambda retries the killed part',
    async () => {
      // the first cancellation's message update never answers: the request is denied, the checkpoint not written
      const killed = killWorkerAt(bot, {
        messenger: (method, args) => method === 'update' && pendingIds.some((id) => JSON.stringify(args).includes(id)),
      });

      await userDeactivated(bot, member);
      await bot.drain();
      const killedJob = await killed;
      const whileDead = await Promise.all(pendingIds.map(stored));
      restoreWorker(bot);
      clock.advance(2 * MINUTE); // Lambda retries the timed-out part: both leases are over
      await bot.runJob(killedJob);
      await bot.drain();

      const request = await offboarding(bot, member);
      expect(whileDead.filter((r) => r.status === 'denied')).toHaveLength(1);
      expect(request.status).toBe('done');
      expect([...(request.offboard?.cancelled ?? [])].sort()).toEqual([...pendingIds].sort());
      for (const id of pendingIds) {
        const cancelled = await stored(id);
        expect(cancelled.status).toBe('denied');
        expect(cancelled.decision?.reason).toContain(member);
        expect((await actionsOf(id)).filter((a) => a === 'cancelled')).toHaveLength(1);
      }
      expect((await actionsOf(request.id)).filter((a) => a === 'pending-cancelled')).toHaveLength(2);
    },
    LONG,
  );
});

describe('an offboarding killed after it posted its report, before the step’s checkpoint', () => {
  const member = 'U0KWINDOW2';

  it(
    'posts the report once, and the retried part brings it up to date',
    async () => {
      const users = await prepareLeaver(bot, member, 'kwb', 2);
      // the App Home refresh handed over after the post never answers
      const killed = killWorkerAt(bot, { dispatch: (job) => job.id.startsWith(`home:offboard:`) });

      await userDeactivated(bot, member);
      await bot.drain();
      const killedJob = await killed;
      const whileDead = await offboarding(bot, member);
      restoreWorker(bot);
      clock.advance(2 * MINUTE);
      await bot.runJob(killedJob);
      await bot.drain();

      const request = await offboarding(bot, member);
      expect(reportsOf(bot, member)).toHaveLength(1);
      expect(whileDead.run?.steps[whileDead.run.cursor]?.op).toBe('report'); // killed in the report step
      expect(request.message).toBeDefined();
      expect(request.status).toBe('done');
      expect(request.run?.cursor).toBe(request.run?.steps.length);
      expect(Object.values(await allKeyStatuses(bot, users)).filter((s) => s !== 'Inactive')).toEqual([]);
      const updates = bot.slack
        .callsOf('chat.update')
        .filter((c) => c.args.ts === request.message?.ts && c.args.channel === request.message?.channel);
      expect(updates.length).toBeGreaterThan(0);
    },
    LONG,
  );
});

describe('an offboarding (20 IAM users in two accounts) whose killed part Lambda never retries', () => {
  const member = 'U0BIGOWNER3';
  let users: Seeded[];

  beforeAll(async () => {
    users = await prepareLeaver(bot, member, 'lost', 10);
  }, LONG);
  afterAll(() => restoreWorker(bot));

  it(
    'is finished by the 15-minute stall sweep from its checkpoint, not failed',
    async () => {
      const killed = killWorkerAtUpdateAccessKey(bot, 12);
      await userDeactivated(bot, member);
      await bot.drain();
      await killed;
      restoreWorker(bot);

      clock.advance(16 * MINUTE);
      const swept = await bot.schedule();
      await bot.drain();

      const request = await offboarding(bot, member);
      expect(swept['resume-stalled-runs']).toEqual({ resumed: 1, failed: 0 });
      expect(swept['fail-stalled-provisioning']).toEqual({ stalled: 0 });
      expect(Object.values(await allKeyStatuses(bot, users)).filter((s) => s !== 'Inactive')).toEqual([]);
      expect(request.status).toBe('done');
      expect(recordsOf(request)).toEqual(expectedRecords(users));
      expect(reportsOf(bot, member)).toHaveLength(1);
      expect(await auditActions(bot, request.id)).toContain('run-resumed');
    },
    LONG,
  );
});

describe('an offboarding (10 IAM users in two accounts) whose killed part nothing retries', () => {
  const member = 'U0BIGOWNER4';
  let users: Seeded[];

  beforeAll(async () => {
    users = await prepareLeaver(bot, member, 'day', 5);
  }, LONG);
  afterAll(() => restoreWorker(bot));

  it(
    'is resumed from its checkpoint by the daily check of owners, before the stall sweep would',
    async () => {
      const killed = killWorkerAtUpdateAccessKey(bot, 4);
      await userDeactivated(bot, member);
      await bot.drain();
      await killed;
      restoreWorker(bot);

      clock.advance(2 * MINUTE); // the lease is over, the stall time is not
      const daily = await bot.as('schedule', () => runScheduledTasks(bot.deps, dailyTasks));
      await bot.drain();

      const request = await offboarding(bot, member);
      expect(Object.values(await allKeyStatuses(bot, users)).filter((s) => s !== 'Inactive')).toEqual([]);
      expect(request.status).toBe('done');
      expect(recordsOf(request)).toEqual(expectedRecords(users));
      expect(reportsOf(bot, member)).toHaveLength(1);
      expect(daily['reconcile-owners']).toMatchObject({ resumed: 1 });
    },
    LONG,
  );
});
