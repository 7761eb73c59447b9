/**
 * A create-user request whose provisioning fails midway: what is undone, who is told, and Retry. The failure is
 * real in moto (the group disappears between approval and provisioning), except where noted.
 */
import {
  CreateGroupCommand,
  CreateUserCommand,
  DeleteGroupCommand,
  DeleteUserCommand,
  type IAMClient,
} from '@aws-sdk/client-iam';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REQUEST_ABANDON, REQUEST_RETRY } from '../../src/blocks/ids.js';
import type { runScheduledTasks } from '../../src/jobs/schedule.js';
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
  repliesTo,
  requestUser,
} from '../support/create-user.js';
import { linkSentTo, requestPage } from '../support/credentials.js';
import { testPolicy } from '../support/policy.js';

let bot: TestBot;
let iam: IAMClient;
beforeAll(async () => {
  const policy = testPolicy();
  bot = await startTestBot({
    policy: { ...policy, groups: [...policy.groups, { name: 'vanishing-group', description: 'Comes and goes' }] },
  });
  iam = bot.deps.aws.account().iam;
  await allowPasswordChange(bot); // console requests go without the lock-out warning
});
afterAll(async () => {
  await bot.stop();
});

const stored = async (r: AccessRequest) => (await bot.deps.store.requests.get(r.id)) as AccessRequest;
const linkDmsTo = (userId: string, userName: string) =>
  dmsTo(bot, userId).filter((d) => d.includes('/credentials/') && d.includes(userName));

async function clickAndSettle(request: AccessRequest, userId: string, actionId?: string) {
  const { responseId } = await click(bot, request, userId, actionId);
  await bot.drain();
  return repliesTo(bot, responseId);
}

describe('a failure at AddUserToGroup', () => {
  let request: AccessRequest;

  beforeAll(async () => {
    request = await requestUser(bot, 'failing-bot', {
      accessType: 'both',
      groups: ['ci-deployers', 'read-only'],
    });
    // The group disappears after the form was checked and before provisioning adds the user to it.
    await iam.send(new DeleteGroupCommand({ GroupName: 'read-only' }));
    await clickAndSettle(request, 'U0APPROVER1');
  });

  it('leaves no user behind', async () => {
    expect(await iamUser(bot, 'failing-bot')).toBeUndefined();
  });

  it('marks the request failed with the step and the AWS reason, and nothing remaining', async () => {
    const failed = await stored(request);

    expect(failed.status).toBe('failed');
    expect(failed.error).toBe('AddUserToGroup read-only failed (group read-only does not exist)');
    expect(failed.remaining).toEqual([]);
    expect(await auditActions(bot, request.id)).toContain('provisioning-failed');
  });

  it('shows the failure on the approval message with a Retry button for approvers', () => {
    const { text } = approvalMessageNow(bot, request);

    expect(text).toContain('*Provisioning failed:* AddUserToGroup read-only failed (group read-only does not exist)');
    expect(text).toContain('Everything this request had created was removed.');
    expect(buttonsNow(bot, request)).toEqual([REQUEST_RETRY, REQUEST_ABANDON]);
  });

  it('tells the requester and the approver what happened, and sends no credentials', () => {
    const toRequester = dmsTo(bot, 'U0REQUESTER').filter((d) => d.includes(request.id));
    const toApprover = dmsTo(bot, 'U0APPROVER1').filter((d) => d.includes(request.id));

    expect(
      toRequester.some(
        (d) => d.includes('failed: AddUserToGroup read-only failed') && d.includes('Nothing of it was left behind'),
      ),
    ).toBe(true);
    expect(
      toApprover.some((d) => d.includes('The request you approved') && d.includes('Retry from the request message')),
    ).toBe(true);
    expect(linkDmsTo('U0RECIPIENT', 'failing-bot')).toEqual([]);
  });

  it('refuses Retry to the requester and to a non-approver, changing nothing', async () => {
    const before = await stored(request);

    const byRequester = await clickAndSettle(request, 'U0REQUESTER', REQUEST_RETRY);
    const byBystander = await clickAndSettle(request, 'U0BYSTANDER', REQUEST_RETRY);

    expect(byRequester).toEqual(['You asked for this request, so you cannot retry it: another approver must.']);
    expect(byBystander[0]).toMatch(/^You are not an approver for every group of this request, so you cannot retry it/);
    expect((await stored(request)).version).toBe(before.version);
  });

  describe('then Retry by an approver, once the group exists again', () => {
    beforeAll(async () => {
      await iam.send(new CreateGroupCommand({ GroupName: 'read-only' }));
      await clickAndSettle(request, 'U0APPROVER2', REQUEST_RETRY);
    });

    it('runs provisioning again as a new job, and succeeds', async () => {
      const jobs = (await bot.deps.store.jobs.model.scan().exec())
        .map((j) => j.id)
        .filter((id) => id.startsWith(`provision:${request.id}`));
      const done = await stored(request);

      expect(jobs.sort()).toEqual([`provision:${request.id}`, `provision:${request.id}:2`]);
      expect(done.status).toBe('done');
      expect(done.attempt).toBe(2);
      expect(done.error).toBeUndefined();
      expect(await auditActions(bot, request.id)).toContain('retried');
    });

    it('creates the user in both groups with a login profile and one key, and delivers that key', async () => {
      const user = await iamUser(bot, 'failing-bot');
      const { token } = linkSentTo(bot, 'U0RECIPIENT');
      const page = await requestPage(bot, 'POST', token);

      expect(user?.groups).toEqual(['ci-deployers', 'read-only']);
      expect(user?.loginProfile).toBe(true);
      expect(user?.keys).toHaveLength(1);
      expect(/data-testid="access-key-id">([^<]+)</.exec(page.body ?? '')?.[1]).toBe(user?.keys[0]);
    });

    it('shows done on the message, without Retry', () => {
      expect(approvalMessageNow(bot, request).text).toContain('*Done.*');
      expect(buttonsNow(bot, request)).toEqual([]);
    });
  });
});

describe('a rollback that cannot finish', () => {
  let request: AccessRequest;

  beforeAll(async () => {
    request = await requestUser(bot, 'stuck-bot', { groups: ['ci-deployers', 'vanishing-group'] });
    await iam.send(new DeleteGroupCommand({ GroupName: 'vanishing-group' }));
    // STUB: IAM refuses DeleteUser once (as during an IAM outage); moto never fails it. Every other call is moto's.
    const send = iam.send.bind(iam) as (command: unknown) => Promise<unknown>;
    let failures = 1;
    (iam as { send: unknown }).send = async (command: unknown) => {
      if (command instanceof DeleteUserCommand && failures-- > 0)
        throw Object.assign(new Error('injected'), { name: 'ServiceFailureException', $metadata: {} });
      return send(command);
    };
    try {
      await clickAndSettle(request, 'U0APPROVER1');
    } finally {
      (iam as { send: unknown }).send = send;
    }
  });

  it('says exactly what still exists, on the message and to the requester', async () => {
    const failed = await stored(request);

    expect(failed.remaining).toEqual(['IAM user stuck-bot (DeleteUser: ServiceFailure)']);
    expect(approvalMessageNow(bot, request).text).toContain(
      '*Still exists, needs cleaning up:* IAM user stuck-bot (DeleteUser: ServiceFailure).',
    );
    expect(dmsTo(bot, 'U0REQUESTER').some((d) => d.includes('Still exists: IAM user stuck-bot'))).toBe(true);
    expect((await iamUser(bot, 'stuck-bot'))?.groups).toEqual([]);
  });

  it('lets Retry continue the user it left, since that user carries this request’s id', async () => {
    await iam.send(new CreateGroupCommand({ GroupName: 'vanishing-group' }));

    await clickAndSettle(request, 'U0APPROVER2', REQUEST_RETRY);

    expect((await stored(request)).status).toBe('done');
    const user = await iamUser(bot, 'stuck-bot');
    expect(user?.groups).toEqual(['ci-deployers', 'vanishing-group']);
    expect(user?.keys).toHaveLength(1);
  });
});

describe('provisioning that stopped midway (the worker died)', () => {
  let request: AccessRequest;
  let results: Awaited<ReturnType<typeof runScheduledTasks>>;

  beforeAll(async () => {
    request = await requestUser(bot, 'orphan-bot');
    // The job is handed over but never runs; the dead run had moved the request on and created the user.
    bot.dispatcher.setRunner(async () => {});
    await clickAndSettle(request, 'U0APPROVER1');
    bot.dispatcher.setRunner((job) => bot.runJob(job));
    const approved = await stored(request);
    await bot.deps.store.requests.update(approved, { status: 'provisioning' }, bot.clock.now());
    await iam.send(
      new CreateUserCommand({
        UserName: 'orphan-bot',
        Path: '/iam-slack-bot/',
        Tags: [{ Key: 'request-id', Value: request.id }],
      }),
    );
    bot.clock.advance(16 * 60_000);
    results = await bot.schedule();
  });

  it('is failed by the scheduled task, with Retry offered and everyone told', async () => {
    expect(results['fail-stalled-provisioning']).toEqual({ stalled: 1 });
    expect((await stored(request)).status).toBe('failed');
    expect(approvalMessageNow(bot, request).text).toContain('provisioning stopped before it finished');
    expect(buttonsNow(bot, request)).toEqual([REQUEST_RETRY, REQUEST_ABANDON]);
    expect(dmsTo(bot, 'U0APPROVER1').some((d) => d.includes(request.id) && d.includes('provisioning stopped'))).toBe(
      true,
    );
  });

  it('is finished by Retry from the user the dead run left, with one key', async () => {
    await clickAndSettle(request, 'U0APPROVER2', REQUEST_RETRY);

    expect((await stored(request)).status).toBe('done');
    expect((await iamUser(bot, 'orphan-bot'))?.keys).toHaveLength(1);
  });
});
