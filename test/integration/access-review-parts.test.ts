/**
 * The access review's continuation parts within a day's run (issue 22): a part makes at most `reviews.callsPerRun`
 * IAM calls and starts none that could not end within REVIEW_PART_MS of its invocation's start (here 10 s of the test
 * clock, each service last accessed call taking 3 s of it); a part stopped on its budget hands the rest to the next
 * part the same day (at most REVIEW_MAX_PARTS), so the round ends in one day instead of one part a day. moto lacks the
 * service last accessed calls: ServiceLastAccessedStandIn answers those two only, after the role checker.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REVIEW_KEEP } from '../../src/blocks/ids.js';
import { DAY, HOUR, ManualClock } from '../../src/clock.js';
import { reviewTasks } from '../../src/jobs/schedule.js';
import { runJob } from '../../src/jobs/worker.js';
import { refreshAccount } from '../../src/services/user-projection.js';
import { startTestBot, type TestBot } from '../support/bot.js';
import { existingUser } from '../support/changes.js';
import { testPolicy } from '../support/policy.js';
import { ServiceLastAccessedStandIn } from '../support/service-last-accessed.js';

const OWNER = 'U0PARTSOWNER';
const OTHER = 'U0PARTSOTHER';
const CALLS_PER_RUN = 4;
const BUDGET_MS = 10_000;
const CALL_MS = 3_000;
const clock = new ManualClock();
const usage = new ServiceLastAccessedStandIn();
let bot: TestBot;

beforeAll(async () => {
  bot = await startTestBot({
    clock,
    env: { REVIEW_PART_MS: String(BUDGET_MS), REVIEW_MAX_PARTS: '8' },
    policy: { ...testPolicy(), reviews: { everyDays: 30, callsPerRun: CALLS_PER_RUN } },
    members: [OWNER, OTHER],
    decorateClient: usage.decorate,
  });
  clock.set(new Date(Date.now()));
  await existingUser(bot, 'parts-a', { owner: OWNER, groups: ['ci-deployers', 'read-only'] });
  await existingUser(bot, 'parts-b', { owner: OWNER, groups: ['billing-viewers'] });
  await existingUser(bot, 'parts-c', { owner: OWNER, groups: ['read-only'] });
  usage.grants.set('ci-deployers', ['codebuild', 's3']);
  usage.grants.set('read-only', ['cloudwatch', 'ec2']);
  usage.grants.set('billing-viewers', ['aws-portal']);
  usage.groupsOf.set('parts-a', ['ci-deployers', 'read-only']);
  usage.groupsOf.set('parts-b', ['billing-viewers']);
  usage.groupsOf.set('parts-c', ['read-only']);
  usage.use('parts-a', 's3', new Date(clock.now().getTime() - 2 * DAY));
  await bot.as('worker', () => refreshAccount(bot.deps, 'home', { reportWaitMs: 60_000 }));
});
afterAll(async () => {
  await bot.stop();
});

describe('the access review’s parts', () => {
  it('goes on in continuation parts the same day, each within its calls and time, and DMs the owner once', async () => {
    // Prepare: IAM's service last accessed calls take 3 s of the test clock and answer at once (no IN_PROGRESS);
    // each access-review part's IAM calls and time on the clock
    usage.pollsInProgress = 0;
    usage.onCall = () => clock.advance(CALL_MS);
    const parts: { id: string; calls: number; ms: number }[] = [];
    const iamCalls = () => bot.awsCalls.filter((c) => c.startsWith('iam:')).length;
    bot.dispatcher.setRunner(async (job) => {
      const started = clock.now().getTime();
      const before = iamCalls();
      const out = await runJob(bot.deps, job);
      if (job.type === 'access-review' && job.payload.account === 'home')
        parts.push({ id: job.id, calls: iamCalls() - before, ms: clock.now().getTime() - started });
      return out;
    });

    // Act: one day's run
    clock.advance(HOUR);
    try {
      await bot.schedule(reviewTasks);
      await bot.drain();
    } finally {
      usage.onCall = () => {};
      bot.dispatcher.setRunner((job) => runJob(bot.deps, job));
    }

    // Assess: several parts that day, each within both budgets; every job (3 users, 3 groups) started once; one DM
    expect(parts.length).toBeGreaterThan(2);
    expect(parts.length).toBeLessThanOrEqual(8);
    expect(new Set(parts.map((p) => p.id)).size).toBe(parts.length);
    for (const part of parts) {
      expect(part.calls, part.id).toBeLessThanOrEqual(CALLS_PER_RUN);
      expect(part.ms, part.id).toBeLessThanOrEqual(BUDGET_MS);
    }
    expect(usage.calls.get('GenerateServiceLastAccessedDetailsCommand')).toBe(6);
    const dms = bot.slack
      .callsOf('chat.postMessage')
      .filter((c) => c.args.channel === OWNER && String(c.args.text).startsWith('Access review'));
    expect(dms).toHaveLength(1);
    expect(JSON.stringify(dms[0]?.args.blocks)).toContain('`parts-c`');
  });

  it('shows the owner’s unanswered review in the App Home, with what is left to answer after a Keep', async () => {
    // Prepare: the DM of the first test, and a Keep button of it
    const dm = bot.slack
      .callsOf('chat.postMessage')
      .find((c) => c.args.channel === OWNER && String(c.args.text).startsWith('Access review'));
    const keep = ((dm?.args.blocks ?? []) as { elements?: { action_id: string; value: string }[] }[])
      .flatMap((b) => b.elements ?? [])
      .find((e) => e.action_id === REVIEW_KEEP && JSON.parse(e.value).g === 'read-only');
    if (!keep) throw new Error('no Keep button in the review DM');

    // Act
    const before = await openHome(OWNER, 1);
    await bot.clickButton({ userId: OWNER, actionId: REVIEW_KEEP, value: keep.value });
    await bot.drain();
    const after = await openHome(OWNER, 2);
    const other = await openHome(OTHER, 3);

    // Assess: 4 memberships (parts-a's two, parts-b's, parts-c's) and 2 idle users; one fewer after the Keep
    expect(before).toMatch(
      /Access review of \d{4}-\d{2}-\d{2}: 4 memberships and 2 idle users \(Delete offered\) to answer/,
    );
    expect(before).toContain('in the review DM I sent you');
    expect(after).toMatch(/Access review of \d{4}-\d{2}-\d{2}: 3 memberships and 2 idle users/);
    expect(other).not.toContain('Access review');
  });
});

/** Opens `user`'s App Home (`n`: the opening's number, its event_ts; the same one is published once). */
async function openHome(user: string, n: number): Promise<string> {
  const result = await bot.send(
    JSON.stringify({
      type: 'event_callback',
      team_id: 'T0TEAM',
      api_app_id: 'A0APP',
      event_id: `Ev0REVIEWHOME${n}`,
      event_time: 1_700_000_000,
      event: { type: 'app_home_opened', user, channel: 'D0HOME', tab: 'home', event_ts: `1700000000.${n}` },
    }),
    { contentType: 'application/json' },
  );
  expect(result.statusCode).toBe(200);
  await bot.drain();
  const publish = bot.slack
    .callsOf('views.publish')
    .filter((c) => c.args.user_id === user)
    .at(-1);
  return JSON.stringify(publish?.args.view ?? {});
}
