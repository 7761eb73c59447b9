/**
 * Break-glass (issue 21): `/iam add-to-group <user> <group> --for 1h --break-glass --reason "..."` by the owner of
 * the IAM user adds it at once, without approval, for at most the group's break-glass duration; the approval channel
 * gets a loud post with Reviewed (approvers only, never the requester); unreviewed after `reviewWithin` (24h by
 * default) an escalation names the approvers. From the signed command to IAM in moto, every AWS call checked against
 * the shipped roles; time is the test clock (ManualClock), moved to the instants that matter, never the wall clock.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { minuteTasks, runScheduledTasks } from '../../src/jobs/schedule.js';
import { GRANT_REVIEWED } from '../../src/kinds/temporary-membership/break-glass.js';
import { GRANT_EXTEND } from '../../src/kinds/temporary-membership/messages.js';
import type { AccessRequest } from '../../src/store/requests.js';
import { startTestBot, type TestBot } from '../support/bot.js';
import { existingUser, groupsOf } from '../support/changes.js';
import { APPROVALS, auditActions, repliesTo, shownText } from '../support/create-user.js';
import { testPolicy } from '../support/policy.js';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
// Each test plays a day of the test clock through the one-minute task: more than the default 30 s on a loaded machine.
vi.setConfig({ testTimeout: 120_000 });

let bot: TestBot;
beforeAll(async () => {
  const policy = testPolicy();
  bot = await startTestBot({
    policy: {
      ...policy,
      groups: [
        {
          name: 'emergency',
          description: 'Break-glass admin',
          approvers: { users: ['U0APPROVER1', 'U0APPROVER2', 'U0GUESTAPPROVER'] },
          breakGlass: { maxDuration: '1h' },
        },
        {
          name: 'quick-review',
          description: 'Reviewed within 2 hours',
          approvers: { users: ['U0APPROVER1', 'U0APPROVER2'] },
          breakGlass: { maxDuration: '1h', reviewWithin: '2h' },
        },
        {
          name: 'fast-review',
          description: 'Reviewed within 30 minutes',
          breakGlass: { maxDuration: '1h', reviewWithin: '30m' },
        },
        { name: 'read-only', description: 'Read-only' },
      ],
    },
    members: ['U0OWNER', 'U0STRANGER', 'U0OTHER', { id: 'U0GUESTAPPROVER', guest: 'multi' }],
  });
});
afterAll(async () => {
  await bot.stop();
});

let seq = 0;
const nextName = (what: string) => `${what}-${++seq}`;

async function command(text: string, userId: string): Promise<string> {
  const { result, responseId } = await bot.command(text, userId);
  expect(result.statusCode).toBe(200);
  await bot.drain();
  return shownText(bot, responseId);
}

/** The one-minute schedule (wake-due-runs) at `at`, as the schedule function runs it, then the worker's jobs. */
async function tickAt(at: number) {
  bot.clock.set(new Date(at));
  await bot.as('schedule', () => runScheduledTasks(bot.deps, minuteTasks));
  await bot.drain();
}

/** Every stored request about `userName`. */
async function requestsAbout(userName: string): Promise<AccessRequest[]> {
  const items = await bot.deps.store.requests.model.scan().exec();
  return items.filter((r) => r.userName === userName) as unknown as AccessRequest[];
}

/** The break-glass grant of a user U0OWNER owns, by U0OWNER: the command's answer and the request as stored. */
async function brokeGlass(name: string, group = 'emergency', owner = 'U0OWNER') {
  await existingUser(bot, name, { owner });
  const answer = await command(
    `add-to-group ${name} ${group} --for 1h --break-glass --reason "Prod is down, INC-42"`,
    owner,
  );
  const [request] = await requestsAbout(name);
  expect(request, `a request for ${name}`).toBeDefined();
  return { answer, request: (await bot.deps.store.requests.get(request?.id ?? '')) as AccessRequest };
}

/** Posts to the approval channel about `request` (the break-glass post, escalations), as JSON text. */
const channelPosts = (request: AccessRequest) =>
  bot.slack
    .callsOf('chat.postMessage')
    .filter((c) => c.args.channel === APPROVALS && JSON.stringify(c.args).includes(request.id))
    .map((c) => JSON.stringify(c.args));

async function press(who: string, actionId: string, value: string): Promise<string[]> {
  const { responseId } = await bot.clickButton({
    userId: who,
    actionId,
    value,
    message: { channel: APPROVALS, ts: '1700000001.000100' },
  });
  await bot.drain();
  return repliesTo(bot, responseId);
}

describe('a break-glass grant', () => {
  it('is added at once by the owner without an approver, posted loudly in the approval channel, audited as break-glass, and removed at the end', async () => {
    // Prepare
    const name = nextName('glass');

    // Act
    const { answer, request } = await brokeGlass(name);
    const addedAt = bot.clock.now().getTime();
    const inAtOnce = await groupsOf(bot, name);
    await tickAt(addedAt + 59 * MINUTE);
    const inAt59 = await groupsOf(bot, name);
    await tickAt(addedAt + 61 * MINUTE);

    // Assess
    expect(answer).toContain('Break-glass');
    expect(request.kind).toBe('temporary-membership');
    expect(request.status).toBe('done');
    expect(request.approvals).toEqual([]);
    expect(inAtOnce).toEqual(['emergency']);
    expect(inAt59).toEqual(['emergency']);
    expect(await groupsOf(bot, name)).toEqual([]);
    const posts = channelPosts(request);
    expect(posts).toHaveLength(1);
    expect(posts[0]).toContain('BREAK-GLASS');
    expect(posts[0]).toContain('<@U0OWNER>');
    expect(posts[0]).toContain(name);
    expect(posts[0]).toContain('`emergency`');
    expect(posts[0]).toContain('Prod is down, INC-42');
    expect(posts[0]).toContain(`until <!date^${Math.floor((addedAt + HOUR) / 1000)}`);
    expect(posts[0]).toContain(GRANT_REVIEWED);
    const actions = await auditActions(bot, request.id);
    expect(actions.filter((a) => a === 'break-glass')).toHaveLength(1);
    expect(actions.filter((a) => a === 'grant-ending')).toHaveLength(1);
    const events = await bot.deps.store.audit.list(`request#${request.id}`);
    expect(events.find((e) => e.action === 'requested')?.detail.breakGlass).toBe(true);
  });

  it('is refused clearly for a group without breakGlass, a user the requester does not own, a duration beyond the limit and no reason, adding nothing', async () => {
    // Prepare
    const [closed, notMine, tooLong, noReason] = ['closed', 'not-mine', 'too-long', 'no-reason'].map(nextName);
    await existingUser(bot, closed as string, { owner: 'U0OWNER' });
    await existingUser(bot, notMine as string, { owner: 'U0OTHER' });
    await existingUser(bot, tooLong as string, { owner: 'U0OWNER' });
    await existingUser(bot, noReason as string, { owner: 'U0OWNER' });
    const opened = bot.slack.callsOf('views.open').length;

    // Act
    const answers = {
      closed: await command(`add-to-group ${closed} read-only --for 1h --break-glass --reason "Now"`, 'U0OWNER'),
      notMine: await command(`add-to-group ${notMine} emergency --for 1h --break-glass --reason "Now"`, 'U0OWNER'),
      tooLong: await command(`add-to-group ${tooLong} emergency --for 2h --break-glass --reason "Now"`, 'U0OWNER'),
      noReason: await command(`add-to-group ${noReason} emergency --for 1h --break-glass`, 'U0OWNER'),
    };

    // Assess
    expect(answers.closed).toContain('`read-only` does not allow break-glass');
    expect(answers.notMine).toContain(`Break-glass is for an IAM user you own: \`${notMine}\` is not yours`);
    expect(answers.tooLong).toContain('`emergency` allows break-glass for at most 1h');
    expect(answers.noReason).toContain('`--break-glass` needs `--reason');
    expect(bot.slack.callsOf('views.open').length).toBe(opened);
    // refused by the policy at submission: nothing stored
    for (const name of [closed, tooLong, noReason] as string[]) expect(await requestsAbout(name)).toEqual([]);
    // who owns the user only IAM says, asked by the worker after the command's answer: that request ended unposted
    const [refused, ...more] = await requestsAbout(notMine as string);
    expect(more).toEqual([]);
    expect(refused).toMatchObject({ status: 'expired' });
    expect(refused?.message).toBeUndefined();
    for (const name of [closed, notMine, tooLong, noReason] as string[]) expect(await groupsOf(bot, name)).toEqual([]);
  });

  it('is marked Reviewed by an approver once (audited, the post updated), never by the requester, a non-approver or a guest listed as approver, and is then not escalated', async () => {
    // Prepare: the owner is an approver of the group too; still, not of their own break-glass
    const name = nextName('reviewed');
    const { request } = await brokeGlass(name, 'emergency', 'U0APPROVER2');
    const addedAt = bot.clock.now().getTime();
    const before = (await bot.deps.store.requests.get(request.id)) as AccessRequest;

    // Act
    const stranger = await press('U0STRANGER', GRANT_REVIEWED, request.id);
    const requester = await press('U0APPROVER2', GRANT_REVIEWED, request.id);
    const guest = await press('U0GUESTAPPROVER', GRANT_REVIEWED, request.id);
    const afterRefusals = (await bot.deps.store.requests.get(request.id)) as AccessRequest;
    const reviewed = await press('U0APPROVER1', GRANT_REVIEWED, request.id);
    const twice = await press('U0APPROVER1', GRANT_REVIEWED, request.id);
    await tickAt(addedAt + 61 * MINUTE);
    await tickAt(addedAt + 24 * HOUR + MINUTE);

    // Assess
    expect(stranger.join()).toContain('You are not an approver');
    expect(requester.join()).toContain('You asked for this request');
    expect(guest.join()).toContain('Only full members of this workspace can review requests');
    expect(afterRefusals.version).toBe(before.version);
    expect(afterRefusals.grant?.breakGlass?.reviewed).toBeUndefined();
    expect(reviewed.join()).toContain('Marked reviewed');
    expect(twice.join()).toContain('Already reviewed by <@U0APPROVER1>');
    const stored = (await bot.deps.store.requests.get(request.id)) as AccessRequest;
    expect(stored.grant?.breakGlass?.reviewed?.by).toBe('U0APPROVER1');
    expect(stored.grant?.breakGlass?.escalatedAt).toBeUndefined();
    const actions = await auditActions(bot, request.id);
    expect(actions.filter((a) => a === 'break-glass.reviewed')).toHaveLength(1);
    expect(actions).not.toContain('break-glass-escalated');
    expect(channelPosts(request)).toHaveLength(1); // the post, no escalation
    const updates = bot.slack.callsOf('chat.update').filter((c) => JSON.stringify(c.args).includes(request.id));
    expect(JSON.stringify(updates.at(-1)?.args)).toContain('Reviewed by <@U0APPROVER1>');
    expect(JSON.stringify(updates.at(-1)?.args)).not.toContain(GRANT_REVIEWED);
    expect(await groupsOf(bot, name)).toEqual([]);
    expect(stored.run?.cursor).toBe(stored.run?.steps.length); // the run has finished
  });

  it('escalates once, naming the approvers, when nobody marks it Reviewed within a day, and not a minute before', async () => {
    // Prepare
    const name = nextName('escalated');
    const { request } = await brokeGlass(name);
    const addedAt = bot.clock.now().getTime();

    // Act
    await tickAt(addedAt + 61 * MINUTE); // the end
    await tickAt(addedAt + 24 * HOUR - MINUTE);
    const beforeDue = channelPosts(request).length;
    await tickAt(addedAt + 24 * HOUR + MINUTE);
    await tickAt(addedAt + 24 * HOUR + 2 * MINUTE); // a second run of the task escalates nothing more
    const late = await press('U0APPROVER1', GRANT_REVIEWED, request.id); // still reviewable after the escalation

    // Assess
    expect(beforeDue).toBe(1);
    const posts = channelPosts(request);
    expect(posts).toHaveLength(2);
    expect(posts[1]).toContain('Break-glass not reviewed');
    expect(posts[1]).toContain('<@U0APPROVER1>');
    expect(posts[1]).toContain('<@U0APPROVER2>');
    expect(posts[1]).toContain(GRANT_REVIEWED);
    const actions = await auditActions(bot, request.id);
    expect(actions.filter((a) => a === 'break-glass-escalated')).toHaveLength(1);
    expect(late.join()).toContain('Marked reviewed');
  });

  it("escalates at the group's own reviewWithin, during the grant's afterlife, not at the default day", async () => {
    // Prepare
    const name = nextName('quick');
    const { request } = await brokeGlass(name, 'quick-review');
    const addedAt = bot.clock.now().getTime();

    // Act
    await tickAt(addedAt + 61 * MINUTE);
    await tickAt(addedAt + 2 * HOUR - MINUTE);
    const beforeDue = channelPosts(request).length;
    await tickAt(addedAt + 2 * HOUR + MINUTE);

    // Assess
    expect(beforeDue).toBe(1);
    expect(channelPosts(request)).toHaveLength(2);
    expect(channelPosts(request)[1]).toContain('Break-glass not reviewed');
  });

  it('escalates during the grant when reviewWithin is shorter than the grant, and still removes it at the end', async () => {
    // Prepare
    const name = nextName('fast');
    const { request } = await brokeGlass(name, 'fast-review');
    const addedAt = bot.clock.now().getTime();

    // Act
    await tickAt(addedAt + 29 * MINUTE);
    const beforeDue = channelPosts(request).length;
    await tickAt(addedAt + 31 * MINUTE);
    const inAfterEscalation = await groupsOf(bot, name);
    await tickAt(addedAt + 61 * MINUTE);

    // Assess
    expect(beforeDue).toBe(1);
    expect(channelPosts(request)).toHaveLength(2);
    expect(channelPosts(request)[1]).toContain('Break-glass not reviewed');
    expect(inAfterEscalation).toEqual(['fast-review']);
    expect(await groupsOf(bot, name)).toEqual([]);
    const stored = (await bot.deps.store.requests.get(request.id)) as AccessRequest;
    expect(stored.run?.cursor).toBe(stored.run?.steps.length); // nothing left to wait for
    expect((await auditActions(bot, request.id)).filter((a) => a === 'break-glass-escalated')).toHaveLength(1);
  });

  it('cannot be extended', async () => {
    // Prepare
    const name = nextName('no-extend');
    const { request } = await brokeGlass(name);

    // Act
    const answer = await press('U0OWNER', GRANT_EXTEND, `${request.id}|${request.grant?.endsAt}`);

    // Assess
    expect(answer.join()).toContain('A break-glass membership is not extended');
    expect((await bot.deps.store.requests.get(request.id))?.grant?.endsAt).toBe(request.grant?.endsAt);
  });
});
