/**
 * Access reviews from real use (issue 22): the daily review task asks IAM which services each owned managed user used
 * and which services each of its policy groups grants (GenerateServiceLastAccessedDetails, collected on a later run
 * with GetServiceLastAccessedDetails), then DMs each owner one review with Keep / Remove per membership and Delete for
 * a user with no activity. moto 5.2.1 does not implement those two calls: ServiceLastAccessedStandIn answers them (and
 * only them), after the role checker has checked each against the worker's generated role. Everything else is real:
 * moto (users, groups, the removal), DynamoDB (the review's state), the recording Slack API, the injected clock.
 */
import { ListGroupsForUserCommand } from '@aws-sdk/client-iam';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REVIEW_DELETE, REVIEW_KEEP, REVIEW_REMOVE } from '../../src/blocks/ids.js';
import { DAY, HOUR } from '../../src/clock.js';
import { reviewTasks } from '../../src/jobs/schedule.js';
import { answerItemId } from '../../src/services/access-review.js';
import { refreshAccount } from '../../src/services/user-projection.js';
import { startTestBot, type TestBot } from '../support/bot.js';
import { existingUser } from '../support/changes.js';
import { testPolicy } from '../support/policy.js';
import { ServiceLastAccessedStandIn } from '../support/service-last-accessed.js';

const OWNER = 'U0REVIEWOWNER';
const INTRUDER = 'U0REVIEWOTHER';
const EVERY_DAYS = 30;
const CALLS_PER_RUN = 4;
const usage = new ServiceLastAccessedStandIn();
let bot: TestBot;
let start = 0;

interface Button {
  action_id: string;
  value: string;
  text: { text: string };
}

beforeAll(async () => {
  bot = await startTestBot({
    // one part a day: the round spread over daily runs (access-review-parts.test.ts runs a day's continuation parts)
    env: { SLACK_BOT_ID: 'B0BOT', SLACK_BOT_USER_ID: 'U0BOT', REVIEW_MAX_PARTS: '1' },
    policy: { ...testPolicy(), reviews: { everyDays: EVERY_DAYS, callsPerRun: CALLS_PER_RUN } },
    members: [OWNER, INTRUDER],
    decorateClient: usage.decorate,
  });
  start = Date.now();
  bot.clock.set(new Date(start));
  // review-used: used S3 (which ci-deployers grants), nothing read-only grants; review-idle: used nothing at all
  await existingUser(bot, 'review-used', { owner: OWNER, groups: ['ci-deployers', 'read-only'] });
  await existingUser(bot, 'review-idle', { owner: OWNER, groups: ['billing-viewers'] });
  usage.grants.set('ci-deployers', ['codebuild', 's3']);
  usage.grants.set('read-only', ['cloudwatch', 'ec2']);
  usage.grants.set('billing-viewers', ['aws-portal']);
  usage.groupsOf.set('review-used', ['ci-deployers', 'read-only']);
  usage.groupsOf.set('review-idle', ['billing-viewers']);
  usage.use('review-used', 's3', new Date(start - 3 * DAY));
  // used once, long before the period: not counted
  usage.use('review-idle', 'aws-portal', new Date(start - (EVERY_DAYS + 5) * DAY));
  await bot.as('worker', () => refreshAccount(bot.deps, 'home', { reportWaitMs: 60_000 }));
});
afterAll(async () => {
  await bot.stop();
});

const reviewDms = () =>
  bot.slack
    .callsOf('chat.postMessage')
    .filter((c) => c.args.channel === OWNER && String(c.args.text).startsWith('Access review'));
const buttonsOf = (dm: { args: Record<string, unknown> }): Button[] =>
  ((dm.args.blocks ?? []) as { type: string; elements?: Button[]; accessory?: Button }[]).flatMap((b) => [
    ...(b.elements ?? []),
    ...(b.accessory ? [b.accessory] : []),
  ]);
const button = (dm: { args: Record<string, unknown> }, actionId: string, user: string, group?: string) =>
  buttonsOf(dm).find((b) => {
    if (!b.value) return false;
    const v = JSON.parse(b.value) as { u: string; g?: string };
    return b.action_id === actionId && v.u === user && v.g === group;
  });
const iamCalls = () => bot.awsCalls.filter((c) => c.startsWith('iam:')).length;

/** Runs the daily review on day `day` (from the start) and lets the worker finish; returns its IAM calls. */
async function reviewOnDay(day: number): Promise<number> {
  bot.clock.set(new Date(start + day * DAY + HOUR));
  const before = iamCalls();
  await bot.schedule(reviewTasks);
  await bot.drain();
  return iamCalls() - before;
}

const answerTo = (responseId: string) =>
  bot.slack
    .callsOf('response_url')
    .filter((c) => c.args.response_id === responseId)
    .map((c) => String(c.args.text));
const groupsOf = async (userName: string) =>
  (await bot.deps.aws.account().iam.send(new ListGroupsForUserCommand({ UserName: userName }))).Groups?.map(
    (g) => g.GroupName,
  );

describe('the access review', () => {
  let day = 0;

  it('starts IAM jobs, collects them on later runs within the call budget, then DMs the owner once', async () => {
    // Prepare: IAM answers IN_PROGRESS to each job's first read
    usage.pollsInProgress = 1;

    // Act: the first run starts jobs and sends nothing; daily runs until the DM
    const callsPerRun = [await reviewOnDay(day)];
    expect(reviewDms()).toHaveLength(0);
    while (!reviewDms().length && day < 20) callsPerRun.push(await reviewOnDay(++day));

    // Assess: every run within the budget; each of the 5 jobs (2 users, 3 groups) started once; one DM
    expect(reviewDms()).toHaveLength(1);
    expect(callsPerRun.length).toBeGreaterThan(2);
    for (const calls of callsPerRun) expect(calls).toBeLessThanOrEqual(CALLS_PER_RUN);
    expect(usage.calls.get('GenerateServiceLastAccessedDetailsCommand')).toBe(5);
    // the round's cost: 3 IAM calls per user (start, one read while in progress, one page), 4 per group (GetGroup too)
    expect(callsPerRun.reduce((a, b) => a + b, 0)).toBe(2 * 3 + 3 * 4);
    expect([...usage.jobs.values()].map((j) => j.arn.split(':')[5]).sort()).toEqual([
      'group/billing-viewers',
      'group/ci-deployers',
      'group/read-only',
      'user/iam-slack-bot/review-idle',
      'user/iam-slack-bot/review-used',
    ]);
    // the next day: the round was sent, nothing more is asked of IAM nor sent
    expect(await reviewOnDay(++day)).toBe(0);
    expect(reviewDms()).toHaveLength(1);
  });

  it('offers Remove only for the membership whose services were not used, and Delete for a user with no activity', () => {
    // Prepare / Act: the DM of the first test
    const dm = reviewDms()[0];
    if (!dm) throw new Error('no review DM');
    const text = JSON.stringify(dm.args.blocks);

    // Assess
    expect(text).toContain('`ci-deployers`: used `s3`');
    expect(text).toContain('`read-only`: *nothing used*');
    expect(button(dm, REVIEW_REMOVE, 'review-used', 'read-only')).toBeDefined();
    expect(button(dm, REVIEW_REMOVE, 'review-used', 'ci-deployers')).toBeUndefined();
    expect(button(dm, REVIEW_KEEP, 'review-used', 'ci-deployers')).toBeDefined();
    expect(button(dm, REVIEW_KEEP, 'review-used', 'read-only')).toBeDefined();
    expect(button(dm, REVIEW_DELETE, 'review-used')).toBeUndefined();
    expect(button(dm, REVIEW_DELETE, 'review-idle')).toBeDefined();
    expect(button(dm, REVIEW_REMOVE, 'review-idle', 'billing-viewers')).toBeDefined();
  });

  it('Remove takes the user out of the group, once, and only for its owner and an unused membership', async () => {
    // Prepare
    const dm = reviewDms()[0];
    if (!dm) throw new Error('no review DM');
    const remove = button(dm, REVIEW_REMOVE, 'review-used', 'read-only');
    // a Remove the DM did not offer (ci-deployers' s3 was used), as a forged click would send it
    const forged = JSON.stringify({ ...JSON.parse(String(remove?.value)), g: 'ci-deployers' });

    // Act
    const intruder = await bot.clickButton({ userId: INTRUDER, actionId: REVIEW_REMOVE, value: String(remove?.value) });
    const used = await bot.clickButton({ userId: OWNER, actionId: REVIEW_REMOVE, value: forged });
    const first = await bot.clickButton({ userId: OWNER, actionId: REVIEW_REMOVE, value: String(remove?.value) });
    const second = await bot.clickButton({ userId: OWNER, actionId: REVIEW_REMOVE, value: String(remove?.value) });
    await bot.drain();

    // Assess
    expect(answerTo(intruder.responseId).join()).toContain('Only the owner');
    expect(answerTo(used.responseId).join()).toContain('used what `ci-deployers` grants');
    expect(answerTo(first.responseId).join()).toContain('Removing `review-used` from `read-only`');
    expect(answerTo(second.responseId).join()).toContain('Already answered: removed');
    expect(await groupsOf('review-used')).toEqual(['ci-deployers']);
    const requests = bot.slack
      .callsOf('chat.postMessage')
      .filter((c) => c.args.channel === OWNER && /removed from|Done/i.test(String(c.args.text)));
    expect(requests.length).toBeLessThanOrEqual(1);
  });

  it('Delete asks to delete the idle user through approval, as /iam delete-user by its owner would, once', async () => {
    // Prepare
    const dm = reviewDms()[0];
    if (!dm) throw new Error('no review DM');
    const del = String(button(dm, REVIEW_DELETE, 'review-idle')?.value);
    // a Delete the DM did not offer (review-used used s3)
    const forged = JSON.stringify({ ...JSON.parse(del), u: 'review-used' });

    // Act
    const refused = await bot.clickButton({ userId: OWNER, actionId: REVIEW_DELETE, value: forged });
    const first = await bot.clickButton({ userId: OWNER, actionId: REVIEW_DELETE, value: del });
    const second = await bot.clickButton({ userId: OWNER, actionId: REVIEW_DELETE, value: del });
    await bot.drain();

    // Assess: one deletion request, waiting for an approver; the user untouched until then
    expect(answerTo(refused.responseId).join()).toContain('was used in the period');
    expect(answerTo(first.responseId).join()).toMatch(/Your request `[^`]+` to delete `review-idle` is waiting/);
    expect(answerTo(second.responseId).join()).toContain('Already answered: deleted');
    const asks = bot.slack
      .callsOf('chat.postMessage')
      .filter((c) => c.args.channel === 'C0APPROVALS' && JSON.stringify(c.args).includes('review-idle'));
    expect(asks).toHaveLength(1);
    expect(JSON.stringify(asks[0]?.args)).toContain('no activity in 30 days');
    expect(await groupsOf('review-idle')).toEqual(['billing-viewers']);
  });

  it('Keep is recorded and not asked again in this review; the next review asks again', async () => {
    // Prepare
    const dm = reviewDms()[0];
    if (!dm) throw new Error('no review DM');
    const keep = String(button(dm, REVIEW_KEEP, 'review-idle', 'billing-viewers')?.value);

    // Act
    const kept = await bot.clickButton({
      userId: OWNER,
      actionId: REVIEW_KEEP,
      value: keep,
      message: { channel: OWNER, ts: '1700000000.000200', blocks: dm.args.blocks },
    });
    const again = await bot.clickButton({ userId: OWNER, actionId: REVIEW_KEEP, value: keep });
    await bot.drain();
    const quietDays = [];
    for (const d of [day + 1, EVERY_DAYS - 1]) quietDays.push(await reviewOnDay(d));

    // Assess: recorded once; no run before the next review asks again
    expect(answerTo(kept.responseId).join()).toContain('Kept: `review-idle` stays in `billing-viewers`');
    // the DM now says so in place of that membership's buttons; the others are still there
    const replaced = bot.slack
      .callsOf('response_url')
      .find((c) => c.args.response_id === kept.responseId && c.args.replace_original === true);
    const shown = { args: { blocks: replaced?.args.blocks } };
    expect(JSON.stringify(shown.args.blocks)).toContain(`Kept by <@${OWNER}>`);
    expect(button(shown, REVIEW_KEEP, 'review-idle', 'billing-viewers')).toBeUndefined();
    expect(button(shown, REVIEW_KEEP, 'review-used', 'ci-deployers')).toBeDefined();
    expect(answerTo(again.responseId).join()).toContain('Already answered: kept');
    const round = JSON.parse(keep).r as string;
    expect(
      await bot.deps.store.reminders.review(answerItemId('home', round, 'review-idle', 'billing-viewers')),
    ).toMatchObject({ state: 'kept', by: OWNER });
    expect(quietDays).toEqual([0, 0]);
    expect(reviewDms()).toHaveLength(1);

    // Act: `/iam report` shows the review's state
    await bot.command('report', 'U0APPROVER1');
    await bot.drain();

    // Assess: 4 asked (review-used's 2 memberships, review-idle's membership and its Delete), 1 left unanswered
    const report = bot.slack
      .callsOf('chat.postMessage')
      .filter((c) => c.args.channel === 'U0APPROVER1' && String(c.args.text).includes('report'))
      .map((c) => JSON.stringify(c.args.blocks))
      .at(-1);
    expect(report).toContain(`Access review of ${round}: 4 reviewed · 1 kept · 1 removed · 1 deleted · 1 unanswered`);

    // Act: the next review (everyDays after the first one started), collected over the following runs
    day = EVERY_DAYS;
    while (reviewDms().length < 2 && day < EVERY_DAYS + 20) await reviewOnDay(day++);

    // Assess: the kept membership is asked about again, the removed one is gone
    const next = reviewDms()[1];
    if (!next) throw new Error('no second review DM');
    expect(button(next, REVIEW_KEEP, 'review-idle', 'billing-viewers')).toBeDefined();
    expect(button(next, REVIEW_KEEP, 'review-used', 'read-only')).toBeUndefined();
    // a click on the first review's button is refused now
    const stale = await bot.clickButton({ userId: OWNER, actionId: REVIEW_REMOVE, value: keep });
    await bot.drain();
    expect(answerTo(stale.responseId).join()).toContain('This access review is over');
  });
});
