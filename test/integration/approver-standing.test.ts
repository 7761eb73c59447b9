/**
 * Approvals that can be trusted: a click counts only from a full member of this workspace, whatever policy.yml
 * lists. Guests, members of other organisations, bots and deactivated members listed as approvers are refused with a
 * clear ephemeral answer and change nothing (the Approve refusal is recorded as `approval-refused`, as for anyone
 * not allowed to approve). Signed clicks through the real Slack handler; users.info answered by the fake Slack as
 * Slack answers it (`is_ultra_restricted`, `is_restricted`, another `team_id`, `is_bot`, `deleted`).
 */

import { CreateGroupCommand, DeleteGroupCommand } from '@aws-sdk/client-iam';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  DENY_REASON_BLOCK,
  DENY_REASON_MODAL,
  FORM_INPUT,
  REQUEST_ABANDON,
  REQUEST_DENY,
  REQUEST_RETRY,
} from '../../src/blocks/ids.js';
import { STANDING_CACHE_MS } from '../../src/services/slack-members.js';
import type { AccessRequest } from '../../src/store/requests.js';
import { startTestBot, type TestBot } from '../support/bot.js';
import { auditActions, click, iamUserNames, repliesTo, requestUser, shownText } from '../support/create-user.js';
import { testPolicy } from '../support/policy.js';

const GUEST = 'U0GUESTAPPR';
const MULTI_GUEST = 'U0MULTIAPPR';
const EXTERNAL = 'U0EXTAPPR';
const BOT_USER = 'U0BOTAPPR';
const LEFT = 'U0LEFTAPPR';
const FULL = 'U0FULLAPPR';

let bot: TestBot;
beforeAll(async () => {
  bot = await startTestBot({
    policy: testPolicy({
      approvals: {
        channel: 'C0APPROVALS',
        approvers: { users: [GUEST, MULTI_GUEST, EXTERNAL, BOT_USER, LEFT, FULL], usergroups: [] },
        requiredApprovals: 1,
      },
    }),
    members: [
      { id: GUEST, guest: 'single' },
      { id: MULTI_GUEST, guest: 'multi' },
      { id: EXTERNAL, otherOrg: true },
      { id: BOT_USER, isBot: true },
      { id: LEFT, deleted: true },
      FULL,
    ],
  });
});
afterAll(async () => {
  await bot.stop();
});
beforeEach(() => {
  // each test asks Slack afresh: past the standing cache of the previous test's clicks
  bot.clock.advance(STANDING_CACHE_MS + 1);
});

let seq = 0;
const nextName = () => `standing-user-${++seq}`;
const stored = async (r: AccessRequest) => (await bot.deps.store.requests.get(r.id)) as AccessRequest;
const usersInfoCalls = () => bot.slack.callsOf('users.info').length;

async function clickAndSettle(request: AccessRequest, userId: string, actionId?: string) {
  const { result, responseId } = await click(bot, request, userId, actionId);
  await bot.drain();
  expect(result.statusCode).toBe(200);
  return repliesTo(bot, responseId);
}

describe('an Approve click from an approver listed in policy.yml who is not a full member is refused, changing nothing,', () => {
  it.each([
    [GUEST, 'you are a single-channel guest of this workspace'],
    [MULTI_GUEST, 'you are a multi-channel guest of this workspace'],
    [EXTERNAL, 'you are a member of another organisation (a shared channel)'],
    [BOT_USER, 'you are a bot'],
    [LEFT, 'your account is deactivated'],
  ])('from %s', async (approver, why) => {
    // Prepare
    const request = await requestUser(bot, nextName());

    // Act
    const replies = await clickAndSettle(request, approver);

    // Assess
    expect(replies).toEqual([
      `Only full members of this workspace can approve requests, and ${why}, whatever the policy lists. Nothing was changed.`,
    ]);
    const after = await stored(request);
    expect(after.version).toBe(request.version);
    expect(after.status).toBe('pending');
    expect(after.approvals).toEqual([]);
    expect(await iamUserNames(bot)).not.toContain(request.userName);
    expect(await auditActions(bot, request.id)).toEqual(['requested', 'approval-refused']);
  });
});

describe('a full member', () => {
  it('listed as approver approves, and the check asked users.info about them once', async () => {
    // Prepare
    const request = await requestUser(bot, nextName());
    const before = usersInfoCalls();

    // Act
    const replies = await clickAndSettle(request, FULL);

    // Assess
    expect(replies.join('\n')).not.toContain('full members');
    const after = await stored(request);
    expect(after.approvals.map((a) => a.user)).toEqual([FULL]);
    expect(['approved', 'provisioning', 'done']).toContain(after.status);
    expect(
      bot.slack
        .callsOf('users.info')
        .slice(before)
        .filter((c) => c.args.user === FULL),
    ).toHaveLength(1);
  });
});

describe('a Deny click', () => {
  it('from a guest listed as approver opens the reason form, which turns into the refusal, and a submitted form denies nothing', async () => {
    // Prepare
    const request = await requestUser(bot, nextName());
    const formsBefore = bot.slack.callsOf('views.open').length;
    const updatesBefore = bot.slack.callsOf('views.update').length;

    // Act
    const replies = await clickAndSettle(request, MULTI_GUEST, REQUEST_DENY);
    const submitted = await bot.submitView({
      userId: MULTI_GUEST,
      callbackId: DENY_REASON_MODAL,
      values: { [DENY_REASON_BLOCK]: { [FORM_INPUT]: { type: 'plain_text_input', value: 'no' } } },
      privateMetadata: JSON.stringify({ requestId: request.id }),
    });
    await bot.drain();

    // Assess
    const refusal =
      'Only full members of this workspace can deny requests, and you are a multi-channel guest of this workspace, whatever the policy lists. Nothing was changed.';
    expect(bot.slack.callsOf('views.open').length).toBe(formsBefore + 1); // opened first: its trigger lasts 3 s
    const [update, ...more] = bot.slack.callsOf('views.update').slice(updatesBefore);
    expect(more).toEqual([]);
    const opened = bot.slack.callsOf('views.open').at(-1)?.answer as { view?: { id?: string } } | undefined;
    expect(update?.args.view_id).toBe(opened?.view?.id);
    const view = update?.args.view;
    const shown = (typeof view === 'string' ? JSON.parse(view) : view) as { submit?: unknown; blocks?: unknown[] };
    expect(JSON.stringify(shown.blocks)).toContain(refusal);
    expect(shown.submit).toBeUndefined(); // nothing to submit
    expect(replies).toEqual([]); // the form is the one answer
    expect(String(submitted.body)).toContain('Only full members of this workspace can deny requests');
    const after = await stored(request);
    expect(after.status).toBe('pending');
    expect(after.version).toBe(request.version);
  });
});

describe('when Slack cannot say who clicks', () => {
  it('an Approve from a listed approver is refused (fail closed), and counts once Slack answers again', async () => {
    // Prepare
    const request = await requestUser(bot, nextName());
    bot.slack.members.failWith(FULL, 'fatal_error');

    // Act
    const refused = await clickAndSettle(request, FULL);
    bot.slack.members.recover(FULL);
    const accepted = await clickAndSettle(request, FULL);

    // Assess
    expect(refused).toEqual([
      'I could not check with Slack that you are a full member of this workspace, so I cannot let you approve requests now. Nothing was changed; try again in a minute.',
    ]);
    expect(accepted.join('\n')).not.toContain('full member');
    expect((await stored(request)).approvals.map((a) => a.user)).toEqual([FULL]);
  });

  it('an approver Slack does not know (user_not_found) is refused', async () => {
    // Prepare
    const request = await requestUser(bot, nextName());
    // (removing the member would not do: the harness registers whoever clicks, as Slack sends clicks from members)
    bot.slack.members.failWith(GUEST, 'user_not_found');

    // Act
    const replies = await clickAndSettle(request, GUEST);
    bot.slack.members.recover(GUEST);

    // Assess
    expect(replies).toEqual([
      'Only full members of this workspace can approve requests, and Slack does not know you as a member of this workspace, whatever the policy lists. Nothing was changed.',
    ]);
    expect((await stored(request)).status).toBe('pending');
  });
});

/** A request whose provisioning failed (its group vanished between the form and the approval). */
async function failedRequest(): Promise<AccessRequest> {
  const request = await requestUser(bot, nextName(), { groups: ['read-only'] });
  const iam = bot.deps.aws.account().iam;
  await iam.send(new DeleteGroupCommand({ GroupName: 'read-only' }));
  try {
    await clickAndSettle(request, FULL);
  } finally {
    await iam.send(new CreateGroupCommand({ GroupName: 'read-only' }));
  }
  const failed = await stored(request);
  expect(failed.status).toBe('failed');
  return failed;
}

describe('the other approver-only actions refuse who is not a full member too', () => {
  it.each([
    ['Retry', REQUEST_RETRY, 'retry'],
    ['Abandon', REQUEST_ABANDON, 'abandon'],
  ])('%s on a failed request, from a single-channel guest, changes nothing', async (_name, actionId, verb) => {
    // Prepare
    const request = await failedRequest();

    // Act
    const replies = await clickAndSettle(request, GUEST, actionId);

    // Assess
    expect(replies).toEqual([
      `Only full members of this workspace can ${verb} requests, and you are a single-channel guest of this workspace, whatever the policy lists. Nothing was changed.`,
    ]);
    const after = await stored(request);
    expect(after.status).toBe('failed');
    expect(after.version).toBe(request.version);
  });

  it('/iam report from a bot and /iam offboard from a multi-channel guest', async () => {
    // Act
    const report = await bot.command('report', BOT_USER);
    const offboard = await bot.command('offboard <@U0OWNER> --reason "left the company"', MULTI_GUEST);
    await bot.drain();

    // Assess
    expect(shownText(bot, report.responseId)).toBe(
      'Only full members of this workspace can see the compliance report, and you are a bot, whatever the policy lists. Nothing was changed.',
    );
    expect(shownText(bot, offboard.responseId)).toContain(
      'Only full members of this workspace can ask to offboard someone, and you are a multi-channel guest of this workspace',
    );
    expect((await bot.deps.store.requests.model.scan().exec()).filter((r) => r.kind === 'offboard')).toEqual([]);
  });

  it('/iam audit and /iam jobs, from a member of another organisation', async () => {
    // Act
    const audit = await bot.command('audit U0FULLAPPR', EXTERNAL);
    const jobs = await bot.command('jobs', EXTERNAL);
    await bot.drain();

    // Assess
    expect(shownText(bot, audit.responseId)).toBe(
      'Only full members of this workspace can read the audit trail, and you are a member of another organisation (a shared channel), whatever the policy lists. Nothing was changed.',
    );
    expect(shownText(bot, jobs.responseId)).toBe(
      'Only full members of this workspace can see failed jobs, and you are a member of another organisation (a shared channel), whatever the policy lists. Nothing was changed.',
    );
  });
});
