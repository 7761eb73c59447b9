/**
 * Changes to existing IAM users through the request model: `/iam add-to-group`, `/iam remove-from-group` and
 * `/iam set-owner`, from the signed command to IAM in moto, every AWS call checked against the shipped roles.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REQUEST_ABANDON, REQUEST_RETRY } from '../../src/blocks/ids.js';
import { provisionJob } from '../../src/services/requests.js';
import type { AccessRequest } from '../../src/store/requests.js';
import { startTestBot, type TestBot } from '../support/bot.js';
import {
  changeRequestFor,
  deleteGroup,
  ensureGroup,
  existingUser,
  groupsOf,
  renderedPlan,
  workerIamWrites,
} from '../support/changes.js';
import { auditActions, buttonsNow, click, dmsTo, iamUser, repliesTo, shownText } from '../support/create-user.js';
import { testPolicy } from '../support/policy.js';

let bot: TestBot;
beforeAll(async () => {
  const policy = testPolicy();
  bot = await startTestBot({
    policy: {
      ...policy,
      groups: [...policy.groups, { name: 'log-readers', description: 'Read the logs' }],
      users: { path: '/iam-slack-bot/', managedPaths: ['/legacy/'] },
      // an account whose role the bot cannot assume (moto answers AccessDenied: the role does not exist)
      accounts: [{ name: 'locked', roleArn: 'arn:aws:iam::123456789012:role/iam-slack-bot-missing' }],
    },
  });
});
afterAll(async () => {
  await bot.stop();
});

let seq = 0;
const nextName = (what: string) => `${what}-${++seq}`;
const body = (result: { body?: string }) => JSON.parse(result.body || '{}');
const stored = async (r: AccessRequest) => (await bot.deps.store.requests.get(r.id)) as AccessRequest;

/**
 * `/iam <text>` as `userId`, then the worker's jobs; returns what the user sees under the command (the ack's answer,
 * or the worker's once a request is posted: the ack says nothing then).
 */
async function command(text: string, userId = 'U0REQUESTER'): Promise<string> {
  const { result, responseId } = await bot.command(text, userId);
  expect(result.statusCode).toBe(200);
  await bot.drain();
  return shownText(bot, responseId);
}

async function approve(request: AccessRequest, userId: string): Promise<string[]> {
  const { responseId } = await click(bot, request, userId);
  await bot.drain();
  return repliesTo(bot, responseId);
}

describe('add-to-group through approval', () => {
  it('adds the memberships once approved, and the approval message lists exactly the IAM calls the worker makes', async () => {
    const name = nextName('adds');
    await existingUser(bot, name, { owner: 'U0OWNER' });

    const answer = await command(`add-to-group ${name} ci-deployers read-only --reason "Deploys and reads"`);
    const request = await changeRequestFor(bot, name);
    const plan = renderedPlan(bot, request);
    const from = bot.roles.checked().length;
    await approve(request, 'U0APPROVER1');

    expect(answer).toContain('is waiting for approval');
    expect(plan).toEqual(['AddUserToGroup ci-deployers', 'AddUserToGroup read-only']);
    expect(workerIamWrites(bot, from)).toEqual(plan);
    expect(await groupsOf(bot, name)).toEqual(['ci-deployers', 'read-only']);
    expect((await stored(request)).status).toBe('done');
    // each message is a step of the run, checkpointed with its `notified` event: the start (requester told), then
    // after the change the end (approval message), the requester's and the owner's DMs
    expect(await auditActions(bot, request.id)).toEqual([
      'requested',
      'approved',
      'provisioning-started',
      'notified',
      'step-done',
      'step-done',
      'changed',
      'notified',
      'notified',
      'notified',
    ]);
    expect(dmsTo(bot, 'U0OWNER').join()).toContain(`add IAM user \`${name}\``);
  });

  it('refuses, before approval, a group the policy does not list, changing nothing', async () => {
    const name = nextName('unlisted');
    await existingUser(bot, name, { owner: 'U0OWNER' });
    await ensureGroup(bot, 'Administrators');

    const answer = await command(`add-to-group ${name} Administrators --reason "Please"`);

    expect(answer).toContain('The policy does not list `Administrators`');
    expect((await bot.deps.store.requests.model.scan().exec()).filter((r) => r.userName === name)).toEqual([]);
    expect(await groupsOf(bot, name)).toEqual([]);
  });

  it('refuses the approval of the requester, changing nothing', async () => {
    const name = nextName('self');
    await existingUser(bot, name, { owner: 'U0OWNER' });
    await command(`add-to-group ${name} ci-deployers --reason "Mine"`, 'U0APPROVER2');
    const request = await changeRequestFor(bot, name);

    const replies = await approve(request, 'U0APPROVER2');

    expect(replies).toEqual(['You asked for this request, so you cannot approve it: another approver must.']);
    expect((await stored(request)).status).toBe('pending');
    expect(await groupsOf(bot, name)).toEqual([]);
  });

  it("refuses the approval of the user's owner, changing nothing", async () => {
    const name = nextName('owned');
    await existingUser(bot, name, { owner: 'U0APPROVER3' });
    await command(`add-to-group ${name} ci-deployers --reason "For the owner"`);
    const request = await changeRequestFor(bot, name);

    const replies = await approve(request, 'U0APPROVER3');

    expect(replies).toEqual([`You own IAM user ${name}, so you cannot approve a change to it: another approver must.`]);
    expect((await stored(request)).status).toBe('pending');
    expect(await groupsOf(bot, name)).toEqual([]);
  });

  it('does not run when the approver has become the owner since (the worker re-reads the owner from IAM)', async () => {
    const name = nextName('new-owner');
    await existingUser(bot, name, { owner: 'U0OWNER' });
    await command(`add-to-group ${name} ci-deployers --reason "Before the owner changed"`);
    const request = await changeRequestFor(bot, name);
    const { TagUserCommand } = await import('@aws-sdk/client-iam');
    await bot.deps.aws
      .account()
      .iam.send(new TagUserCommand({ UserName: name, Tags: [{ Key: 'slack-user-id', Value: 'U0APPROVER1' }] }));

    await approve(request, 'U0APPROVER1');

    expect(await stored(request)).toMatchObject({
      status: 'failed',
      error: expect.stringContaining('owns the user now'),
    });
    expect(await groupsOf(bot, name)).toEqual([]);
  });

  it('needs two approvers for a two-approval group', async () => {
    const name = nextName('two');
    await existingUser(bot, name);
    await command(`add-to-group ${name} production-admins --reason "On call"`);
    const request = await changeRequestFor(bot, name);

    await approve(request, 'U0APPROVER1');
    const afterOne = await groupsOf(bot, name);
    await approve(request, 'U0APPROVER2');

    expect(afterOne).toEqual([]);
    expect(await groupsOf(bot, name)).toEqual(['production-admins']);
  });

  it("answers before approval: IAM's 10-group limit, an existing membership, a missing group, a user outside the managed paths or missing", async () => {
    const full = nextName('full');
    await existingUser(bot, full, { groups: Array.from({ length: 9 }, (_, i) => `other-${i}`) });
    const member = nextName('member');
    await existingUser(bot, member, { groups: ['read-only'] });
    const outside = nextName('outside');
    await existingUser(bot, outside, { path: '/ops/' });

    expect(await command(`add-to-group ${full} ci-deployers read-only --reason "x"`)).toContain(
      `IAM allows at most 10 groups per user: \`${full}\` is in 9 already, and this would make 11.`,
    );
    expect(await command(`add-to-group ${member} read-only --reason "x"`)).toContain(
      `\`${member}\` is already in \`read-only\`: nothing to add there.`,
    );
    expect(await command(`remove-from-group ${member} ci-deployers --reason "x"`)).toContain(
      `\`${member}\` is not in \`ci-deployers\`: nothing to remove there.`,
    );
    await deleteGroup(bot, 'log-readers');
    try {
      expect(await command(`add-to-group ${member} log-readers --reason "x"`)).toContain('has no group `log-readers`');
    } finally {
      await ensureGroup(bot, 'log-readers');
    }
    expect(await command(`add-to-group ${outside} read-only --reason "x"`)).toContain(
      'is at path `/ops/`, outside the paths the bot manages (`/iam-slack-bot/`, `/legacy/`)',
    );
    expect(await command(`add-to-group nobody-at-all read-only --reason "x"`)).toContain(
      'There is no IAM user `nobody-at-all`',
    );
  });

  it('gives an inline request IAM refuses one answer, from the worker, and posts nothing to the approvers: no such user, no such group, an account the bot cannot act in', async () => {
    const member = nextName('checked-later');
    await existingUser(bot, member, { owner: 'U0OWNER' });
    const approvalPosts = () =>
      bot.slack.callsOf('chat.postMessage').filter((c) => c.args.channel === bot.deps.config.policy.approvals.channel);
    const postsBefore = approvalPosts().length;
    /** `/iam <text>`: what the ack said, and every message shown under the command once the worker is done. */
    const ask = async (text: string) => {
      const { result, responseId } = await bot.command(text, 'U0REQUESTER');
      await bot.drain();
      return { ack: result.body ?? '', shown: bot.slack.shown(responseId).map((m) => m.text ?? '') };
    };

    const noUser = await ask('add-to-group nobody-at-all-2 read-only --reason "x"');
    const noOwnerUser = await ask('set-owner nobody-at-all-3 <@U0ALICE|alice> --reason "x"');
    await deleteGroup(bot, 'log-readers');
    let noGroup: Awaited<ReturnType<typeof ask>>;
    try {
      noGroup = await ask(`add-to-group ${member} log-readers --reason "x"`);
    } finally {
      await ensureGroup(bot, 'log-readers');
    }
    const locked = await ask(`add-to-group ${member} read-only --account locked --reason "x"`);

    for (const answer of [noUser, noOwnerUser, noGroup, locked]) {
      expect(answer.ack).toBe(''); // acked with no message: the worker's answer is the only one
      expect(answer.shown).toHaveLength(1);
      expect(answer.shown[0]).toContain('Nothing was changed.');
    }
    expect(noUser.shown[0]).toContain("I can't ask for that yet:\n• There is no IAM user `nobody-at-all-2`");
    expect(noOwnerUser.shown[0]).toContain('There is no IAM user `nobody-at-all-3`');
    expect(noGroup.shown[0]).toContain('has no group `log-readers`');
    // STS and IAM are asked in parallel: whichever is refused first names what it could not do
    expect(locked.shown[0]).toMatch(/^I cannot (act|read IAM users) in account locked \(AccessDenied\)\. Nothing/);
    expect(approvalPosts()).toHaveLength(postsBefore);
    const refused = (await bot.deps.store.requests.model.scan().exec()).filter((r) =>
      ['nobody-at-all-2', 'nobody-at-all-3', member].includes(r.userName),
    );
    expect(refused.map((r) => r.status)).toEqual(['expired', 'expired', 'expired', 'expired']);
    expect(await groupsOf(bot, member)).toEqual([]);
  });

  it('acts on users under users.managedPaths too (users that existed before the bot)', async () => {
    const name = nextName('legacy');
    await existingUser(bot, name, { path: '/legacy/' });
    await command(`add-to-group ${name} read-only --reason "Old user"`);

    await approve(await changeRequestFor(bot, name), 'U0APPROVER1');

    expect(await groupsOf(bot, name)).toEqual(['read-only']);
  });
});

describe('a failure midway', () => {
  it('undoes the first of three additions when the second fails, and Retry completes all three', async () => {
    const name = nextName('midway');
    await existingUser(bot, name, { owner: 'U0OWNER' });
    await command(`add-to-group ${name} ci-deployers read-only log-readers --reason "Three groups"`);
    const request = await changeRequestFor(bot, name);
    await deleteGroup(bot, 'read-only'); // the second step now fails in IAM (NoSuchEntity)

    await approve(request, 'U0APPROVER1');
    const failed = await stored(request);
    const groupsAfterFailure = await groupsOf(bot, name);
    await ensureGroup(bot, 'read-only');
    const { responseId } = await click(bot, failed, 'U0APPROVER1', REQUEST_RETRY);
    await bot.drain();

    expect(failed).toMatchObject({ status: 'failed', remaining: [] });
    expect(failed.error).toContain('AddUserToGroup');
    expect(failed.error).toContain('read-only');
    expect(groupsAfterFailure).toEqual([]);
    expect(repliesTo(bot, responseId)).toEqual([]);
    expect((await stored(request)).status).toBe('done');
    expect(await groupsOf(bot, name)).toEqual(['ci-deployers', 'log-readers', 'read-only']);
    const actions = await auditActions(bot, request.id);
    expect(actions).toContain('step-failed');
    expect(actions).toContain('step-undone');
    expect(actions.filter((a) => a !== 'notified').at(-1)).toBe('changed');
  });
});

describe('races', () => {
  it('ten concurrent Approve clicks and a duplicated worker run add each membership once', async () => {
    const name = nextName('race');
    await existingUser(bot, name);
    await command(`add-to-group ${name} ci-deployers read-only --reason "Race"`);
    const request = await changeRequestFor(bot, name);

    const approvers = ['U0APPROVER1', 'U0APPROVER2', 'U0APPROVER3', 'U0SECMEMBER'];
    bot.slack.usergroups.set('S0SECURITY', ['U0SECMEMBER']);
    await Promise.all(Array.from({ length: 10 }, (_, i) => click(bot, request, approvers[i % 4] as string)));
    await bot.drain();
    const rerun = await bot.runJob(provisionJob({ id: request.id, attempt: 1 }, true));

    expect(rerun).toBe('skipped');
    expect(await groupsOf(bot, name)).toEqual(['ci-deployers', 'read-only']);
    const actions = await auditActions(bot, request.id);
    expect(actions.filter((a) => a === 'approved')).toHaveLength(1);
    expect(actions.filter((a) => a === 'step-done')).toHaveLength(2);
    expect(actions.filter((a) => a === 'changed')).toHaveLength(1);
  });
});

describe('remove-from-group', () => {
  it("is done at once for the user's owner, still recorded as a request, and the owner is told", async () => {
    const name = nextName('owner-removes');
    await existingUser(bot, name, { owner: 'U0OWNER', groups: ['ci-deployers', 'read-only'] });

    const answer = await command(`remove-from-group ${name} read-only --reason "Not needed"`, 'U0OWNER');
    const request = await changeRequestFor(bot, name);

    expect(answer).toContain('You own this user, so it needs no approval');
    expect(await groupsOf(bot, name)).toEqual(['ci-deployers']);
    expect(request.status).toBe('done');
    expect(request.allowedAtOnce).toBe('owner');
    expect(request.message).toBeUndefined(); // never posted for approval
    expect(await auditActions(bot, request.id)).toEqual([
      'requested',
      'allowed-at-once', // by the worker, once IAM said who owns the user (the command answered before asking)
      'provisioning-started',
      'notified',
      'step-done',
      'changed',
      'notified',
      'notified',
    ]);
    expect(dmsTo(bot, 'U0OWNER').join()).toContain(`Done: remove IAM user \`${name}\``);
  });

  it("gives the owner's inline removal IAM refuses one answer, from the worker, changing nothing and posting nothing", async () => {
    const name = nextName('owner-removes-absent');
    await existingUser(bot, name, { owner: 'U0OWNER', groups: ['ci-deployers'] });
    const approvalPosts = () =>
      bot.slack.callsOf('chat.postMessage').filter((c) => c.args.channel === bot.deps.config.policy.approvals.channel);
    const postsBefore = approvalPosts().length;

    const { result, responseId } = await bot.command(`remove-from-group ${name} read-only --reason "x"`, 'U0OWNER');
    await bot.drain();
    const shown = bot.slack.shown(responseId).map((m) => m.text ?? '');

    expect(result.body ?? '').toBe(''); // acked with no message: the worker's answer is the only one
    expect(shown).toHaveLength(1);
    expect(shown[0]).toContain("I can't ask for that yet:");
    expect(shown[0]).toContain('read-only');
    expect(shown[0]).toContain('Nothing was changed.');
    expect(shown[0]).not.toContain('needs no approval');
    expect(approvalPosts()).toHaveLength(postsBefore);
    const [request] = (await bot.deps.store.requests.model.scan().exec()).filter((r) => r.userName === name);
    expect(request).toMatchObject({ status: 'expired' });
    expect(request?.allowedAtOnce).toBeUndefined();
    expect(await groupsOf(bot, name)).toEqual(['ci-deployers']);
  });

  it('posts a removal run at once that failed to the approval channel, where Retry finishes it', async () => {
    const name = nextName('owner-removal-fails');
    await existingUser(bot, name, { owner: 'U0OWNER', groups: ['read-only'] });
    const policy = bot.deps.config.policy as { groups: { name: string }[] };
    const groups = policy.groups;
    // The policy stops listing the group between the worker's check and its run: the run refuses.
    bot.dispatcher.setRunner(async (job) => {
      if (job.type !== 'provision') return bot.runJob(job);
      policy.groups = groups.filter((g) => g.name !== 'read-only');
      try {
        return await bot.runJob(job);
      } finally {
        policy.groups = groups;
      }
    });
    try {
      await command(`remove-from-group ${name} read-only --reason "Not needed"`, 'U0OWNER');
    } finally {
      bot.dispatcher.setRunner((job) => bot.runJob(job));
    }
    const failed = await changeRequestFor(bot, name);
    const buttons = buttonsNow(bot, failed);
    const { responseId } = await click(bot, failed, 'U0APPROVER1', REQUEST_RETRY);
    await bot.drain();

    expect(failed).toMatchObject({
      status: 'failed',
      error: expect.stringContaining('group read-only is not in the policy'),
    });
    expect(buttons).toEqual([REQUEST_RETRY, REQUEST_ABANDON]);
    expect(repliesTo(bot, responseId)).toEqual([]);
    expect((await stored(failed)).status).toBe('done');
    expect(await groupsOf(bot, name)).toEqual([]);
  });

  it('is done at once for an approver of the group, and the owner is told', async () => {
    const name = nextName('approver-removes');
    await existingUser(bot, name, { owner: 'U0OWNER', groups: ['billing-viewers'] });

    await command(`remove-from-group ${name} billing-viewers --reason "Left finance"`, 'U0FINANCE1');

    expect(await groupsOf(bot, name)).toEqual([]);
    expect(
      dmsTo(bot, 'U0OWNER')
        .filter((d) => d.includes(name))
        .join(),
    ).toContain("Done, at <@U0FINANCE1>'s request: remove IAM user");
  });

  it('goes through approval for anyone else', async () => {
    const name = nextName('other-removes');
    await existingUser(bot, name, { owner: 'U0OWNER', groups: ['read-only'] });

    const answer = await command(`remove-from-group ${name} read-only --reason "Audit finding"`);
    const request = await changeRequestFor(bot, name);
    const before = await groupsOf(bot, name);
    const plan = renderedPlan(bot, request);
    const from = bot.roles.checked().length;
    await approve(request, 'U0APPROVER1');

    expect(answer).toContain('is waiting for approval');
    expect(before).toEqual(['read-only']);
    expect(plan).toEqual(['RemoveUserFromGroup read-only']);
    expect(workerIamWrites(bot, from)).toEqual(plan);
    expect(await groupsOf(bot, name)).toEqual([]);
  });
});

describe('the form', () => {
  it('opens when arguments are missing, offers the policy groups, and submits the request', async () => {
    const name = nextName('form');
    await existingUser(bot, name);

    await command(`add-to-group ${name}`);
    const view = bot.slack.callsOf('views.open').at(-1)?.args.view as {
      callback_id: string;
      private_metadata: string;
      blocks: { block_id: string; element: { options?: { value: string }[]; initial_value?: string } }[];
    };
    const result = await bot.submitView({
      userId: 'U0REQUESTER',
      callbackId: view.callback_id,
      privateMetadata: view.private_metadata,
      values: {
        membership_user: { value: { type: 'plain_text_input', value: name } },
        membership_groups: { value: { type: 'multi_static_select', selected_options: [{ value: 'read-only' }] } },
        membership_justification: { value: { type: 'plain_text_input', value: 'From the form' } },
      },
    });
    await bot.drain();

    expect(view.blocks[0]?.element.initial_value).toBe(name);
    expect(view.blocks[1]?.element.options?.map((o) => o.value)).toEqual([
      'ci-deployers',
      'read-only',
      'production-admins',
      'billing-viewers',
      'log-readers',
    ]);
    expect(result.body ?? '').toBe('');
    expect((await changeRequestFor(bot, name)).plan).toEqual([
      { op: 'AddUserToGroup', userName: name, group: 'read-only' },
    ]);
  });

  it('shows a problem on its field', async () => {
    const name = nextName('form-bad');
    await existingUser(bot, name, { groups: ['read-only'] });

    const result = await bot.submitView({
      userId: 'U0REQUESTER',
      callbackId: 'group_membership_modal',
      privateMetadata: JSON.stringify({ kind: 'add-to-group' }),
      values: {
        membership_user: { value: { type: 'plain_text_input', value: name } },
        membership_groups: { value: { type: 'multi_static_select', selected_options: [{ value: 'read-only' }] } },
        membership_justification: { value: { type: 'plain_text_input', value: 'Again' } },
      },
    });

    expect(body(result)).toEqual({
      response_action: 'errors',
      errors: { membership_groups: `\`${name}\` is already in \`read-only\`: nothing to add there.` },
    });
  });
});

describe('set-owner', () => {
  it('changes the slack-user-id tag once approved; neither the new owner nor the owner may approve it', async () => {
    const name = nextName('owner');
    await existingUser(bot, name, { owner: 'U0APPROVER3' });

    await command(`set-owner ${name} <@U0APPROVER2|bob> --reason "Bob runs it now"`);
    const request = await changeRequestFor(bot, name);
    const plan = renderedPlan(bot, request);
    const byNewOwner = await approve(request, 'U0APPROVER2');
    const byOwner = await approve(request, 'U0APPROVER3');
    const from = bot.roles.checked().length;
    await approve(request, 'U0APPROVER1');

    expect(plan).toEqual([`TagUser ${name}`]);
    expect(byNewOwner).toEqual([
      `This request makes you the owner of IAM user ${name}, so you cannot approve it: another approver must.`,
    ]);
    expect(byOwner).toEqual([`You own IAM user ${name}, so you cannot approve a change to it: another approver must.`]);
    expect(workerIamWrites(bot, from)).toEqual(plan);
    expect((await iamUser(bot, name))?.tags['slack-user-id']).toBe('U0APPROVER2');
    expect(dmsTo(bot, 'U0APPROVER2').join()).toContain(`make <@U0APPROVER2> the owner of IAM user \`${name}\``);
  });

  it('moves the user to the new owner in the projection: `/iam users` shows it to them, not to the old owner', async () => {
    const name = nextName('handover');
    await existingUser(bot, name, { owner: 'U0APPROVER3' });
    await bot.schedule(); // the projection knows the user and its owner
    await bot.drain(); // the projection refresh parts it hands the worker
    const before = await bot.command('users <@U0APPROVER3|carol>', 'U0SOMEONE');

    await command(`set-owner ${name} <@U0ALICE|alice> --reason "Alice runs it now"`);
    await approve(await changeRequestFor(bot, name), 'U0APPROVER1');
    const alices = await bot.command('users', 'U0ALICE');
    const carols = await bot.command('users <@U0APPROVER3|carol>', 'U0SOMEONE');
    const projected = await bot.deps.store.users.get('home', name);

    expect(JSON.stringify(JSON.parse(before.result.body ?? '{}'))).toContain(name);
    expect(projected?.owner).toBe('U0ALICE');
    expect(JSON.stringify(JSON.parse(alices.result.body ?? '{}'))).toContain(name);
    expect(JSON.stringify(JSON.parse(carols.result.body ?? '{}'))).not.toContain(name);
  });

  it('sets an owner on a user that had none', async () => {
    const name = nextName('unowned');
    await existingUser(bot, name, { path: '/legacy/' });

    await command(`set-owner ${name} <@U0ALICE|alice> --reason "Nobody owned it"`);
    await approve(await changeRequestFor(bot, name), 'U0APPROVER1');

    expect((await iamUser(bot, name))?.tags['slack-user-id']).toBe('U0ALICE');
  });
});
