/**
 * The daily owner check's time budget per part (OWNER_CHECK_PART_MS, here 10 s of the test clock): a part starts no
 * users.list page or users.info lookup that the slowest one so far says would end past it (issue 20: a slow page
 * started near the end of the 40 s budget ended a part at 47.1 s). Slack's latency is given on the test clock: each
 * users.list page the bot asks for takes 4 s, each users.info 3 s (the strict Slack stand-in answers them).
 */
import { CreateUserCommand, type IAMClient } from '@aws-sdk/client-iam';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DAY, ManualClock } from '../../src/clock.js';
import { runJob } from '../../src/jobs/worker.js';
import { reconcileOwners } from '../../src/services/owner-check.js';
import { startTestBot, type TestBot } from '../support/bot.js';
import { testPolicy } from '../support/policy.js';

let bot: TestBot;
let iam: IAMClient;
const clock = new ManualClock(new Date());
const PATH = '/iam-slack-bot/';
const BUDGET_MS = 10_000;
const OWNERS = Array.from({ length: 9 }, (_, i) => `U0BUDGET${i}A`);
const OTHER_ORG = 'U0BUDGETOTHER'; // not listed by users.list: asked with users.info
const GONE = 'U0BUDGETGONE';

beforeAll(async () => {
  bot = await startTestBot({
    clock,
    policy: testPolicy({ users: { path: PATH }, leavers: { action: 'disable', exclude: [], recoveryDays: 30 } }),
    members: OWNERS,
    env: {
      OWNER_CHECK_PART_MS: String(BUDGET_MS),
      OWNER_CHECK_PAGE_SIZE: '4',
      OWNER_CHECK_PAGES_PER_PART: '10',
      OWNER_CHECK_LOOKUPS_PER_PART: '10',
    },
  });
  iam = bot.deps.aws.account().iam;
  bot.slack.members.add({ id: OTHER_ORG, otherOrg: true }, GONE);
  for (const owner of [...OWNERS, OTHER_ORG, GONE])
    await iam.send(
      new CreateUserCommand({
        UserName: `ob-${owner.toLowerCase()}`,
        Path: PATH,
        Tags: [{ Key: 'slack-user-id', Value: owner }],
      }),
    );
  await bot.schedule(); // the projection (its refresh parts run in the worker)
  await bot.drain();
});
afterAll(async () => {
  await bot.stop();
});

describe('the daily owner check’s budget per part', () => {
  it('starts no page or lookup that could not end within OWNER_CHECK_PART_MS, and still answers for every owner', async () => {
    // Prepare: Slack's latency on the test clock; each owner-check part's start and end on it
    bot.slack.members.deactivate(GONE);
    bot.slack.clear();
    const messenger = bot.deps.messenger;
    const listMembers = messenger.listMembers.bind(messenger);
    const memberStatus = messenger.memberStatus.bind(messenger);
    messenger.listMembers = async (args) => {
      clock.advance(4_000);
      return listMembers(args);
    };
    messenger.memberStatus = async (id) => {
      clock.advance(3_000);
      return memberStatus(id);
    };
    const parts: { id: string; ms: number }[] = [];
    const leavers: string[] = [];
    bot.dispatcher.setRunner(async (job) => {
      const started = clock.now().getTime();
      if (job.type === 'leaver') {
        leavers.push(String(job.payload.member ?? job.id));
        return 'done';
      }
      const out = await runJob(bot.deps, job);
      if (job.type === 'owner-check') parts.push({ id: job.id, ms: clock.now().getTime() - started });
      return out;
    });

    // Act: the day's check, every part it hands on
    clock.advance(DAY);
    try {
      await bot.as('schedule', () => reconcileOwners(bot.deps));
      await bot.drain();
    } finally {
      messenger.listMembers = listMembers;
      messenger.memberStatus = memberStatus;
      bot.dispatcher.setRunner((job) => runJob(bot.deps, job));
    }

    // Assess: several parts, none past its budget; every owner listed or asked; the deactivated one handed on
    expect(parts.length).toBeGreaterThan(1);
    for (const part of parts) expect(part.ms, part.id).toBeLessThanOrEqual(BUDGET_MS);
    const listed = new Set(
      bot.slack.callsOf('users.list').flatMap((c) => ((c.answer?.members ?? []) as { id: string }[]).map((m) => m.id)),
    );
    const asked = bot.slack.callsOf('users.info').map((c) => String(c.args.user));
    for (const owner of [...OWNERS, GONE]) expect(listed.has(owner), owner).toBe(true);
    expect(asked).toEqual([OTHER_ORG]);
    expect(leavers).toEqual([GONE]);
  });
});
