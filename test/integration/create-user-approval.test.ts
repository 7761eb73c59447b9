/**
 * Who may decide a create-user request, and what races do: signed clicks through the real Slack handler, IAM in
 * moto, Slack recorded by the fake Slack. Every blocked click must get a clear ephemeral reply and change nothing.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { DENY_REASON_BLOCK, DENY_REASON_MODAL, FORM_INPUT, REQUEST_DENY } from '../../src/blocks/ids.js';
import { HOUR } from '../../src/clock.js';
import { provisionJob } from '../../src/services/requests.js';
import { runRequest } from '../../src/services/runner/kinds.js';
import type { AccessRequest } from '../../src/store/requests.js';
import { startTestBot, type TestBot } from '../support/bot.js';
import {
  allowPasswordChange,
  approvalMessageNow,
  auditActions,
  buttonsNow,
  click,
  dmsTo,
  iamUser,
  iamUserNames,
  repliesTo,
  requestUser,
} from '../support/create-user.js';

let bot: TestBot;
const START = '2026-11-22T09:00:00Z';
beforeAll(async () => {
  bot = await startTestBot();
  bot.slack.usergroups.set('S0SECURITY', ['U0SECMEMBER']);
  await allowPasswordChange(bot); // console requests go without the lock-out warning
});
afterAll(async () => {
  await bot.stop();
});
afterEach(() => {
  bot.clock.set(START);
});

let seq = 0;
const nextName = () => `approval-user-${++seq}`;
const stored = async (r: AccessRequest) => (await bot.deps.store.requests.get(r.id)) as AccessRequest;
const jobsFor = async (r: AccessRequest) =>
  (await bot.deps.store.jobs.model.scan().exec()).filter((j) => j.id.startsWith(`provision:${r.id}`));
const linkDmsTo = (userId: string) => dmsTo(bot, userId).filter((d) => d.includes('/credentials/'));

/** Clicks as `userId` and returns the ephemeral replies, after any job the click started has finished. */
async function clickAndSettle(request: AccessRequest, userId: string, actionId?: string) {
  const { result, responseId } = await click(bot, request, userId, actionId);
  await bot.drain();
  expect(result.statusCode).toBe(200);
  return repliesTo(bot, responseId);
}

/** Asserts the click changed nothing: same stored version, no job, no IAM user. */
async function expectUnchanged(before: AccessRequest) {
  const after = await stored(before);
  expect(after.version).toBe(before.version);
  expect(after.status).toBe(before.status);
  expect(await jobsFor(before)).toEqual([]);
  expect(await iamUserNames(bot)).not.toContain(before.userName);
}

describe('an Approve click is refused with an ephemeral reply, changing nothing,', () => {
  it('from the requester, even when the requester is an approver', async () => {
    const request = await requestUser(bot, nextName(), {}, 'U0APPROVER2');

    const replies = await clickAndSettle(request, 'U0APPROVER2');

    expect(replies).toEqual(['You asked for this request, so you cannot approve it: another approver must.']);
    await expectUnchanged(request);
  });

  it('from the recipient of the credentials, even when the recipient is an approver', async () => {
    const request = await requestUser(bot, nextName(), { recipient: 'U0APPROVER3' });

    const replies = await clickAndSettle(request, 'U0APPROVER3');

    expect(replies).toEqual([
      'This request gives you the credentials, so you cannot approve it: another approver must.',
    ]);
    await expectUnchanged(request);
  });

  it('from someone who is not an approver', async () => {
    const request = await requestUser(bot, nextName());

    const replies = await clickAndSettle(request, 'U0BYSTANDER');

    expect(replies[0]).toMatch(/^You are not an approver for every group of this request/);
    expect(replies[0]).toContain(
      '`ci-deployers`: <@U0APPROVER1>, <@U0APPROVER2>, <@U0APPROVER3>, <!subteam^S0SECURITY>',
    );
    await expectUnchanged(request);
  });

  it('from a global approver when a requested group names its own approvers', async () => {
    const request = await requestUser(bot, nextName(), { groups: ['read-only', 'billing-viewers'] });

    const replies = await clickAndSettle(request, 'U0APPROVER1');

    expect(replies[0]).toContain('`billing-viewers`: <@U0FINANCE1>');
    await expectUnchanged(request);
  });

  it('after the request was decided', async () => {
    const request = await requestUser(bot, nextName());
    await clickAndSettle(request, 'U0APPROVER1');
    const decided = await stored(request);

    const replies = await clickAndSettle(request, 'U0APPROVER2');

    expect(replies[0]).toMatch(
      /^This request was already approved and done by <@U0APPROVER1> on 2026-11-22 09:00 UTC\.$/,
    );
    expect((await stored(request)).version).toBe(decided.version);
    expect(await jobsFor(request)).toHaveLength(1);
  });

  it('once the request is past its lifetime, expiring it on the spot', async () => {
    const request = await requestUser(bot, nextName());
    bot.clock.advance(72 * HOUR);

    const replies = await clickAndSettle(request, 'U0APPROVER1');

    expect(replies).toEqual([
      'This request has expired and can no longer be approved. Ask again with `/iam create-user`.',
    ]);
    expect((await stored(request)).status).toBe('expired');
    expect(await jobsFor(request)).toEqual([]);
    expect(await iamUserNames(bot)).not.toContain(request.userName);
  });
});

describe('a request that is approved', () => {
  it('by a member of an approving Slack user group goes through', async () => {
    const request = await requestUser(bot, nextName());

    const replies = await clickAndSettle(request, 'U0SECMEMBER');

    expect(replies).toEqual([]);
    expect((await stored(request)).status).toBe('done');
    expect((await iamUser(bot, request.userName))?.tags['approved-by']).toBe('U0SECMEMBER');
  });

  it('by a group’s own approver goes through for that group', async () => {
    const request = await requestUser(bot, nextName(), { groups: ['billing-viewers'] });

    await clickAndSettle(request, 'U0FINANCE1');

    expect((await iamUser(bot, request.userName))?.groups).toEqual(['billing-viewers']);
  });
});

describe('a group that requires two approvals', () => {
  let request: AccessRequest;
  let first: string[];
  let again: string[];
  let afterFirst: AccessRequest;
  let messageAfterFirst: string;
  let second: string[];

  beforeAll(async () => {
    request = await requestUser(bot, nextName(), { groups: ['ci-deployers', 'production-admins'] });
    first = await clickAndSettle(request, 'U0APPROVER1');
    messageAfterFirst = approvalMessageNow(bot, request).text;
    again = await clickAndSettle(request, 'U0APPROVER1');
    afterFirst = await stored(request);
    second = await clickAndSettle(request, 'U0APPROVER2');
  });

  it('records the first approval, shows 1 of 2 and keeps the buttons, creating nothing yet', () => {
    expect(first).toEqual(['Your approval is recorded: 1 of 2. It now needs another approver.']);
    expect(messageAfterFirst).toContain('Waiting for approval: 1 of 2*');
    expect(messageAfterFirst).toContain('request_approve');
    expect(afterFirst.status).toBe('pending');
  });

  it('does not count the same approver twice', () => {
    expect(again).toEqual([
      'You already approved this request. It needs 2 approvals from different approvers (1 so far).',
    ]);
    expect(afterFirst.approvals.map((a) => a.user)).toEqual(['U0APPROVER1']);
  });

  it('is approved by a second, different approver, and the user is tagged with both', async () => {
    expect(second).toEqual([]);
    expect((await stored(request)).status).toBe('done');
    expect((await iamUser(bot, request.userName))?.tags['approved-by']).toBe('U0APPROVER1 U0APPROVER2');
    expect(await auditActions(bot, request.id)).toContain('approval-recorded');
  });

  it('counts two approvers clicking at the same moment as two approvals (no lost update)', async () => {
    const racing = await requestUser(bot, nextName(), { groups: ['production-admins'] });

    await Promise.all([click(bot, racing, 'U0APPROVER1'), click(bot, racing, 'U0APPROVER2')]);
    await bot.drain();

    const decided = await stored(racing);
    expect(decided.approvals.map((a) => a.user).sort()).toEqual(['U0APPROVER1', 'U0APPROVER2']);
    expect(decided.status).toBe('done');
  });
});

describe('ten concurrent Approve clicks and a duplicated worker delivery', () => {
  let request: AccessRequest;
  let replies: string[][];
  let outcomes: string[];

  beforeAll(async () => {
    request = await requestUser(bot, nextName(), { accessType: 'both' });
    const clickers = ['U0APPROVER1', 'U0APPROVER2', 'U0APPROVER3', 'U0SECMEMBER', 'U0APPROVER1'];
    const clicks = await Promise.all(
      Array.from({ length: 10 }, (_, i) => click(bot, request, clickers[i % clickers.length] as string)),
    );
    // The worker gets the same job a second time while the first delivery runs (Lambda delivers at least once).
    const duplicate = bot.runJob(provisionJob(request));
    await bot.drain();
    outcomes = [await duplicate];
    // And once more after everything finished, straight into provisioning, past the job claim.
    outcomes.push(
      await bot.runJob(provisionJob(request)),
      await bot.as('worker', () => runRequest(bot.deps, request.id, 1, { announce: false })),
    );
    replies = clicks.map(({ responseId }) => repliesTo(bot, responseId));
  });

  it('make one approval transition and one provisioning job', async () => {
    const actions = await auditActions(bot, request.id);

    expect(actions.filter((a) => a === 'approved')).toHaveLength(1);
    expect((await jobsFor(request)).map((j) => j.id)).toEqual([`provision:${request.id}`]);
    expect(replies.filter((r) => r.length === 0)).toHaveLength(1);
    for (const r of replies.filter((r) => r.length > 0)) expect(r[0]).toMatch(/^This request was already approved/);
  });

  it('create one user with one key, and deliver one link', async () => {
    const user = await iamUser(bot, request.userName);

    expect(outcomes).toEqual(['skipped', 'skipped', 'skipped']);
    expect(user?.keys).toHaveLength(1);
    expect(user?.loginProfile).toBe(true);
    expect(linkDmsTo('U0RECIPIENT').filter((d) => d.includes(request.userName))).toHaveLength(1);
    expect((await stored(request)).status).toBe('done');
  });
});

describe('Deny', () => {
  /** Deny clicked: the ephemeral replies, the form opened, and what it was changed into (a refusal), if anything. */
  async function openDenyForm(request: AccessRequest, userId: string) {
    const opens = bot.slack.callsOf('views.open').length;
    const updates = bot.slack.callsOf('views.update').length;
    const replies = await clickAndSettle(request, userId, REQUEST_DENY);
    const opened = bot.slack.callsOf('views.open').slice(opens);
    const updated = bot.slack.callsOf('views.update').slice(updates)[0]?.args.view;
    return {
      replies,
      view: opened[0]?.args.view as { callback_id: string; private_metadata: string } | undefined,
      updated: (typeof updated === 'string' ? JSON.parse(updated) : updated) as { submit?: unknown } | undefined,
    };
  }
  const submitReason = (userId: string, privateMetadata: string, reason: string) =>
    bot.submitView({
      userId,
      callbackId: DENY_REASON_MODAL,
      privateMetadata,
      values: { [DENY_REASON_BLOCK]: { [FORM_INPUT]: { type: 'plain_text_input', value: reason } } },
    });

  it('asks for a reason, then denies: the message says who and why, the requester is told, Approve no longer counts', async () => {
    const request = await requestUser(bot, nextName());

    const { view } = await openDenyForm(request, 'U0APPROVER1');
    const result = await submitReason('U0APPROVER1', view?.private_metadata ?? '', 'Use the shared CI role instead');
    const later = await clickAndSettle(request, 'U0APPROVER2');

    expect(view?.callback_id).toBe(DENY_REASON_MODAL);
    expect(result.body ?? '').toBe('');
    expect((await stored(request)).status).toBe('denied');
    expect(approvalMessageNow(bot, request).text).toContain('Denied by <@U0APPROVER1>');
    expect(approvalMessageNow(bot, request).text).toContain('Use the shared CI role instead');
    expect(buttonsNow(bot, request)).toEqual([]);
    expect(dmsTo(bot, 'U0REQUESTER').some((d) => d.includes('was denied by <@U0APPROVER1>'))).toBe(true);
    expect(later[0]).toMatch(/^This request was already denied by <@U0APPROVER1>/);
    expect(await iamUserNames(bot)).not.toContain(request.userName);
  });

  it('still ends the request, releases its name and tells the requester when the hand-off to the worker fails', async () => {
    const request = await requestUser(bot, nextName());
    const { view } = await openDenyForm(request, 'U0APPROVER1');
    const dispatch = bot.dispatcher.dispatch;
    bot.dispatcher.dispatch = async () => {
      throw Object.assign(new Error('Rate exceeded'), { name: 'TooManyRequestsException' });
    };

    try {
      await submitReason('U0APPROVER1', view?.private_metadata ?? '', 'Not this quarter');
    } finally {
      bot.dispatcher.dispatch = dispatch;
    }

    // The Slack function ran the follow-up itself: within its role (the role checker sees every call).
    expect((await stored(request)).status).toBe('denied');
    expect(await bot.deps.store.requests.nameHolder('home', request.userName)).toBeUndefined();
    expect(approvalMessageNow(bot, request).text).toContain('Denied by <@U0APPROVER1>');
    expect(dmsTo(bot, 'U0REQUESTER').some((d) => d.includes('was denied by <@U0APPROVER1>'))).toBe(true);
  });

  it('is refused to the requester in the form it opens (opened first: its trigger lasts 3 seconds)', async () => {
    const request = await requestUser(bot, nextName(), {}, 'U0APPROVER2');

    const { replies, view, updated } = await openDenyForm(request, 'U0APPROVER2');

    expect(view?.callback_id).toBe(DENY_REASON_MODAL);
    expect(JSON.stringify(updated)).toContain(
      'You asked for this request, so you cannot deny it: another approver must.',
    );
    expect(updated?.submit).toBeUndefined();
    expect(replies).toEqual([]); // the form is the one answer
    await expectUnchanged(request);
  });

  it('needs a reason', async () => {
    const request = await requestUser(bot, nextName());
    const { view } = await openDenyForm(request, 'U0APPROVER1');

    const result = await submitReason('U0APPROVER1', view?.private_metadata ?? '', '  ');

    expect(JSON.parse(result.body ?? '{}')).toEqual({
      response_action: 'errors',
      errors: { [DENY_REASON_BLOCK]: 'Give a reason; the requester reads it.' },
    });
    expect((await stored(request)).status).toBe('pending');
  });

  it('shows in the form that the request was approved while the form was open', async () => {
    const request = await requestUser(bot, nextName());
    const { view } = await openDenyForm(request, 'U0APPROVER1');
    await clickAndSettle(request, 'U0APPROVER2');

    const result = await submitReason('U0APPROVER1', view?.private_metadata ?? '', 'Too broad');

    const errors = JSON.parse(result.body ?? '{}').errors;
    expect(errors[DENY_REASON_BLOCK]).toMatch(/^This request was already approved/);
    expect((await stored(request)).status).toBe('done');
  });
});

describe('requests past the policy’s lifetime', () => {
  it('are expired by the scheduled task: the message says so, the buttons go, the requester is told', async () => {
    const request = await requestUser(bot, nextName());
    bot.clock.advance(71 * HOUR);
    const early = await bot.schedule();
    bot.clock.advance(1 * HOUR);

    const results = await bot.schedule();

    expect(early['expire-requests']).toEqual({ expired: 0 });
    expect(results['expire-requests']).toMatchObject({ expired: expect.any(Number) });
    expect((await stored(request)).status).toBe('expired');
    expect(approvalMessageNow(bot, request).text).toContain('*Expired*');
    expect(buttonsNow(bot, request)).toEqual([]);
    expect(
      dmsTo(bot, 'U0REQUESTER').some((d) => d.includes(request.id) && d.includes('expired without a decision')),
    ).toBe(true);
  });

  it('cannot be approved once expired', async () => {
    const request = await requestUser(bot, nextName());
    bot.clock.advance(73 * HOUR);
    await bot.schedule();
    await bot.drain(); // the projection refresh parts it hands the worker

    const replies = await clickAndSettle(request, 'U0APPROVER1');

    expect(replies[0]).toMatch(/has expired and can no longer be approved/);
    expect(await jobsFor(request)).toEqual([]);
    expect(await iamUserNames(bot)).not.toContain(request.userName);
  });
});
