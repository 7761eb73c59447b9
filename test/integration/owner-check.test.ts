/**
 * The daily check of every owner in worker parts, with budgets small enough (env OWNER_CHECK_*) that one day's check
 * takes several parts: users.list walked page by page across parts (the strict Slack stand-in's cursors), then
 * users.info for the owners the walk did not list. Moto holds the IAM users; the role checker checks every AWS call.
 */
import { CreateAccessKeyCommand, CreateUserCommand, type IAMClient, ListAccessKeysCommand } from '@aws-sdk/client-iam';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DAY, ManualClock } from '../../src/clock.js';
import { dailyTasks, runScheduledTasks } from '../../src/jobs/schedule.js';
import { leaverRequestId } from '../../src/services/kinds/offboard.js';
import { type OwnerCheckPayload, ownersOf, reconcileOwners, unseenKey } from '../../src/services/owner-check.js';
import { startTestBot, type TestBot } from '../support/bot.js';
import { APPROVALS } from '../support/create-user.js';
import { testPolicy } from '../support/policy.js';

let bot: TestBot;
let iam: IAMClient;
const clock = new ManualClock(new Date());
const PATH = '/iam-slack-bot/';
const ACTIVE = Array.from({ length: 8 }, (_, i) => `U0OWNER${i}A`);
const GONE = 'U0GONEZ'; // registered last: listed on the walk's last page
const OTHER_ORG = 'U0OTHERORG'; // a Slack Connect member: users.list does not list them, users.info knows them
const TYPO = 'U0TYPOZ'; // nobody: user_not_found

beforeAll(async () => {
  bot = await startTestBot({
    clock,
    policy: testPolicy({ users: { path: PATH }, leavers: { action: 'disable', exclude: [], recoveryDays: 30 } }),
    members: ACTIVE,
    env: {
      OWNER_CHECK_PAGE_SIZE: '3',
      OWNER_CHECK_PAGES_PER_PART: '2',
      OWNER_CHECK_LOOKUPS_PER_PART: '1',
      OWNER_CHECK_UNSEEN_PER_ITEM: '2',
    },
  });
  iam = bot.deps.aws.account().iam;
  bot.slack.members.add({ id: OTHER_ORG, otherOrg: true }, GONE);
  for (const owner of [...ACTIVE, GONE, OTHER_ORG, TYPO]) {
    const name = `oc-${owner.toLowerCase()}`;
    await iam.send(
      new CreateUserCommand({ UserName: name, Path: PATH, Tags: [{ Key: 'slack-user-id', Value: owner }] }),
    );
    await iam.send(new CreateAccessKeyCommand({ UserName: name }));
  }
  await bot.schedule(); // the projection
  await bot.drain(); // the projection refresh parts it hands the worker
});
afterAll(async () => {
  await bot.stop();
});

describe('the daily check of every owner, in parts', () => {
  it('walks users.list across parts, asks users.info only for owners it did not list, and offboards the one deactivated', async () => {
    // Prepare: one owner deactivated without any event; the jobs handed to the worker are noted
    bot.slack.members.deactivate(GONE);
    bot.slack.clear();
    const jobs: string[] = [];
    const payloads: Record<string, unknown>[] = [];
    const dispatch = bot.deps.dispatcher.dispatch;
    bot.deps.dispatcher.dispatch = async (job) => {
      jobs.push(job.id);
      if (job.type === 'owner-check') payloads.push(job.payload);
      return dispatch(job);
    };

    // Act: one day's run of the daily tasks, and every part it hands over
    clock.advance(DAY);
    try {
      await bot.as('schedule', () => runScheduledTasks(bot.deps, dailyTasks));
      await bot.drain();
    } finally {
      bot.deps.dispatcher.dispatch = dispatch;
    }

    // Assess: several parts; the walk followed Slack's cursors to the end; every owner was answered for
    const parts = jobs.filter((id) => id.startsWith('owner-check:'));
    const pages = bot.slack.callsOf('users.list');
    const listed = new Set(pages.flatMap((c) => ((c.answer?.members ?? []) as { id: string }[]).map((m) => m.id)));
    const asked = bot.slack.callsOf('users.info').map((c) => String(c.args.user));
    const members = bot.slack.members.size - 1; // the other organisation's member is not listed
    expect(parts.length).toBeGreaterThan(2);
    // the owners not yet seen travel in DynamoDB items of at most 2 (the budget), not in the payload: Lambda's
    // 256 KB payload held some 18,000 owners
    const continuations = payloads.filter((p) => p.part !== 1);
    expect(continuations.length).toBeGreaterThan(1);
    for (const p of continuations) {
      expect(p.unseen).toBeUndefined();
      expect(JSON.stringify(p).length).toBeLessThan(200);
    }
    const second = continuations[0] as unknown as OwnerCheckPayload;
    const kept: string[] = [];
    for (let i = 0; i < (second.unseenItems ?? 0); i++) {
      const ids = (await bot.deps.store.jobs.getIds(unseenKey(second.day, second.part, i))) ?? [];
      expect(ids.length).toBeLessThanOrEqual(2);
      kept.push(...ids);
    }
    expect(second.unseenItems).toBeGreaterThan(2);
    expect(kept).toContain(GONE);
    expect(pages).toHaveLength(Math.ceil(members / 3));
    expect(pages.slice(1).every((c) => typeof c.args.cursor === 'string' && c.args.cursor !== '')).toBe(true);
    for (const owner of [...ACTIVE, GONE]) expect(listed.has(owner)).toBe(true);
    // users.info: the two the walk did not list, and the leaver's own fresh check before anything is deactivated
    expect(asked.sort()).toEqual([GONE, OTHER_ORG, TYPO].sort());
    const gone = await iam.send(new ListAccessKeysCommand({ UserName: `oc-${GONE.toLowerCase()}` }));
    expect(gone.AccessKeyMetadata?.map((k) => k.Status)).toEqual(['Inactive']);
    expect((await bot.deps.store.requests.get(leaverRequestId(GONE)))?.offboard?.trigger).toBe('scan');
    for (const owner of [...ACTIVE, OTHER_ORG, TYPO])
      expect(await bot.deps.store.requests.get(leaverRequestId(owner))).toBeUndefined();
    const notices = bot.slack
      .callsOf('chat.postMessage')
      .filter((c) => c.args.channel === APPROVALS && String(c.args.text).includes(`<@${TYPO}>`));
    expect(notices).toHaveLength(1);
  });
});

describe('the daily resume of stopped offboardings', () => {
  it('reads every owner’s offboarding in one batched read, not one read per owner, and resumes none when none stopped', async () => {
    // Prepare: the projection's 11 owners; one of them has an offboarding already (the walk above offboarded GONE)
    const owners = await ownersOf(bot.deps);
    expect(owners.length).toBeGreaterThan(10);
    expect(await bot.deps.store.requests.get(leaverRequestId(GONE))).toBeDefined();
    const from = bot.awsCalls.length;

    // Act
    const done = await bot.as('schedule', () => reconcileOwners(bot.deps));

    // Assess: the projection's Query per account, then one BatchGetItem for all 11 offboarding ids (at most 100 a
    // call); before, one GetItem per owner (about 84 s on moto at 2,000 owners)
    const reads = bot.awsCalls.slice(from).filter((c) => c.startsWith('dynamodb:'));
    expect(reads.filter((c) => c === 'dynamodb:GetItem')).toEqual([]);
    expect(reads.filter((c) => c === 'dynamodb:BatchGetItem')).toHaveLength(1);
    expect(done).toMatchObject({ owners: owners.length, resumed: 0, checkStarted: 1 });
    await bot.drain();
  });
});
