/**
 * `leavers.deleteAfterDays`: the users an offboarding disabled are named, with their deletion day, in its report;
 * on that day the daily owner check (`reconcile-owners`) deletes those nobody kept, the way `/iam delete-user` does
 * after its window (a delete-user request approved by the system), and keeps the one given to a new owner (Give to,
 * set-owner through approval) and those an approver reactivated. Unset, nothing is ever deleted. On the test clock
 * (ManualClock, one `daily()` a day); moto holds the users; the role checker evaluates every AWS call against the
 * role of the function that made it. moto lacks service-specific credentials: the delete-user test's stand-in answers
 * those three calls only (test/support/service-credentials.ts).
 */
import {
  AddUserToGroupCommand,
  CreateAccessKeyCommand,
  CreateLoginProfileCommand,
  CreateUserCommand,
  GetUserCommand,
  type IAMClient,
  ListAccessKeysCommand,
  ListUserTagsCommand,
  PutUserPolicyCommand,
} from '@aws-sdk/client-iam';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FORM_INPUT, GIVE_TO_BLOCKS, GIVE_TO_MODAL, OFFBOARD_REACTIVATE } from '../../src/blocks/ids.js';
import { giveToActionId } from '../../src/blocks/offboard.js';
import { DAY, ManualClock } from '../../src/clock.js';
import { dailyTasks, runScheduledTasks } from '../../src/jobs/schedule.js';
import { leaverDeletionId, runLeaverDeletions } from '../../src/services/kinds/leaver-deletions.js';
import { leaverRequestId } from '../../src/services/kinds/offboard.js';
import type { AccessRequest } from '../../src/store/requests.js';
import { startTestBot, type TestBot } from '../support/bot.js';
import { changeRequestFor, ensureGroup } from '../support/changes.js';
import { APPROVALS, auditActions, click, repliesTo } from '../support/create-user.js';
import { testPolicy } from '../support/policy.js';
import { ServiceCredentialStandIn } from '../support/service-credentials.js';

const PATH = '/iam-slack-bot/';

/** What one test bot of this file needs: its clock, its IAM, and the leavers' helpers on them. */
function harness(leavers: Record<string, unknown>) {
  const clock = new ManualClock(new Date('2026-03-02T09:00:00Z'));
  const h = {
    clock,
    bot: undefined as unknown as TestBot,
    iam: undefined as unknown as IAMClient,
    async start() {
      h.bot = await startTestBot({
        clock,
        policy: testPolicy({ users: { path: PATH }, leavers }),
        members: ['U0BOB', 'U0LEFT1', 'U0LEFT2', 'U0LEFT3', 'U0LEFT4'],
        // moto 5.2.1 does not implement service-specific credentials (the purge lists them): this stands in for
        // those calls only, after the role checker checked them (see the file)
        decorateClient: new ServiceCredentialStandIn().decorate,
      });
      h.iam = h.bot.deps.aws.account().iam;
    },
    /** An IAM user made straight in moto (as before the bot): keys, maybe a console password, a group, a policy. */
    async seedUser(name: string, owner: string, opts: { keys?: number; console?: boolean; attached?: boolean } = {}) {
      await h.iam.send(
        new CreateUserCommand({ UserName: name, Path: PATH, Tags: [{ Key: 'slack-user-id', Value: owner }] }),
      );
      if (opts.console)
        await h.iam.send(new CreateLoginProfileCommand({ UserName: name, Password: `Seeded-${name}-pw-1!x` }));
      for (let i = 0; i < (opts.keys ?? 1); i++) await h.iam.send(new CreateAccessKeyCommand({ UserName: name }));
      if (opts.attached) {
        await ensureGroup(h.bot, 'read-only');
        await h.iam.send(new AddUserToGroupCommand({ UserName: name, GroupName: 'read-only' }));
        await h.iam.send(
          new PutUserPolicyCommand({
            UserName: name,
            PolicyName: 'inline-read',
            PolicyDocument: JSON.stringify({
              Version: '2012-10-17',
              Statement: [{ Effect: 'Allow', Action: 's3:GetObject', Resource: '*' }],
            }),
          }),
        );
      }
    },
    /** The daily schedule on the next day, then the jobs it handed the worker. */
    async daily() {
      clock.advance(DAY);
      await h.bot.as('schedule', () => runScheduledTasks(h.bot.deps, dailyTasks));
      await h.bot.drain();
    },
    exists: (name: string) =>
      h.iam.send(new GetUserCommand({ UserName: name })).then(
        () => true,
        (e: { name?: string }) => (e.name?.startsWith('NoSuchEntity') ? false : Promise.reject(e)),
      ),
    request: async (id: string) => (await h.bot.deps.store.requests.get(id)) as AccessRequest,
    /** The report as it reads now (its last post or update in the approval channel), as text. */
    reportNow(requestId: string): string {
      const last = h.bot.slack.calls
        .filter(
          (c) =>
            (c.method === 'chat.postMessage' || c.method === 'chat.update') &&
            c.args.channel === APPROVALS &&
            JSON.stringify(c.args).includes(requestId),
        )
        .at(-1);
      return JSON.stringify(last?.args.blocks ?? '');
    },
    clickReport: (request: AccessRequest, userId: string, actionId: string, value: string = request.id) =>
      h.bot.clickButton({
        userId,
        actionId,
        value,
        blockId: `offboard_actions_${request.id}`,
        ...(request.message ? { message: request.message } : {}),
      }),
    /** IAM writes (role-checked) so far. */
    iamWrites: () => h.bot.roles.checked().filter((c) => /^iam:(Update|Delete|Create|Remove|Detach)/.test(c.action)),
  };
  return h;
}

describe('leavers.deleteAfterDays: 7', () => {
  const h = harness({ action: 'disable', exclude: [], recoveryDays: 30, deleteAfterDays: 7 });
  const left1 = leaverRequestId('U0LEFT1');
  const left2 = leaverRequestId('U0LEFT2');

  beforeAll(async () => {
    await h.start();
    // U0LEFT1 owns one user nobody will keep and one an approver gives to Bob; U0LEFT2 one an approver reactivates
    await h.seedUser('lvd-nobody', 'U0LEFT1', { keys: 2, console: true, attached: true });
    await h.seedUser('lvd-taken', 'U0LEFT1');
    await h.seedUser('lvd-reactivated', 'U0LEFT2');
    // U0LEFT4 owns one user, which nobody keeps: after day 7, its offboarding has nothing left to reactivate
    await h.seedUser('lvd-alone', 'U0LEFT4');
    await h.bot.schedule(); // the ownership projection
    await h.bot.drain();
    h.bot.slack.members.deactivate('U0LEFT1');
    h.bot.slack.members.deactivate('U0LEFT2');
    h.bot.slack.members.deactivate('U0LEFT4');
    await h.daily(); // day 0: the daily check finds both gone and offboards them
  });
  afterAll(async () => {
    await h.bot.stop();
  });

  it('names in the report the users it disabled and the day they will be deleted, and audits that day', async () => {
    const request = await h.request(left1);
    const deleteAt = new Date(Date.parse(request.offboard?.doneAt ?? '') + 7 * DAY).toISOString();
    const offboarded = (await h.bot.deps.store.audit.list(`request#${left1}`)).find((e) => e.action === 'offboarded');

    expect(request.status).toBe('done');
    expect(request.offboard?.deleteAt).toBe(deleteAt);
    expect(h.reportNow(left1)).toContain('To be deleted');
    expect(h.reportNow(left1)).toContain(`${deleteAt.replace('T', ' ').slice(0, 16)} UTC`);
    expect(h.reportNow(left1)).toMatch(
      /To be deleted[^"]*lvd-nobody[^"]*lvd-taken|To be deleted[^"]*lvd-taken[^"]*lvd-nobody/,
    );
    expect(offboarded?.detail).toMatchObject({ deleteAt });
    expect([...((offboarded?.detail as { toDelete?: string[] } | undefined)?.toDelete ?? [])].sort()).toEqual([
      'lvd-nobody (home)',
      'lvd-taken (home)',
    ]);
  });

  it('keeps them all up to day 6, while an approver gives one to Bob and reactivates another leaver', async () => {
    // Give to (set-owner, through approval) for lvd-taken
    const first = await h.request(left1);
    const opened = h.bot.slack.callsOf('views.open').length;
    const taken = first.offboard?.users.findIndex((u) => u.userName === 'lvd-taken') ?? -1;
    await h.clickReport(
      first,
      'U0APPROVER1',
      giveToActionId(taken),
      JSON.stringify({ r: first.id, a: 'home', u: 'lvd-taken' }),
    );
    const modal = h.bot.slack.callsOf('views.open').at(opened)?.args.view as { private_metadata: string };
    await h.bot.submitView({
      userId: 'U0APPROVER1',
      callbackId: GIVE_TO_MODAL,
      privateMetadata: modal.private_metadata,
      values: {
        [GIVE_TO_BLOCKS.newOwner]: { [FORM_INPUT]: { type: 'users_select', selected_user: 'U0BOB' } },
        [GIVE_TO_BLOCKS.justification]: { [FORM_INPUT]: { type: 'plain_text_input', value: 'Bob runs it now' } },
      },
    });
    await h.bot.drain();
    await click(h.bot, await changeRequestFor(h.bot, 'lvd-taken'), 'U0APPROVER2');
    await h.bot.drain();
    // Reactivate for U0LEFT2's offboarding
    await h.clickReport(await h.request(left2), 'U0APPROVER1', OFFBOARD_REACTIVATE);
    await h.bot.drain();

    for (let day = 1; day <= 6; day++) await h.daily();

    const owner = await h.iam.send(new ListUserTagsCommand({ UserName: 'lvd-taken' }));
    expect(owner.Tags?.find((t) => t.Key === 'slack-user-id')?.Value).toBe('U0BOB');
    expect((await h.request(left2)).offboard?.reactivation?.phase).toBe('reactivated');
    for (const name of ['lvd-nobody', 'lvd-taken', 'lvd-reactivated']) expect(await h.exists(name), name).toBe(true);
    expect((await h.request(left1)).offboard?.deletions).toBeUndefined();
    expect(await h.bot.deps.store.requests.get(leaverDeletionId(left1, 0))).toBeUndefined();
  });

  it('deletes on day 7 the user nobody kept, as delete-user does, and keeps the one taken over and the reactivated one', async () => {
    await h.daily(); // day 7

    const request = await h.request(left1);
    const deletion = request.offboard?.deletions?.users.find((d) => d.userName === 'lvd-nobody');
    const deleting = await h.request(deletion?.requestId ?? '');
    const decided = (await h.bot.deps.store.audit.list(`request#${left1}`)).find(
      (e) => e.action === 'leaver-deletions',
    );
    expect(await h.exists('lvd-nobody')).toBe(false);
    expect(await h.exists('lvd-taken')).toBe(true);
    expect(await h.exists('lvd-reactivated')).toBe(true);
    const keys = await h.iam.send(new ListAccessKeysCommand({ UserName: 'lvd-reactivated' }));
    expect(keys.AccessKeyMetadata?.map((k) => k.Status)).toEqual(['Active']);
    expect(deleting.kind).toBe('delete-user');
    expect(deleting.requester).toBe('system');
    expect(deleting.status).toBe('done');
    expect(deleting.deletion?.deletedAt).toBe(h.clock.now().toISOString());
    expect(await auditActions(h.bot, deleting.id)).toEqual(
      expect.arrayContaining(['requested', 'user-disabled', 'deletion-started']),
    );
    expect(request.offboard?.deletions?.users.find((d) => d.userName === 'lvd-taken')).toMatchObject({
      outcome: 'kept',
      why: 'taken over by <@U0BOB>',
    });
    expect(decided?.detail).toMatchObject({ deleting: ['lvd-nobody (home)'], deletedOn: h.clock.now().toISOString() });
    expect((await h.request(left2)).offboard?.deletions?.users).toEqual([
      expect.objectContaining({ userName: 'lvd-reactivated', outcome: 'kept', why: 'reactivated by an approver' }),
    ]);
    expect(h.reportNow(left1)).toContain('Deleted');
    expect(h.reportNow(left1)).toContain('lvd-nobody');
    const owned = await h.bot.deps.store.users.ownedBy('U0LEFT1', { consistent: true });
    expect(owned.users.map((u) => u.userName)).not.toContain('lvd-nobody');
  });

  it('decides and deletes nothing more on the days after', async () => {
    const writes = h.iamWrites().length;
    const decided = (await h.request(left1)).offboard?.deletions;

    await h.daily();
    // the day's job delivered again (Lambda retries an invocation that failed after its work)
    const again = await h.bot.as('worker', () => runLeaverDeletions(h.bot.deps, left1));
    await h.bot.drain();
    await h.daily();

    expect(again).toEqual({ deleting: 1, kept: 1 });
    expect(h.iamWrites()).toHaveLength(writes);
    expect((await h.request(left1)).offboard?.deletions).toEqual(decided);
    expect(await h.bot.deps.store.requests.get(leaverDeletionId(left1, 1))).toBeUndefined();
  });

  it('refuses Reactivate as a whole when every user with keys was deleted, naming them, and changes nothing', async () => {
    // Prepare: U0LEFT4's only user was deleted on day 7
    const left4 = leaverRequestId('U0LEFT4');
    const before = await h.request(left4);
    const writes = h.iamWrites().length;

    // Act
    const { responseId } = await h.clickReport(before, 'U0APPROVER1', OFFBOARD_REACTIVATE);
    await h.bot.drain();

    // Assess
    const after = await h.request(left4);
    const answer = repliesTo(h.bot, responseId).join();
    expect(await h.exists('lvd-alone')).toBe(false);
    expect(answer).toContain('Nothing to reactivate');
    expect(answer).toContain('`lvd-alone` was deleted on');
    expect(answer).toContain('cannot be restored');
    expect(after.status).toBe('done');
    expect(after.offboard?.reactivation).toBeUndefined();
    expect(after.run).toEqual(before.run);
    expect(h.iamWrites()).toHaveLength(writes);
    expect(await auditActions(h.bot, left4)).toContain('reactivate-refused');
    expect(h.reportNow(left4)).not.toContain(OFFBOARD_REACTIVATE);
    expect(h.reportNow(left4)).not.toContain('Give lvd-alone');
  });

  it('reactivates only the users it did not delete, and tells the approver which were deleted and cannot be restored', async () => {
    // Prepare: U0LEFT1's lvd-nobody was deleted on day 7, lvd-taken kept (its key still inactive)
    const before = await h.request(left1);

    // Act
    const { responseId } = await h.clickReport(before, 'U0APPROVER1', OFFBOARD_REACTIVATE);
    await h.bot.drain();

    // Assess
    const after = await h.request(left1);
    const restoring = (after.run?.steps ?? []).filter((s) => s.op === 'restore-key');
    const keys = await h.iam.send(new ListAccessKeysCommand({ UserName: 'lvd-taken' }));
    const answer = repliesTo(h.bot, responseId).join();
    expect(answer).toContain('`lvd-nobody`');
    expect(answer).toContain('cannot be restored');
    expect(after.status).toBe('done');
    expect(after.offboard?.reactivation?.phase).toBe('reactivated');
    expect(restoring.map((s) => s.args.userName)).toEqual(['lvd-taken']);
    expect(restoring.every((s) => s.result === 'done')).toBe(true);
    expect(keys.AccessKeyMetadata?.map((k) => k.Status)).toEqual(['Active']);
    expect(await h.exists('lvd-nobody')).toBe(false);
    expect(h.reportNow(left1)).toContain('not those of the deleted users');
  });
});

describe('leavers.deleteAfterDays unset (the default)', () => {
  const h = harness({ action: 'disable', exclude: [], recoveryDays: 30 });

  beforeAll(async () => {
    await h.start();
    await h.seedUser('lvu-nobody', 'U0LEFT3', { keys: 1, console: true });
    await h.bot.schedule();
    await h.bot.drain();
    h.bot.slack.members.deactivate('U0LEFT3');
    await h.daily();
  });
  afterAll(async () => {
    await h.bot.stop();
  });

  it('never deletes the users of a leaver nobody kept, and the report announces no deletion', async () => {
    const id = leaverRequestId('U0LEFT3');
    const before = await h.request(id);

    for (let day = 1; day <= 9; day++) await h.daily();

    expect(before.status).toBe('done');
    expect(before.offboard?.users.map((u) => u.outcome)).toEqual(['disabled']);
    expect(before.offboard?.deleteAt).toBeUndefined();
    expect(h.reportNow(id)).not.toContain('deleted on');
    expect(h.reportNow(id)).not.toContain('To be deleted');
    expect(await h.exists('lvu-nobody')).toBe(true);
    expect((await h.request(id)).offboard?.deletions).toBeUndefined();
    expect(await h.bot.deps.store.requests.get(leaverDeletionId(id, 0))).toBeUndefined();
  });
});
