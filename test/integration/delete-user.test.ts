/**
 * delete-user (issue 22): `/iam delete-user <user> --reason "..."`, approved, the user disabled at once (active keys
 * deactivated, console password deleted) with Cancel for `users.deleteAfterDays`, then, woken by the one-minute task
 * (`wake-due-runs`), everything IAM requires removed and the user deleted. From the signed command to IAM in moto,
 * every AWS call checked against the shipped roles. Time is the test clock (ManualClock).
 */
import {
  AddUserToGroupCommand,
  AttachUserPolicyCommand,
  CreateAccessKeyCommand,
  CreateLoginProfileCommand,
  CreatePolicyCommand,
  CreateVirtualMFADeviceCommand,
  EnableMFADeviceCommand,
  GetLoginProfileCommand,
  GetPolicyCommand,
  GetUserCommand,
  ListAccessKeysCommand,
  ListVirtualMFADevicesCommand,
  PutUserPolicyCommand,
  UpdateAccessKeyCommand,
  UploadSigningCertificateCommand,
  UploadSSHPublicKeyCommand,
} from '@aws-sdk/client-iam';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { functionPolicy } from '../../src/deploy/roles.js';
import { minuteTasks, runScheduledTasks } from '../../src/jobs/schedule.js';
import { DELETE_USER_CANCEL } from '../../src/kinds/delete-user/messages.js';
import type { AccessRequest } from '../../src/store/requests.js';
import { startTestBot, type TestBot } from '../support/bot.js';
import { changeRequestFor, existingUser } from '../support/changes.js';
import { approvalMessageNow, auditActions, click, dmsTo, repliesTo, shownText } from '../support/create-user.js';
import { testPolicy } from '../support/policy.js';
import { HOME_ACCOUNT_ID, isAllowed } from '../support/role-checker.js';
import { ServiceCredentialStandIn } from '../support/service-credentials.js';

const MINUTE = 60_000;
const DAY = 86_400_000;
// Each test approves, then plays the window's end on the test clock: more than the default on a loaded machine.
vi.setConfig({ testTimeout: 120_000 });

/** A self-signed certificate and an SSH public key, made once with openssl and ssh-keygen (moto parses both). */
const CERTIFICATE = `-----BEGIN CERTIFICATE-----
MIIDFzCCAf+gAwIBAgIUfFbNUIAjdj6+vSgHoqmLm/u5QXwwDQYJKoZIhvcNAQEL
BQAwGzEZMBcGA1UEAwwQZGVsZXRlLXVzZXItdGVzdDAeFw0yNjEyMDcxNTUzMzla
Fw0zNjEyMDQxNTUzMzlaMBsxGTAXBgNVBAMMEGRlbGV0ZS11c2VyLXRlc3QwggEi
MA0GCSqGSIb3DQEBAQUAA4IBDwAwggEKAoIBAQCNvTh9wJ9YmuEnetnG/I25MPP3
WNPy5FXFwsCFtoToUBy0F9DcOm15d9dXoLjZv5SghTXqLN5irZ7jEhJomaIKVuZe
t/2w7sqCPBA2uw74BAkWKbzLzt0Wl6aP9141uylpAOsVX80BOTJkcWOKM3mFrW72
WewH9GFwnsnAURSPbkE5p+pWhbkCBZAxAN9Zj50+iZ7n408rgMOcs6hFDpz7EpKT
zsfqynUDmSRQvRMd2oCdEFtoZeH0sjCCqCzFLYBBH3PejyCQvYZQcPfK3U1yyr6/
41arC4mj47ArWuj0pd5VXhRmVzwM9kn90zQdAiXbAdBYqyTsjwow5GeAlwRdAgMB
AAGjUzBRMB0GA1UdDgQWBBQdFV2aXLscyye2i6k3Kc3alb8ogjAfBgNVHSMEGDAW
gBQdFV2aXLscyye2i6k3Kc3alb8ogjAPBgNVHRMBAf8EBTADAQH/MA0GCSqGSIb3
DQEBCwUAA4IBAQAh431vORFUsVglbWsjBKaKM/Jpaly04mFUq4hyb83wH0dIWTLm
cjcrbpsnkrOYgPK/da+Ij5FjUGfFs6y5eEYPj544HjsR8BQ+qluOm2jMl+IDfbQt
jz7H3IDG9aZlgWH6gIdxSRLLR1B+H7DlDhRtPpg0BbL7q8p+P4mtUrrrvxMkM+gY
5ktTwX4Jzpom+DWDa6NAQZ6iN1Wxq6OfQMzCQ+DktNGWjWErKDMGRrGBjQnd5toZ
joS/2FbhwlzBmcI+KlYpRb3r8IyroffTEwa+i376Ah1PXjsnqTeJKjUxV9MAwbXZ
ppEgwom8OWEw5YyHozWzYyU2smDuTnFgfYEI
-----END CERTIFICATE-----`;
const SSH_KEY =
  'ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQCu7cu9qI210YTDew7zwhbbGl2UsVGeC+bnRTE7oVNL9BYEpuQ/ywUO+7GBDTcZv6VlruAD3DgaL6ofigqpjrk2GnBx5sjSLtv0OnTZVzjaMmj1P8X/6sjbDQOopVE+Dj/Z4QAUxbpfy9NWxL9uXmm05HBGxIkY7/3uTlhoK/CFzSAPSuuUCMZ08HB9MOHEQ0iYAes75+tX+NoklqTor3dQ9zuoLQJz/g9y26T18ZAxRhIzHlYBndhySgbPR9QeCfIbfiBnKbPi5moagRA8KbtIalnjjjVKkaYWpRWfatAw0fGBzZgI9qGv+ipubQ5qdGNkLoyA1XbMal90PMXdM217 delete-user-test';

let bot: TestBot;
// moto does not implement service-specific credentials: this stands in for those calls only (see the file)
const serviceCredentials = new ServiceCredentialStandIn();
beforeAll(async () => {
  bot = await startTestBot({
    policy: testPolicy(),
    members: ['U0OWNER', 'U0STRANGER', { id: 'U0GUESTAPPROVER', guest: 'single' }],
    decorateClient: serviceCredentials.decorate,
  });
  // an approvers' user group lists a single-channel guest (before any look-up: its members are cached)
  bot.slack.usergroups.set('S0SECURITY', ['U0GUESTAPPROVER']);
});
afterAll(async () => {
  await bot.stop();
});

let seq = 0;
const nextName = (what: string) => `del-${what}-${++seq}`;
const iam = () => bot.deps.aws.account().iam;
const stored = async (r: AccessRequest) => (await bot.deps.store.requests.get(r.id)) as AccessRequest;

async function command(text: string, userId: string): Promise<string> {
  const { result, responseId } = await bot.command(text, userId);
  expect(result.statusCode).toBe(200);
  await bot.drain();
  return shownText(bot, responseId);
}

/** The one-minute schedule (wake-due-runs) as the schedule function runs it, then the worker's jobs. */
async function minuteTick() {
  await bot.as('schedule', () => runScheduledTasks(bot.deps, minuteTasks));
  await bot.drain();
}

/** The keys of a user in moto: id → status. */
async function keysOf(userName: string): Promise<Record<string, string>> {
  const out = await iam().send(new ListAccessKeysCommand({ UserName: userName }));
  return Object.fromEntries((out.AccessKeyMetadata ?? []).map((k) => [k.AccessKeyId ?? '', k.Status ?? '']));
}

const hasConsole = (userName: string) =>
  iam()
    .send(new GetLoginProfileCommand({ UserName: userName }))
    .then(
      () => true,
      () => false,
    );
const exists = (userName: string) =>
  iam()
    .send(new GetUserCommand({ UserName: userName }))
    .then(
      () => true,
      () => false,
    );

/** A managed user owned by U0OWNER with one active key, one inactive key and a console password (test setup). */
async function usableUser(name: string): Promise<{ active: string; inactive: string }> {
  await existingUser(bot, name, { owner: 'U0OWNER' });
  const a = await iam().send(new CreateAccessKeyCommand({ UserName: name }));
  const b = await iam().send(new CreateAccessKeyCommand({ UserName: name }));
  const active = a.AccessKey?.AccessKeyId ?? '';
  const inactive = b.AccessKey?.AccessKeyId ?? '';
  await iam().send(new UpdateAccessKeyCommand({ UserName: name, AccessKeyId: inactive, Status: 'Inactive' }));
  await iam().send(new CreateLoginProfileCommand({ UserName: name, Password: 'Test-Passw0rd-not-secret!' }));
  return { active, inactive };
}

/** Asks for the deletion as `requester` and has U0APPROVER1 approve it; returns the request as stored. */
async function approvedDeletion(name: string, requester = 'U0OWNER'): Promise<AccessRequest> {
  const answer = await command(`delete-user ${name} --reason "The CI moved to OIDC"`, requester);
  expect(answer).toContain('is waiting for approval');
  const request = await changeRequestFor(bot, name);
  const { responseId } = await click(bot, request, 'U0APPROVER1');
  await bot.drain();
  expect(repliesTo(bot, responseId).join()).not.toContain('cannot');
  return stored(request);
}

/** The last chat.update of the request's approval message (its channel and ts), as the fake Slack recorded it. */
function lastApprovalUpdate(request: AccessRequest): string {
  const { channel, ts } = request.message ?? {};
  const updates = bot.slack.calls.filter(
    (c) => c.method === 'chat.update' && c.args.channel === channel && c.args.ts === ts,
  );
  return JSON.stringify(updates.at(-1)?.args ?? {});
}

async function pressCancel(who: string, request: AccessRequest): Promise<string[]> {
  const { responseId } = await bot.clickButton({
    userId: who,
    actionId: DELETE_USER_CANCEL,
    value: request.id,
    message: { channel: who, ts: '1700000001.000100' },
  });
  await bot.drain();
  return repliesTo(bot, responseId);
}

describe('/iam delete-user', () => {
  it('disables the user at approval: every active key inactive and no console password, the user still there, its owner told with Cancel', async () => {
    const name = nextName('disabled');
    const { active, inactive } = await usableUser(name);

    const request = await approvedDeletion(name, 'U0APPROVER2');

    expect(request.kind).toBe('delete-user');
    expect(request.status).toBe('done');
    expect(await keysOf(name)).toEqual({ [active]: 'Inactive', [inactive]: 'Inactive' });
    expect(await hasConsole(name)).toBe(false);
    expect(await exists(name)).toBe(true);
    expect(request.deletion?.deleteAt).toBe(new Date(bot.clock.now().getTime() + 7 * DAY).toISOString());
    const ownerDm = JSON.stringify(bot.slack.postsTo('U0OWNER').at(-1)?.args ?? {});
    expect(ownerDm).toContain(DELETE_USER_CANCEL);
    expect(ownerDm).toContain(active);
    expect(ownerDm).not.toContain(inactive);
    expect(await auditActions(bot, request.id)).toContain('user-disabled');
    expect(JSON.stringify(approvalMessageNow(bot, request))).toContain('*Disabled.* Deleted');
  });

  it('restores exactly what was disabled on Cancel within the window: the keys it deactivated active again, a key already inactive still inactive, and the user never deleted', async () => {
    const name = nextName('cancelled');
    const { active, inactive } = await usableUser(name);
    const request = await approvedDeletion(name, 'U0APPROVER2');
    bot.clock.advance(3 * DAY);
    await minuteTick();

    const answer = await pressCancel('U0OWNER', request);
    bot.clock.advance(5 * DAY);
    await minuteTick();

    expect(answer.join()).toContain('Cancelled');
    expect(await keysOf(name)).toEqual({ [active]: 'Active', [inactive]: 'Inactive' });
    expect(await exists(name)).toBe(true);
    expect(await hasConsole(name)).toBe(false); // a password cannot be restored: the DM says so
    expect(
      dmsTo(bot, 'U0OWNER')
        .filter((d) => d.includes(request.id))
        .at(-1),
    ).toContain('cannot be restored');
    const after = await stored(request);
    expect(after.deletion?.cancel?.by).toBe('U0OWNER');
    expect(after.deletion?.deletedAt).toBeUndefined();
    expect((await auditActions(bot, request.id)).filter((a) => a === 'deletion-cancelled')).toHaveLength(1);
    expect(request.message).toBeDefined();
    expect(lastApprovalUpdate(request)).toContain('*Cancelled* by <@U0OWNER>');
    expect(lastApprovalUpdate(request)).not.toContain('*Disabled.*');
  });

  it('deletes the user after the window, with its password, keys, signing certificate, SSH key, service credential, virtual MFA device, group membership, inline and attached policies, and forgets it', async () => {
    const name = nextName('gone');
    await usableUser(name);
    await existingUser(bot, `${name}-x`, { owner: 'U0OWNER' }); // a neighbour the deletion leaves alone
    await iam().send(new UploadSigningCertificateCommand({ UserName: name, CertificateBody: CERTIFICATE }));
    await iam().send(new UploadSSHPublicKeyCommand({ UserName: name, SSHPublicKeyBody: SSH_KEY }));
    const credential = serviceCredentials.create(name); // moto has none (see ServiceCredentialStandIn)
    const device = await iam().send(new CreateVirtualMFADeviceCommand({ VirtualMFADeviceName: name }));
    const serial = device.VirtualMFADevice?.SerialNumber ?? '';
    await iam().send(
      new EnableMFADeviceCommand({
        UserName: name,
        SerialNumber: serial,
        AuthenticationCode1: '123456',
        AuthenticationCode2: '654321',
      }),
    );
    await existingUser(bot, `${name}-g`, { groups: ['read-only'] }); // makes sure the group exists
    await iam().send(new AddUserToGroupCommand({ UserName: name, GroupName: 'read-only' }));
    await iam().send(
      new PutUserPolicyCommand({
        UserName: name,
        PolicyName: 'inline-read',
        PolicyDocument: JSON.stringify({
          Version: '2012-10-17',
          Statement: [{ Effect: 'Allow', Action: 's3:GetObject', Resource: '*' }],
        }),
      }),
    );
    const policy = await iam().send(
      new CreatePolicyCommand({
        PolicyName: `${name}-managed`,
        PolicyDocument: JSON.stringify({
          Version: '2012-10-17',
          Statement: [{ Effect: 'Allow', Action: 's3:ListBucket', Resource: '*' }],
        }),
      }),
    );
    const policyArn = policy.Policy?.Arn ?? '';
    await iam().send(new AttachUserPolicyCommand({ UserName: name, PolicyArn: policyArn }));
    const request = await approvedDeletion(name);
    const approvedAt = bot.clock.now().getTime();
    expect(await bot.deps.store.users.get('home', name)).toBeDefined();

    bot.clock.set(new Date(approvedAt + 7 * DAY - MINUTE));
    await minuteTick();
    const existedBefore = await exists(name);
    bot.clock.set(new Date(approvedAt + 7 * DAY + MINUTE));
    await minuteTick();

    expect(existedBefore).toBe(true);
    expect(await exists(name)).toBe(false);
    expect(await exists(`${name}-x`)).toBe(true);
    const devices = await iam().send(new ListVirtualMFADevicesCommand({}));
    expect((devices.VirtualMFADevices ?? []).map((d) => d.SerialNumber)).not.toContain(serial);
    expect((await iam().send(new GetPolicyCommand({ PolicyArn: policyArn }))).Policy?.AttachmentCount).toBe(0);
    const steps = (await stored(request)).run?.steps ?? [];
    const purged = Object.fromEntries(
      steps.filter((s) => s.op.startsWith('purge-')).map((s) => [s.args.what, s.result]),
    );
    expect(purged).toEqual({
      'login-profile': 'skipped', // deleted at approval already
      'access-keys': 'done',
      'signing-certificates': 'done',
      'ssh-public-keys': 'done',
      'service-specific-credentials': 'done',
      'mfa-devices': 'done',
      groups: 'done',
      'inline-policies': 'done',
      'attached-policies': 'done',
    });
    expect(steps.find((s) => s.op === 'delete-user')?.result).toBe('done');
    expect(serviceCredentials.byUser.get(name)).not.toContain(credential);
    expect((await stored(request)).deletion?.deletedAt).toBeDefined();
    expect(request.message).toBeDefined();
    expect(lastApprovalUpdate(request)).toContain('*Deleted*');
    expect(lastApprovalUpdate(request)).not.toContain('*Disabled.*');
    expect(await bot.deps.store.users.get('home', name, { consistent: true })).toBeUndefined();
    expect(await command('users', 'U0OWNER')).not.toContain(`${name}\``);
    expect(
      dmsTo(bot, 'U0OWNER')
        .filter((d) => d.includes(request.id))
        .at(-1),
    ).toContain('is deleted');
  });

  it('refuses a user outside the managed paths at submission, and the worker role may not delete it', async () => {
    const name = nextName('outside');
    await existingUser(bot, name, { owner: 'U0OWNER', path: '/elsewhere/' });

    const answer = await command(`delete-user ${name} --reason "Cleanup"`, 'U0OWNER');
    const worker = functionPolicy(bot.deps.config.policy, 'worker', {
      partition: 'aws',
      region: 'us-east-1',
      accountId: HOME_ACCOUNT_ID,
      tablePrefix: 'p-',
      secretPrefix: 's/',
      workerFunctionName: 'w',
    });

    expect(answer).toContain('outside the paths the bot manages');
    expect((await bot.deps.store.requests.model.scan().exec()).filter((r) => r.userName === name)).toHaveLength(0);
    const elsewhere = `arn:aws:iam::${HOME_ACCOUNT_ID}:user/elsewhere/${name}`;
    const managed = `arn:aws:iam::${HOME_ACCOUNT_ID}:user/iam-slack-bot/${name}`;
    for (const action of [
      'iam:DeleteUser',
      'iam:DeleteSSHPublicKey',
      'iam:DetachUserPolicy',
      'iam:DeactivateMFADevice',
    ])
      expect(await isAllowed(worker, action, elsewhere), action).toBe(false);
    expect(await isAllowed(worker, 'iam:DeleteUser', managed)).toBe(true);
  });

  it('refuses a user in a group the policy does not list, which the role could not take it out of', async () => {
    const name = nextName('foreign-group');
    await existingUser(bot, name, { owner: 'U0OWNER', groups: ['not-in-policy'] });

    const answer = await command(`delete-user ${name} --reason "Cleanup"`, 'U0OWNER');

    expect(answer).toContain('`not-in-policy`, which the policy does not list');
    expect((await bot.deps.store.requests.model.scan().exec()).filter((r) => r.userName === name)).toHaveLength(0);
  });

  it('is not approved by the owner of the user when an approver asked, nor by the approver who asked', async () => {
    const name = nextName('own-approval');
    const { active } = await usableUser(name);
    await command(`delete-user ${name} --reason "Cleanup"`, 'U0APPROVER2');
    const request = await changeRequestFor(bot, name);

    const byOwner = await click(bot, request, 'U0OWNER');
    await bot.drain();
    const byRequester = await click(bot, request, 'U0APPROVER2');
    await bot.drain();

    expect(repliesTo(bot, byOwner.responseId).join()).toContain(`You own IAM user ${name}`);
    expect(repliesTo(bot, byRequester.responseId).join()).toContain('You asked for this request');
    expect((await stored(request)).status).toBe('pending');
    expect(await keysOf(name)).toMatchObject({ [active]: 'Active' });
  });

  it('refuses a requester who neither owns the user nor approves', async () => {
    const name = nextName('stranger');
    await existingUser(bot, name, { owner: 'U0OWNER' });

    const answer = await command(`delete-user ${name} --reason "Cleanup"`, 'U0STRANGER');

    expect(answer).toContain('Only the owner');
    expect(await exists(name)).toBe(true);
  });

  it('does not let a guest Cancel, even one a user group of approvers lists', async () => {
    const name = nextName('guest');
    const { active } = await usableUser(name);
    const request = await approvedDeletion(name, 'U0APPROVER2');

    const answer = await pressCancel('U0GUESTAPPROVER', request);

    expect(answer.join()).toContain('full member');
    expect((await stored(request)).deletion?.cancel).toBeUndefined();
    expect(await keysOf(name)).toMatchObject({ [active]: 'Inactive' });
  });

  it('lets only the owner or an approver Cancel, and a second Cancel or Approve changes nothing', async () => {
    const name = nextName('twice');
    const { active } = await usableUser(name);
    const request = await approvedDeletion(name, 'U0APPROVER2');

    const stranger = await pressCancel('U0STRANGER', request);
    const afterStranger = await stored(request);
    const secondApprove = await click(bot, request, 'U0APPROVER1');
    await bot.drain();
    const first = await pressCancel('U0APPROVER3', request);
    const second = await pressCancel('U0OWNER', request);

    expect(stranger.join()).toContain('Only <@U0OWNER>');
    expect(afterStranger.deletion?.cancel).toBeUndefined();
    expect(repliesTo(bot, secondApprove.responseId).join()).not.toContain('Approved by');
    expect(first.join()).toContain('Cancelled');
    expect(second.join()).toContain('Already cancelled by <@U0APPROVER3>');
    expect(await keysOf(name)).toMatchObject({ [active]: 'Active' });
    const actions = await auditActions(bot, request.id);
    expect(actions.filter((a) => a === 'deletion-cancel')).toHaveLength(1);
    expect(actions.filter((a) => a === 'deletion-cancelled')).toHaveLength(1);
    expect(actions.filter((a) => a === 'user-disabled')).toHaveLength(1);
  });
});
