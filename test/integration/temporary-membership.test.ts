/**
 * Temporary membership (issue 21): `/iam add-to-group <user> <group> --for 1h`, approved, added, told until when,
 * the DM before the end with Extend and "Done, remove now", and the removal at the end by the one-minute task
 * (`wake-due-runs`), from the signed command to IAM in moto, every AWS call checked against the shipped roles. Time
 * is the test clock (ManualClock): never the wall clock.
 */
import { RemoveUserFromGroupCommand } from '@aws-sdk/client-iam';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { minuteTasks, runScheduledTasks } from '../../src/jobs/schedule.js';
import { GRANT_EXTENSION_APPROVE, GRANT_EXTENSION_DENY } from '../../src/kinds/temporary-membership/extension.js';
import { GRANT_DONE, GRANT_EXTEND } from '../../src/kinds/temporary-membership/messages.js';
import type { AccessRequest } from '../../src/store/requests.js';
import { startTestBot, type TestBot } from '../support/bot.js';
import { changeRequestFor, existingUser, groupsOf } from '../support/changes.js';
import { auditActions, click, dmsTo, repliesTo, shownText } from '../support/create-user.js';
import { testPolicy } from '../support/policy.js';

const MINUTE = 60_000;
// Each test plays an hour or two of the test clock, minute by minute: more than the default 30 s on a loaded machine.
vi.setConfig({ testTimeout: 180_000 });
let bot: TestBot;
beforeAll(async () => {
  const policy = testPolicy();
  bot = await startTestBot({
    policy: {
      ...policy,
      groups: [
        { name: 'ci-deployers', description: 'Deploy through CI', maxDuration: '8h', maxExtensions: 1 },
        { name: 'read-only', description: 'Read-only' },
        { name: 'break-admins', description: 'Admin for a time', temporaryOnly: true, maxDuration: '2h' },
        { name: 'audited', description: 'Extensions approved', extensionNeedsApproval: true, maxExtensions: 1 },
      ],
    },
    members: ['U0OWNER', 'U0STRANGER'],
  });
});
afterAll(async () => {
  await bot.stop();
});

let seq = 0;
const nextName = (what: string) => `${what}-${++seq}`;
const stored = async (r: AccessRequest) => (await bot.deps.store.requests.get(r.id)) as AccessRequest;

async function command(text: string, userId = 'U0REQUESTER'): Promise<string> {
  const { result, responseId } = await bot.command(text, userId);
  expect(result.statusCode).toBe(200);
  await bot.drain();
  return shownText(bot, responseId);
}

/** The one-minute schedule (wake-due-runs) as the schedule function runs it, then the worker's jobs. */
async function minuteTick() {
  const results = await bot.as('schedule', () => runScheduledTasks(bot.deps, minuteTasks));
  await bot.drain();
  return results;
}

/** A user owned by U0OWNER with an approved 1-hour grant of `group`; returns the request as stored. */
async function granted(name: string, group = 'ci-deployers', time = '1h'): Promise<AccessRequest> {
  await existingUser(bot, name, { owner: 'U0OWNER' });
  const answer = await command(`add-to-group ${name} ${group} --for ${time} --reason "Hotfix deploy"`);
  expect(answer).toContain('is waiting for approval');
  const request = await changeRequestFor(bot, name);
  const { responseId } = await click(bot, request, 'U0APPROVER1');
  await bot.drain();
  expect(repliesTo(bot, responseId).join()).not.toContain('cannot');
  return stored(request);
}

/** The newest DM to `who` about `request` that has the grant's buttons: its button value and the message. */
function endingDm(who: string, request: AccessRequest) {
  const dms = bot.slack
    .postsTo(who)
    .filter((c) => JSON.stringify(c.args).includes(GRANT_EXTEND))
    .filter((c) => JSON.stringify(c.args).includes(request.id));
  const last = dms.at(-1);
  const text = JSON.stringify(last?.args ?? {});
  const value = /"value":"([^"]+)"/.exec(text)?.[1] ?? '';
  return { count: dms.length, value, text };
}

async function press(who: string, actionId: string, value: string): Promise<string[]> {
  const { responseId } = await bot.clickButton({
    userId: who,
    actionId,
    value,
    message: { channel: who, ts: '1700000001.000100' },
  });
  await bot.drain();
  return repliesTo(bot, responseId);
}

describe('a temporary membership', () => {
  it('is added once approved and removed by the bot between 60 and 62 minutes later on the test clock, the owner told until when and at the end', async () => {
    const name = nextName('hour');
    const request = await granted(name);
    const addedAt = bot.clock.now().getTime();

    let removedAfter: number | undefined;
    let memberAt59 = false;
    for (let minute = 1; minute <= 70 && removedAfter === undefined; minute++) {
      bot.clock.set(new Date(addedAt + minute * MINUTE));
      await minuteTick();
      const groups = await groupsOf(bot, name);
      if (minute === 59) memberAt59 = groups.includes('ci-deployers');
      if (!groups.includes('ci-deployers')) removedAfter = minute;
    }

    expect(request.kind).toBe('temporary-membership');
    expect(request.grant?.endsAt).toBe(new Date(addedAt + 60 * MINUTE).toISOString());
    expect(memberAt59).toBe(true);
    expect(removedAfter).toBeGreaterThanOrEqual(60);
    expect(removedAfter).toBeLessThanOrEqual(62);
    expect(dmsTo(bot, 'U0OWNER').join()).toContain(`is now in \`ci-deployers\` until`);
    expect(endingDm('U0OWNER', request).count).toBe(1);
    expect(dmsTo(bot, 'U0OWNER').at(-1)).toContain('ended');
    const actions = await auditActions(bot, request.id);
    expect(actions.filter((a) => a === 'grant-ending')).toHaveLength(1);
    expect(actions.filter((a) => a === 'grant-notice')).toHaveLength(1);
    expect((await stored(request)).grant?.endedAt).toBeDefined();
  });

  it('DMs the owner and the requester before the end, with Extend and "Done, remove now"', async () => {
    const name = nextName('notice');
    const request = await granted(name);
    const addedAt = bot.clock.now().getTime();

    bot.clock.set(new Date(addedAt + 44 * MINUTE));
    await minuteTick();
    const before = endingDm('U0OWNER', request).count;
    bot.clock.set(new Date(addedAt + 45 * MINUTE));
    await minuteTick();
    await minuteTick(); // a second run of the task sends nothing more

    expect(before).toBe(0);
    expect(endingDm('U0OWNER', request).count).toBe(1);
    expect(endingDm('U0REQUESTER', request).count).toBe(1);
    expect(endingDm('U0OWNER', request).text).toContain(GRANT_DONE);
    expect(await groupsOf(bot, name)).toEqual(['ci-deployers']);
  });

  it('moves the end when extended within the limits, once per click on an end, and refuses beyond them', async () => {
    const name = nextName('extend');
    const request = await granted(name);
    const addedAt = bot.clock.now().getTime();
    bot.clock.set(new Date(addedAt + 45 * MINUTE));
    await minuteTick();
    const { value } = endingDm('U0OWNER', request);

    const first = await press('U0OWNER', GRANT_EXTEND, value);
    const again = await press('U0REQUESTER', GRANT_EXTEND, value); // the same end: a double click
    const extended = await stored(request);
    bot.clock.set(new Date(addedAt + 105 * MINUTE));
    await minuteTick();
    const second = endingDm('U0OWNER', request);
    const beyond = await press('U0OWNER', GRANT_EXTEND, second.value);
    bot.clock.set(new Date(addedAt + 100 * MINUTE));
    const stillIn = await groupsOf(bot, name);
    bot.clock.set(new Date(addedAt + 121 * MINUTE));
    await minuteTick();

    expect(first.join()).toContain('Extended');
    expect(again.join()).toContain('Already extended');
    expect(extended.grant?.endsAt).toBe(new Date(addedAt + 120 * MINUTE).toISOString());
    expect(extended.grant?.extensions).toBe(1);
    expect(second.count).toBe(2);
    expect(beyond.join()).toContain('the most its groups allow');
    expect(stillIn).toEqual(['ci-deployers']);
    expect(await groupsOf(bot, name)).toEqual([]);
  });

  it('is removed at once on "Done, remove now", once for a double click, and only the owner or requester may click', async () => {
    const name = nextName('done');
    const request = await granted(name);
    const value = `${request.id}|${request.grant?.endsAt}`;
    const from = bot.roles.checked().length;

    const stranger = await press('U0STRANGER', GRANT_DONE, value);
    const afterStranger = await groupsOf(bot, name);
    const done = await press('U0REQUESTER', GRANT_DONE, value);
    const twice = await press('U0OWNER', GRANT_DONE, value);

    expect(stranger.join()).toContain('Only <@U0OWNER>');
    expect(afterStranger).toEqual(['ci-deployers']);
    expect(done.join()).toContain('Removing');
    expect(twice.join()).toContain('has ended');
    expect(await groupsOf(bot, name)).toEqual([]);
    const removals = bot.roles
      .checked()
      .slice(from)
      .filter((c) => c.action === 'iam:RemoveUserFromGroup');
    expect(removals).toHaveLength(1);
    expect((await auditActions(bot, request.id)).filter((a) => a === 'grant-ending')).toHaveLength(1);
  });
});

describe("a temporary membership in the owner's App Home", () => {
  it('is listed with the time left and the Extend and Done buttons, and gone once it ended', async () => {
    const name = nextName('home');
    const request = await granted(name);
    const homeOf = () =>
      JSON.stringify(
        bot.slack
          .callsOf('views.publish')
          .filter((c) => c.args.user_id === 'U0OWNER')
          .at(-1)?.args ?? {},
      );
    await bot.runJob({ id: `home:${name}`, type: 'publish-home', payload: { users: ['U0OWNER'] } });
    const during = homeOf();

    bot.clock.advance(MINUTE);
    await press('U0OWNER', GRANT_DONE, `${request.id}|${request.grant?.endsAt}`);
    const after = homeOf();

    expect(during).toContain('Temporary memberships');
    expect(during).toContain(`\`${request.id}\``);
    expect(during).toContain('1 h 0 min left');
    expect(during).toContain(GRANT_EXTEND);
    expect(during).toContain(GRANT_DONE);
    expect(after).not.toContain(`\`${request.id}\``);
  });
});

describe('a temporary membership never takes away what it did not give', () => {
  it('is refused for a membership the user already has', async () => {
    const name = nextName('has');
    await existingUser(bot, name, { owner: 'U0OWNER', groups: ['ci-deployers'] });

    const answer = await command(`add-to-group ${name} ci-deployers --for 1h --reason "Again"`);

    expect(answer).toContain('already in `ci-deployers`');
    expect(await groupsOf(bot, name)).toEqual(['ci-deployers']);
  });

  it('keeps a membership added outside the bot between the request and its approval', async () => {
    const name = nextName('between');
    await existingUser(bot, name, { owner: 'U0OWNER' });
    await command(`add-to-group ${name} ci-deployers --for 1h --reason "Soon"`);
    const request = await changeRequestFor(bot, name);
    await bot.deps.aws
      .account()
      .iam.send(
        new (await import('@aws-sdk/client-iam')).AddUserToGroupCommand({ UserName: name, GroupName: 'ci-deployers' }),
      );
    await click(bot, request, 'U0APPROVER1');
    await bot.drain();

    bot.clock.advance(61 * MINUTE);
    await minuteTick();

    expect((await stored(request)).grant?.endedAt).toBeDefined();
    expect(await groupsOf(bot, name)).toEqual(['ci-deployers']);
  });

  it('keeps a membership a permanent request made for good during the grant', async () => {
    const name = nextName('permanent');
    const grant = await granted(name);
    bot.clock.advance(10 * MINUTE);
    const answer = await command(`add-to-group ${name} ci-deployers --reason "For good now"`);
    const permanent = await changeRequestFor(bot, name);
    await click(bot, permanent, 'U0APPROVER2');
    await bot.drain();

    bot.clock.advance(61 * MINUTE);
    await minuteTick();

    expect(answer).toContain('is waiting for approval');
    expect((await stored(permanent)).status).toBe('done');
    expect((await stored(grant)).grant?.endedAt).toBeDefined();
    expect((await stored(grant)).run?.steps.find((s) => s.op === 'grant-remove')).toMatchObject({ detail: 'kept' });
    expect(await groupsOf(bot, name)).toEqual(['ci-deployers']);
    expect(dmsTo(bot, 'U0OWNER').at(-1)).toContain('Kept in');
  });

  it('ends quietly when someone removed the membership early', async () => {
    const name = nextName('early');
    const request = await granted(name);
    await bot.deps.aws
      .account()
      .iam.send(new RemoveUserFromGroupCommand({ UserName: name, GroupName: 'ci-deployers' }));

    bot.clock.advance(61 * MINUTE);
    await minuteTick();

    const run = (await stored(request)).run;
    expect(run?.steps.find((s) => s.op === 'grant-remove')).toMatchObject({ result: 'skipped', detail: 'gone' });
    expect(run?.cursor).toBe(run?.steps.length);
    expect(dmsTo(bot, 'U0OWNER').at(-1)).toContain('Already out of');
  });
});

describe('a temporary membership under concurrency', () => {
  it('is added once and removed once for concurrent Approves, two runs of the expiry task at once and a repeated worker delivery', async () => {
    const name = nextName('race');
    await existingUser(bot, name, { owner: 'U0OWNER' });
    await command(`add-to-group ${name} ci-deployers --for 1h --reason "Race"`);
    const request = await changeRequestFor(bot, name);
    const from = bot.roles.checked().length;

    await Promise.all([click(bot, request, 'U0APPROVER1'), click(bot, request, 'U0APPROVER2')]);
    await bot.drain();
    const added = await groupsOf(bot, name);
    bot.clock.advance(61 * MINUTE);
    await Promise.all([
      bot.as('schedule', () => runScheduledTasks(bot.deps, minuteTasks)),
      bot.as('schedule', () => runScheduledTasks(bot.deps, minuteTasks)),
    ]);
    await bot.drain();
    const run = (await stored(request)).run;
    // Lambda delivers a job at least once: the last part's job again, and the run's first part
    const again = await bot.runJob({
      id: `run:${request.id}:1:${run?.part}`,
      type: 'run-part',
      payload: { requestId: request.id, attempt: 1, part: run?.part },
    });
    await minuteTick();

    const writes = bot.roles
      .checked()
      .slice(from)
      .map((c) => c.action)
      .filter((a) => a === 'iam:AddUserToGroup' || a === 'iam:RemoveUserFromGroup');
    expect(added).toEqual(['ci-deployers']);
    expect(writes).toEqual(['iam:AddUserToGroup', 'iam:RemoveUserFromGroup']);
    expect(again).toBeDefined();
    expect(await groupsOf(bot, name)).toEqual([]);
    const actions = await auditActions(bot, request.id);
    expect(actions.filter((a) => a === 'approved')).toHaveLength(1);
    expect(actions.filter((a) => a === 'grant-ending')).toHaveLength(1);
  });
});

describe('the add-to-group form', () => {
  const submit = (name: string, duration: string) =>
    bot.submitView({
      userId: 'U0REQUESTER',
      callbackId: 'group_membership_modal',
      privateMetadata: JSON.stringify({ kind: 'add-to-group' }),
      values: {
        membership_user: { value: { type: 'plain_text_input', value: name } },
        membership_groups: { value: { type: 'multi_static_select', selected_options: [{ value: 'ci-deployers' }] } },
        membership_duration: { value: { type: 'plain_text_input', value: duration } },
        membership_justification: { value: { type: 'plain_text_input', value: 'From the form' } },
      },
    });

  it('asks for a temporary membership when a duration is given', async () => {
    const name = nextName('form');
    await existingUser(bot, name, { owner: 'U0OWNER' });
    await command(`add-to-group ${name}`);
    const view = JSON.stringify(bot.slack.callsOf('views.open').at(-1)?.args.view);

    const result = await submit(name, '90m');
    await bot.drain();

    expect(view).toContain('membership_duration');
    expect(result.body ?? '').toBe('');
    const request = await changeRequestFor(bot, name);
    expect(request.kind).toBe('temporary-membership');
    expect(request.grant?.durationMs).toBe(90 * MINUTE);
  });

  it('shows a duration that is none on its field', async () => {
    const name = nextName('form-bad');
    await existingUser(bot, name, { owner: 'U0OWNER' });

    const result = await submit(name, 'soon');

    expect(JSON.parse(result.body || '{}').errors).toEqual({
      membership_duration: 'Say for how long: `90m`, `4h` or `2d` (at most 30 days).',
    });
  });
});

describe('the policy of a temporary membership', () => {
  it('refuses a permanent request for a group granted only for a time, saying what to ask instead', async () => {
    const name = nextName('only');
    await existingUser(bot, name, { owner: 'U0OWNER' });

    const answer = await command(`add-to-group ${name} break-admins --reason "Forever"`);

    expect(answer).toContain('granted only for a time');
    expect(answer).toContain(`/iam add-to-group ${name} break-admins --for 2h`);
  });

  it("refuses a duration longer than the group's maxDuration", async () => {
    const name = nextName('long');
    await existingUser(bot, name, { owner: 'U0OWNER' });

    const answer = await command(`add-to-group ${name} break-admins --for 3h --reason "Long"`);

    expect(answer).toContain('`break-admins` is granted for at most 2h');
  });

  it('asks in the approval channel where the group wants extensions approved, and moves the end once an approver approves, within maxExtensions', async () => {
    // Prepare
    const name = nextName('approved-ext');
    const request = await granted(name, 'audited');
    const addedAt = bot.clock.now().getTime();
    const value = `${request.id}|${request.grant?.endsAt}`;

    // Act
    const asked = await press('U0OWNER', GRANT_EXTEND, value);
    const askedTwice = await press('U0REQUESTER', GRANT_EXTEND, value);
    const whileAsked = await stored(request);
    const askValue = extensionAskValue(request);
    const byAsker = await press('U0OWNER', GRANT_EXTENSION_APPROVE, askValue);
    const byRequester = await press('U0REQUESTER', GRANT_EXTENSION_APPROVE, askValue);
    const byStranger = await press('U0STRANGER', GRANT_EXTENSION_APPROVE, askValue);
    const unchanged = await stored(request);
    const approved = await press('U0APPROVER1', GRANT_EXTENSION_APPROVE, askValue);
    const again = await press('U0APPROVER2', GRANT_EXTENSION_APPROVE, askValue);
    const extended = await stored(request);
    const beyond = await press('U0OWNER', GRANT_EXTEND, `${request.id}|${extended.grant?.endsAt}`);
    bot.clock.set(new Date(addedAt + 61 * MINUTE));
    await minuteTick();
    const at61 = await groupsOf(bot, name);
    bot.clock.set(new Date(addedAt + 121 * MINUTE));
    await minuteTick();

    // Assess
    expect(asked.join()).toContain('needs approval: I asked in <#C0APPROVALS>');
    expect(askedTwice.join()).toContain('already waiting for approval');
    expect(whileAsked.grant?.endsAt).toBe(request.grant?.endsAt);
    expect(whileAsked.grant?.extensionAsk?.by).toBe('U0OWNER');
    expect(extensionAsks(request)).toHaveLength(1);
    expect(byAsker.join()).toContain('You asked for this extension');
    expect(byRequester.join()).toContain('You asked for this request');
    expect(byStranger.join()).toContain('not an approver');
    expect(unchanged.version).toBe(whileAsked.version);
    expect(approved.join()).toContain('Extended');
    expect(again.join()).toContain('already decided');
    expect(extended.grant?.endsAt).toBe(new Date(addedAt + 120 * MINUTE).toISOString());
    expect(extended.grant?.extensions).toBe(1);
    expect(extended.grant?.extensionAsk).toBeUndefined();
    expect(beyond.join()).toContain('the most its groups allow');
    expect(at61).toEqual(['audited']);
    expect(await groupsOf(bot, name)).toEqual([]);
    expect(dmsTo(bot, 'U0OWNER').join()).toContain('Your extension was approved');
    const actions = await auditActions(bot, request.id);
    expect(actions.filter((a) => a === 'grant.extension-asked')).toHaveLength(1);
    expect(actions.filter((a) => a === 'grant.extended')).toHaveLength(1);
  });

  it('posts the extension ask once for two Extend clicks at once, the second answered that it is being asked', async () => {
    // Prepare: the first click's post of the ask is held in the fake Slack until the second click is answered
    const name = nextName('double-ext');
    const request = await granted(name, 'audited');
    const value = `${request.id}|${request.grant?.endsAt}`;
    const held = bot.slack.hold(
      'chat.postMessage',
      (args) => args.channel === 'C0APPROVALS' && JSON.stringify(args).includes(GRANT_EXTENSION_APPROVE),
    );

    // Act
    const first = press('U0OWNER', GRANT_EXTEND, value);
    await held.reached;
    const second = await press('U0REQUESTER', GRANT_EXTEND, value);
    held.release();
    const asked = await first;
    const after = await stored(request);

    // Assess
    expect(extensionAsks(request)).toHaveLength(1);
    expect(asked.join()).toContain('needs approval: I asked in <#C0APPROVALS>');
    expect(second.join()).toContain('is being asked for approval');
    expect(after.grant?.extensionAsk?.post?.channel).toBe('C0APPROVALS');
    expect(after.grant?.extensionAsk?.by).toBe('U0OWNER');
    expect((await auditActions(bot, request.id)).filter((a) => a === 'grant.extension-asked')).toHaveLength(1);
  });

  it('posts the extension ask again on a later Extend when its post was lost, not while it may still be under way', async () => {
    // Prepare: Slack refuses the first post of the ask
    const name = nextName('lost-ext');
    const request = await granted(name, 'audited');
    const value = `${request.id}|${request.grant?.endsAt}`;
    bot.slack.failNext('chat.postMessage', 'fatal_error');

    // Act
    await press('U0OWNER', GRANT_EXTEND, value);
    const soon = await press('U0OWNER', GRANT_EXTEND, value);
    bot.clock.advance(3 * MINUTE);
    const later = await press('U0OWNER', GRANT_EXTEND, value);

    // Assess
    expect(soon.join()).toContain('is being asked for approval');
    expect(later.join()).toContain('needs approval: I asked in <#C0APPROVALS>');
    expect(extensionAsks(request).filter((c) => c.answer?.ok)).toHaveLength(1);
    expect((await stored(request)).grant?.extensionAsk?.post?.channel).toBe('C0APPROVALS');
    expect((await auditActions(bot, request.id)).filter((a) => a === 'grant.extension-asked')).toHaveLength(1);
  });

  it('keeps the end when an approver denies the extension, tells the asker, and a later Extend asks again', async () => {
    // Prepare
    const name = nextName('denied-ext');
    const request = await granted(name, 'audited');
    const value = `${request.id}|${request.grant?.endsAt}`;
    await press('U0REQUESTER', GRANT_EXTEND, value);

    // Act
    const denied = await press('U0APPROVER2', GRANT_EXTENSION_DENY, extensionAskValue(request));
    const afterDeny = await stored(request);
    const askedAgain = await press('U0REQUESTER', GRANT_EXTEND, value);

    // Assess
    expect(denied.join()).toContain('Denied');
    expect(afterDeny.grant?.endsAt).toBe(request.grant?.endsAt);
    expect(afterDeny.grant?.extensions).toBe(0);
    expect(afterDeny.grant?.extensionAsk).toBeUndefined();
    expect(dmsTo(bot, 'U0REQUESTER').join()).toContain('was denied by <@U0APPROVER2>');
    expect(askedAgain.join()).toContain('needs approval');
    expect(extensionAsks(request)).toHaveLength(2);
    expect((await auditActions(bot, request.id)).filter((a) => a === 'grant.extension-denied')).toHaveLength(1);
  });
});

/** The extension asks posted in the approval channel for `request`. */
const extensionAsks = (request: AccessRequest) =>
  bot.slack
    .callsOf('chat.postMessage')
    .filter((c) => c.args.channel === 'C0APPROVALS' && JSON.stringify(c.args).includes(GRANT_EXTENSION_APPROVE))
    .filter((c) => JSON.stringify(c.args).includes(request.id));

/** The Approve/Deny value of the newest extension ask of `request`. */
const extensionAskValue = (request: AccessRequest) =>
  /"value":"([^"]+)"/.exec(JSON.stringify(extensionAsks(request).at(-1)?.args ?? {}))?.[1] ?? '';
