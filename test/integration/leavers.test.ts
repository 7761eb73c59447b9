/**
 * Leavers (policy `leavers.action: disable`): a member deactivated in Slack has the IAM users they own disabled, told
 * by a signed `user_change` event through the real Slack handler or found by the daily check of owners (users.info on
 * the recording Slack stand-in), or asked for by an approver with `/iam offboard`. Moto holds the users; the role
 * checker evaluates every AWS call against the role of the function that made it.
 */
import {
  CreateAccessKeyCommand,
  CreateLoginProfileCommand,
  CreateUserCommand,
  GetLoginProfileCommand,
  type IAMClient,
  ListAccessKeysCommand,
  ListUserTagsCommand,
  UpdateAccessKeyCommand,
} from '@aws-sdk/client-iam';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FORM_INPUT, GIVE_TO_BLOCKS, GIVE_TO_MODAL, OFFBOARD_REACTIVATE } from '../../src/blocks/ids.js';
import { giveToActionId } from '../../src/blocks/offboard.js';
import { DAY, ManualClock } from '../../src/clock.js';
import { dailyTasks, runScheduledTasks } from '../../src/jobs/schedule.js';
import { handleLeaver, leaverRequestId } from '../../src/services/kinds/offboard.js';
import type { AccessRequest } from '../../src/store/requests.js';
import { SIGNING_SECRET, startTestBot, type TestBot } from '../support/bot.js';
import { changeRequestFor } from '../support/changes.js';
import { APPROVALS, auditActions, click, repliesTo, shownText } from '../support/create-user.js';
import { testPolicy } from '../support/policy.js';
import { slackSignature } from '../support/slack-request.js';

let bot: TestBot;
let iam: IAMClient;
const clock = new ManualClock(new Date());
const PATH = '/iam-slack-bot/';

beforeAll(async () => {
  bot = await startTestBot({
    clock,
    policy: testPolicy({
      users: { path: PATH },
      leavers: { action: 'disable', exclude: ['kept-by-policy', `${PATH}keep/`], recoveryDays: 30 },
    }),
    // owners that stay in Slack (a leaver is registered by deactivating them)
    members: ['U0STAYS', 'U0ACTIVE9', 'U0CAROL', 'U0LASTDAY'],
  });
  iam = bot.deps.aws.account().iam;
});
afterAll(async () => {
  await bot.stop();
});

/** An IAM user made straight in moto (as before the bot), with `keys` access keys and maybe a console password. */
async function seedUser(
  name: string,
  opts: { owner: string; keys?: number; console?: boolean; path?: string },
): Promise<string[]> {
  await iam.send(
    new CreateUserCommand({
      UserName: name,
      Path: opts.path ?? PATH,
      Tags: [{ Key: 'slack-user-id', Value: opts.owner }],
    }),
  );
  if (opts.console)
    await iam.send(new CreateLoginProfileCommand({ UserName: name, Password: `Seeded-${name}-pw-1!x` }));
  const ids: string[] = [];
  for (let i = 0; i < (opts.keys ?? 0); i++)
    ids.push((await iam.send(new CreateAccessKeyCommand({ UserName: name }))).AccessKey?.AccessKeyId ?? '');
  return ids;
}

/** Each key of a user with its status, e.g. `{ AKIA…: 'Active' }`. */
async function keyStatuses(name: string): Promise<Record<string, string>> {
  const out = await iam.send(new ListAccessKeysCommand({ UserName: name }));
  return Object.fromEntries((out.AccessKeyMetadata ?? []).map((k) => [k.AccessKeyId ?? '', k.Status ?? '']));
}

const hasConsole = (name: string) =>
  iam.send(new GetLoginProfileCommand({ UserName: name })).then(
    () => true,
    () => false,
  );

let eventSeq = 0;
/** The body Slack sends for `user_change`. */
function userChangeBody(member: string, deleted: boolean | undefined, eventId = `Ev0USER${++eventSeq}`): string {
  return JSON.stringify({
    type: 'event_callback',
    team_id: 'T0TEAM',
    api_app_id: 'A0APP',
    token: 'legacy-verification-token',
    event_id: eventId,
    event_time: Math.floor(Date.now() / 1000),
    event: {
      type: 'user_change',
      user: {
        id: member,
        team_id: 'T0TEAM',
        name: member.toLowerCase(),
        ...(deleted === undefined ? {} : { deleted }),
      },
      cache_ts: Math.floor(Date.now() / 1000),
      event_ts: `${Date.now() / 1000}`,
    },
  });
}

/** Slack tells the bot a member changed (signed, through the real handler); the worker's work is drained. */
async function userChange(member: string, deleted: boolean | undefined, eventId?: string) {
  const result = await bot.send(userChangeBody(member, deleted, eventId), { contentType: 'application/json' });
  await bot.drain();
  return result;
}

/** Runs the daily tasks as the schedule function does, then the jobs they handed over. */
/** The daily schedule on the next day (a day's owner check runs once: its job id names the day). */
async function daily() {
  clock.advance(DAY);
  const results = await bot.as('schedule', () => runScheduledTasks(bot.deps, dailyTasks));
  await bot.drain();
  return results;
}

/** Posts to the approval channel about a member's automatic offboarding (its report). */
const reportsOf = (member: string) =>
  bot.slack
    .callsOf('chat.postMessage')
    .filter((c) => c.args.channel === APPROVALS && JSON.stringify(c.args).includes(leaverRequestId(member)));

/** The report as it reads now (its last post or update), as text. */
function reportNow(requestId: string): string {
  const last = bot.slack.calls
    .filter(
      (c) =>
        (c.method === 'chat.postMessage' || c.method === 'chat.update') &&
        c.args.channel === APPROVALS &&
        JSON.stringify(c.args).includes(requestId),
    )
    .at(-1);
  return JSON.stringify(last?.args.blocks ?? '');
}

/** The worker's IAM writes so far (role-checked calls). */
const iamWrites = () =>
  bot.roles
    .checked()
    .filter((c) => c.action.startsWith('iam:') && /^iam:(Update|Delete|Create)/.test(c.action))
    .map((c) => `${c.action} ${String(c.resources[0]).split('/').at(-1)}`);

const offboarding = async (id: string) => (await bot.deps.store.requests.get(id)) as AccessRequest;

/** Clicks a button of an offboarding report. */
const clickReport = (request: AccessRequest, userId: string, actionId: string, value: string = request.id) =>
  bot.clickButton({
    userId,
    actionId,
    value,
    blockId: `offboard_actions_${request.id}`,
    ...(request.message ? { message: request.message } : {}),
  });

describe('a member deactivated in Slack (the user_change event)', () => {
  const member = 'U0LEAVER1';
  let ciKeys: string[];
  let webKeys: string[];
  let pendingId: string;

  beforeAll(async () => {
    ciKeys = await seedUser('lv-ci', { owner: member, keys: 2 });
    webKeys = await seedUser('lv-web', { owner: member, keys: 1, console: true });
    await seedUser('lv-kept-by-path', { owner: member, keys: 1, path: `${PATH}keep/` });
    await seedUser('kept-by-policy', { owner: member, keys: 1 });
    await seedUser('lv-outside', { owner: member, keys: 1, path: '/elsewhere/' });
    await seedUser('lv-someone-else', { owner: 'U0BOB', keys: 1 });
    await bot.schedule(); // the ownership projection
    await bot.drain(); // the projection refresh parts it hands the worker
    // a pending request of theirs
    const { responseId } = await bot.command(
      'set-owner lv-someone-else <@U0CAROL|carol> --reason "Carol runs it"',
      member,
    );
    await bot.drain();
    expect(shownText(bot, responseId)).toContain('is waiting for approval');
    pendingId = (await changeRequestFor(bot, 'lv-someone-else')).id;
    bot.slack.members.deactivate(member);
  });

  it('leaves every key of the users they own inactive and no console password, and posts one report', async () => {
    const from = bot.roles.checked().length;
    const result = await userChange(member, true, 'Ev0LEAVER1');
    const bySlackFunction = bot.roles
      .checked()
      .slice(from)
      .filter((c) => c.fn === 'slack')
      .map((c) => c.action);

    expect(bySlackFunction).toEqual(['lambda:InvokeFunction']); // it only hands the event to the worker

    expect(result.statusCode).toBe(200);
    for (const name of ['lv-ci', 'lv-web'])
      expect(Object.values(await keyStatuses(name)), name).toEqual(
        name === 'lv-ci' ? ['Inactive', 'Inactive'] : ['Inactive'],
      );
    expect(await hasConsole('lv-web')).toBe(false);
    expect(reportsOf(member)).toHaveLength(1);
    const report = reportNow(leaverRequestId(member));
    for (const key of [...ciKeys, ...webKeys]) expect(report).toContain(`${key.slice(0, 4)}…${key.slice(-4)}`);
    expect(report).toContain('deleted the console password');
    const stored = await offboarding(leaverRequestId(member));
    expect(stored.status).toBe('done');
    expect(stored.offboard?.users.find((u) => u.userName === 'lv-ci')?.keys.sort()).toEqual([...ciKeys].sort());
  });

  it('lists the users the policy excludes and those outside the managed paths, and touches neither', async () => {
    const report = reportNow(leaverRequestId(member));

    expect(Object.values(await keyStatuses('kept-by-policy'))).toEqual(['Active']);
    expect(Object.values(await keyStatuses('lv-kept-by-path'))).toEqual(['Active']);
    expect(report).toMatch(/lv-kept-by-path.*excluded by/);
    expect(Object.values(await keyStatuses('lv-outside'))).toEqual(['Active']);
    expect(report).toMatch(/kept-by-policy.*excluded by/);
    expect(report).toMatch(/lv-outside.*outside the paths the bot manages, not touched/);
    expect(Object.values(await keyStatuses('lv-someone-else'))).toEqual(['Active']);
  });

  it('cancels their pending requests', async () => {
    const cancelled = await offboarding(pendingId);

    expect(cancelled.status).toBe('denied');
    expect(cancelled.decision?.reason).toContain(member);
    expect((await offboarding(leaverRequestId(member))).offboard?.cancelled).toEqual([pendingId]);
  });

  it('audits every step', async () => {
    const events = await bot.deps.store.audit.list(`request#${leaverRequestId(member)}`);
    const steps = events.filter((e) => e.action === 'step-done').map((e) => e.detail.step);

    expect(steps.sort()).toEqual(
      [
        ...ciKeys.map((k) => `UpdateAccessKey lv-ci ${k} Inactive (home)`),
        `UpdateAccessKey lv-web ${webKeys[0]} Inactive (home)`,
        'DeleteLoginProfile lv-web (home)',
      ].sort(),
    );
    expect(events.map((e) => e.action)).toEqual(expect.arrayContaining(['requested', 'offboarded']));
  });

  it('changes nothing and posts nothing new when the event comes again (the same one, or another)', async () => {
    const writes = iamWrites().length;
    const posts = bot.slack.callsOf('chat.postMessage').length;

    expect((await userChange(member, true, 'Ev0LEAVER1')).statusCode).toBe(200);
    expect((await userChange(member, true)).statusCode).toBe(200);
    await daily();

    expect(iamWrites()).toHaveLength(writes);
    expect(bot.slack.callsOf('chat.postMessage')).toHaveLength(posts);
  });

  it('tells the approval channel, once, when the member is active in Slack again, and gives nothing back', async () => {
    bot.slack.members.reactivate(member);

    await userChange(member, false);
    await userChange(member, false);

    const told = bot.slack
      .callsOf('chat.postMessage')
      .filter((c) => c.args.channel === APPROVALS && String(c.args.text).includes('is active in Slack again'));
    expect(told).toHaveLength(1);
    expect(Object.values(await keyStatuses('lv-ci'))).toEqual(['Inactive', 'Inactive']);
  });

  it('Give to asks, through approval, to make someone the owner of one of the users', async () => {
    const request = await offboarding(leaverRequestId(member));
    const opened = bot.slack.callsOf('views.open').length;

    await clickReport(
      request,
      'U0APPROVER1',
      giveToActionId(0),
      JSON.stringify({ r: request.id, a: 'home', u: 'lv-ci' }),
    );
    const modal = bot.slack.callsOf('views.open').at(opened)?.args.view as { private_metadata: string };
    const submitted = await bot.submitView({
      userId: 'U0APPROVER1',
      callbackId: GIVE_TO_MODAL,
      privateMetadata: modal.private_metadata,
      values: {
        [GIVE_TO_BLOCKS.newOwner]: { [FORM_INPUT]: { type: 'users_select', selected_user: 'U0BOB' } },
        [GIVE_TO_BLOCKS.justification]: { [FORM_INPUT]: { type: 'plain_text_input', value: 'Bob runs the CI now' } },
      },
    });
    await bot.drain();
    const change = await changeRequestFor(bot, 'lv-ci');
    const ownerBefore = await ownerOf('lv-ci');
    await click(bot, change, 'U0APPROVER2');
    await bot.drain();

    expect(submitted.body ?? '').toBe('');
    expect(change.kind).toBe('set-owner');
    expect(change.status).toBe('pending');
    expect(ownerBefore).toBe(member);
    expect(await ownerOf('lv-ci')).toBe('U0BOB');
  });
});

async function ownerOf(name: string): Promise<string | undefined> {
  const tags = await iam.send(new ListUserTagsCommand({ UserName: name }));
  return tags.Tags?.find((t) => t.Key === 'slack-user-id')?.Value;
}

describe('the daily check of owners (no event)', () => {
  it('handles an owner Slack says is deactivated, once', async () => {
    await seedUser('gone-ci', { owner: 'U0GONE2', keys: 1, console: true });
    await seedUser('stays-ci', { owner: 'U0STAYS', keys: 1 });
    await bot.schedule();
    await bot.drain(); // the projection refresh parts it hands the worker
    bot.slack.members.deactivate('U0GONE2');

    await daily();
    const posts = reportsOf('U0GONE2').length;
    const writes = iamWrites().length;
    await daily();

    expect(Object.values(await keyStatuses('gone-ci'))).toEqual(['Inactive']);
    expect(await hasConsole('gone-ci')).toBe(false);
    expect(posts).toBe(1);
    expect(reportsOf('U0GONE2')).toHaveLength(1);
    expect(iamWrites()).toHaveLength(writes);
    expect(Object.values(await keyStatuses('stays-ci'))).toEqual(['Active']);
    expect((await offboarding(leaverRequestId('U0GONE2'))).offboard?.trigger).toBe('scan');
  });

  it('deactivates nothing of an owner Slack does not know (user_not_found: a mistyped tag) and tells the approvers once', async () => {
    // Prepare: a user tagged with an id that is no member of the workspace (Slack answers user_not_found)
    await seedUser('unknown-ci', { owner: 'U0UNKNOWN', keys: 1, console: true });
    await bot.schedule();
    await bot.drain(); // the projection refresh parts it hands the worker
    bot.slack.members.remove('U0UNKNOWN');

    // Act: two daily checks
    await daily();
    await daily();

    // Assess: keys and password untouched, no offboarding, one notice naming the user and how to fix the owner
    const notices = bot.slack
      .callsOf('chat.postMessage')
      .filter((c) => c.args.channel === APPROVALS && String(c.args.text).includes('<@U0UNKNOWN>'));
    expect(Object.values(await keyStatuses('unknown-ci'))).toEqual(['Active']);
    expect(await hasConsole('unknown-ci')).toBe(true);
    expect(await bot.deps.store.requests.get(leaverRequestId('U0UNKNOWN'))).toBeUndefined();
    expect(reportsOf('U0UNKNOWN')).toHaveLength(0);
    expect(notices).toHaveLength(1);
    expect(String(notices[0]?.args.text)).toContain('`unknown-ci`');
    expect(String(notices[0]?.args.text)).toContain('Nothing was deactivated');
  });

  it('hands an owner Slack does not know to the owner-unknown notice, not to the leaver job', async () => {
    // Prepare: a user tagged with an id Slack answers user_not_found for; the jobs handed to the worker are noted
    await seedUser('typo-ci', { owner: 'U0TYPO7', keys: 1 });
    await bot.schedule();
    await bot.drain(); // the projection refresh parts it hands the worker
    bot.slack.members.remove('U0TYPO7');
    const jobs: { type: string; member: unknown }[] = [];
    const dispatch = bot.deps.dispatcher.dispatch;
    bot.deps.dispatcher.dispatch = async (job) => {
      jobs.push({ type: job.type, member: job.payload.member });
      return dispatch(job);
    };

    // Act: the daily check
    try {
      await daily();
    } finally {
      bot.deps.dispatcher.dispatch = dispatch;
    }

    // Assess: the notice, and no leaver job for the id
    const about = jobs.filter((j) => j.member === 'U0TYPO7').map((j) => j.type);
    expect(about).toContain('owner-unknown');
    expect(about).not.toContain('leaver');
    expect(Object.values(await keyStatuses('typo-ci'))).toEqual(['Active']);
  });

  it('handleLeaver itself creates no offboarding for an id Slack does not know (not only the leaver job)', async () => {
    // Prepare: a user tagged with an id Slack answers user_not_found for
    await seedUser('typo2-ci', { owner: 'U0TYPO8', keys: 1, console: true });
    await bot.schedule();
    await bot.drain(); // the projection refresh parts it hands the worker
    bot.slack.members.remove('U0TYPO8');

    // Act: the service asked directly, as any caller would
    const outcome = await bot.as('worker', () => handleLeaver(bot.deps, 'U0TYPO8', 'scan'));
    await bot.drain();

    // Assess: nothing created, nothing deactivated
    expect(outcome).toBe('unknown');
    expect(await bot.deps.store.requests.get(leaverRequestId('U0TYPO8'))).toBeUndefined();
    expect(Object.values(await keyStatuses('typo2-ci'))).toEqual(['Active']);
    expect(await hasConsole('typo2-ci')).toBe(true);
  });

  it('acts on nothing while Slack cannot answer, and handles the owner on a later run', async () => {
    await seedUser('flaky-ci', { owner: 'U0FLAKY', keys: 1 });
    await bot.schedule();
    await bot.drain(); // the projection refresh parts it hands the worker
    bot.slack.members.failWith('U0FLAKY');

    await daily();
    const during = Object.values(await keyStatuses('flaky-ci'));
    bot.slack.members.recover('U0FLAKY').deactivate('U0FLAKY');
    await daily(); // the next day, past the users.info cache

    expect(during).toEqual(['Active']);
    expect(Object.values(await keyStatuses('flaky-ci'))).toEqual(['Inactive']);
  });

  it('never acts on an event alone: a user_change for someone Slack says is active changes nothing', async () => {
    await seedUser('liar-ci', { owner: 'U0ACTIVE9', keys: 1 });
    await bot.schedule();
    await bot.drain(); // the projection refresh parts it hands the worker

    await userChange('U0ACTIVE9', true);

    expect(Object.values(await keyStatuses('liar-ci'))).toEqual(['Active']);
    expect(await bot.deps.store.requests.get(leaverRequestId('U0ACTIVE9'))).toBeUndefined();
  });
});

describe('Reactivate on the report', () => {
  const member = 'U0LEAVER3';
  let keys: string[];

  beforeAll(async () => {
    keys = await seedUser('rv-app', { owner: member, keys: 2, console: true });
    if (keys.length !== 2) throw new Error('two keys expected');
    // one key was inactive before: Reactivate must leave it so
    await iam.send(
      new UpdateAccessKeyCommand({ UserName: 'rv-app', AccessKeyId: keys[1] as string, Status: 'Inactive' }),
    );
    await bot.schedule();
    await bot.drain(); // the projection refresh parts it hands the worker
    bot.slack.members.deactivate(member);
    await userChange(member, true);
  });

  it('is refused to someone who is not an approver, changing nothing', async () => {
    const request = await offboarding(leaverRequestId(member));

    const { responseId } = await clickReport(request, 'U0REQUESTER', OFFBOARD_REACTIVATE);
    await bot.drain();

    expect(repliesTo(bot, responseId).join(' ')).toContain('Only an approver');
    expect(await keyStatuses('rv-app')).toEqual({ [keys[0] as string]: 'Inactive', [keys[1] as string]: 'Inactive' });
    expect(await auditActions(bot, request.id)).toContain('reactivate-refused');
  });

  it('restores exactly what was disabled (the keys; a console password cannot be restored)', async () => {
    const request = await offboarding(leaverRequestId(member));

    await clickReport(request, 'U0APPROVER1', OFFBOARD_REACTIVATE);
    await bot.drain();

    expect(await keyStatuses('rv-app')).toEqual({ [keys[0] as string]: 'Active', [keys[1] as string]: 'Inactive' });
    expect(await hasConsole('rv-app')).toBe(false);
    expect(reportNow(request.id)).toContain('Reactivated');
    expect((await offboarding(request.id)).offboard?.reactivation?.phase).toBe('reactivated');
  });

  it('is refused after it was used', async () => {
    const request = await offboarding(leaverRequestId(member));
    await iam.send(
      new UpdateAccessKeyCommand({ UserName: 'rv-app', AccessKeyId: keys[0] as string, Status: 'Inactive' }),
    );

    const { responseId } = await clickReport(request, 'U0APPROVER2', OFFBOARD_REACTIVATE);
    await bot.drain();

    expect(repliesTo(bot, responseId).join(' ')).toContain('already reactivated');
    expect(Object.values(await keyStatuses('rv-app'))).toEqual(['Inactive', 'Inactive']);
  });

  it('restores once however many approvers click at once', async () => {
    const keys5 = await seedUser('race-app', { owner: 'U0LEAVER6', keys: 1 });
    await bot.schedule();
    await bot.drain(); // the projection refresh parts it hands the worker
    bot.slack.members.deactivate('U0LEAVER6');
    await userChange('U0LEAVER6', true);
    const request = await offboarding(leaverRequestId('U0LEAVER6'));
    const writes = iamWrites().length;

    await Promise.all(
      ['U0APPROVER1', 'U0APPROVER2', 'U0APPROVER3', 'U0APPROVER1', 'U0APPROVER2'].map((who) =>
        clickReport(request, who, OFFBOARD_REACTIVATE),
      ),
    );
    await bot.drain();

    expect(await keyStatuses('race-app')).toEqual({ [keys5[0] as string]: 'Active' });
    expect(iamWrites().slice(writes)).toEqual([`iam:UpdateAccessKey race-app`]);
    expect((await auditActions(bot, request.id)).filter((a) => a === 'reactivate-requested')).toHaveLength(1);
  });

  it('is refused after the recovery period', async () => {
    await seedUser('late-app', { owner: 'U0LEAVER4', keys: 1 });
    await bot.schedule();
    await bot.drain(); // the projection refresh parts it hands the worker
    bot.slack.members.deactivate('U0LEAVER4');
    await userChange('U0LEAVER4', true);
    clock.advance(31 * DAY);
    const request = await offboarding(leaverRequestId('U0LEAVER4'));

    const { responseId } = await clickReport(request, 'U0APPROVER1', OFFBOARD_REACTIVATE);
    await bot.drain();

    expect(repliesTo(bot, responseId).join(' ')).toContain('recovery period ended');
    expect(Object.values(await keyStatuses('late-app'))).toEqual(['Inactive']);
  });
});

describe('a forged or stale user_change', () => {
  it('is refused (401) and does nothing', async () => {
    await seedUser('forged-ci', { owner: 'U0VICTIM', keys: 1 });
    await bot.schedule();
    await bot.drain(); // the projection refresh parts it hands the worker
    bot.slack.members.deactivate('U0VICTIM');
    const body = userChangeBody('U0VICTIM', true);
    const old = Math.floor(Date.now() / 1000) - 10 * 60;

    const forged = await bot.send(body, { contentType: 'application/json', signature: 'v0=deadbeef' });
    const unsigned = await bot.send(body, { contentType: 'application/json', signature: null });
    const stale = await bot.send(body, {
      contentType: 'application/json',
      timestamp: old,
      signature: slackSignature(SIGNING_SECRET, old, body),
    });
    await bot.drain();

    expect([forged.statusCode, unsigned.statusCode, stale.statusCode]).toEqual([401, 401, 401]);
    expect(Object.values(await keyStatuses('forged-ci'))).toEqual(['Active']);
    expect(await bot.deps.store.requests.get(leaverRequestId('U0VICTIM'))).toBeUndefined();
  });
});

describe('/iam offboard @someone --reason', () => {
  it('is refused to someone who is not an approver', async () => {
    await seedUser('lastday-ci', { owner: 'U0LASTDAY', keys: 1, console: true });
    await bot.schedule();
    await bot.drain(); // the projection refresh parts it hands the worker

    const { result } = await bot.command('offboard <@U0LASTDAY|lastday> --reason "Last day"', 'U0REQUESTER');

    expect(JSON.parse(result.body ?? '{}').text).toContain('Only approvers');
  });

  it('disables the users of someone still in Slack once another approver approves it', async () => {
    const { responseId: asked } = await bot.command(
      'offboard <@U0LASTDAY|lastday> --reason "Last day on Friday"',
      'U0APPROVER1',
    );
    await bot.drain();
    const id = /`(req-[A-Za-z0-9]+)`/.exec(shownText(bot, asked))?.[1] ?? '';
    const pending = await offboarding(id);
    const before = Object.values(await keyStatuses('lastday-ci'));
    const { responseId } = await click(bot, pending, 'U0APPROVER1'); // the requester cannot approve it
    await bot.drain();
    await click(bot, pending, 'U0APPROVER2');
    await bot.drain();

    expect(pending.status).toBe('pending');
    expect(reportNow(id)).toContain('lastday-ci');
    expect(repliesTo(bot, responseId).join(' ')).toContain('You asked for this request');
    expect(before).toEqual(['Active']);
    expect(Object.values(await keyStatuses('lastday-ci'))).toEqual(['Inactive']);
    expect(await hasConsole('lastday-ci')).toBe(false);
    expect((await offboarding(id)).status).toBe('done');
  });
});

describe('an offboarding that fails for one user', () => {
  const member = 'U0LEAVER7';
  let key: string;
  let id: string;

  beforeAll(async () => {
    [key] = (await seedUser('fx-ci', { owner: member, keys: 1 })) as [string];
    await bot.schedule();
    await bot.drain(); // the projection refresh parts it hands the worker
    // A user the projection still holds in an account the policy no longer names: the bot cannot reach it.
    const at = clock.now().toISOString();
    await bot.deps.store.users.put({
      account: 'retired',
      userName: 'ghost-ci',
      path: PATH,
      owner: member,
      groups: [],
      console: false,
      keys: [],
      keysObservedAt: at,
      refreshedAt: at,
    });
    bot.slack.members.deactivate(member);
    await userChange(member, true);
    id = leaverRequestId(member);
  });

  it('disables the others, fails with what failed, and offers Retry', async () => {
    const failed = await offboarding(id);

    expect(failed.status).toBe('failed');
    expect(failed.error).toContain('ghost-ci');
    expect(Object.values(await keyStatuses('fx-ci'))).toEqual(['Inactive']);
    expect(reportNow(id)).toContain('request_retry');
  });

  it('Retry finishes, and keeps what the first attempt deactivated for Reactivate', async () => {
    await bot.deps.store.users.remove({ account: 'retired', userName: 'ghost-ci', owner: member });

    await click(bot, await offboarding(id), 'U0APPROVER1', 'request_retry');
    await bot.drain();

    const done = await offboarding(id);
    expect(done.status).toBe('done');
    expect(done.offboard?.users.find((u) => u.userName === 'fx-ci')?.keys).toEqual([key]);
    expect(reportsOf(member)).toHaveLength(1);
  });
});
