/**
 * delete-user on the resumable runner (worker only: src/services/runner/kinds.ts imports it).
 *
 * The run: the start notice; one step per access key active when the run was planned (UpdateAccessKey Inactive) and
 * one for the console password (DeleteLoginProfile); the commit (the user is disabled; `deletion.deleteAt` set
 * `users.deleteAfterDays` later); the end (projection, approval message, the DMs with Cancel); then one `wait` step,
 * the window's clock, woken by the one-minute task `wake-due-runs` or by Cancel (a signal):
 * - Cancel: one step per key this run deactivated, reactivated (a key that was inactive already was never touched,
 *   so it stays inactive); the console password cannot be restored (IAM never returns it): the DMs say so;
 * - the window's end: the purge, one step per kind of item IAM requires removed before DeleteUser, in the order it
 *   needs (console password, access keys, signing certificates, SSH public keys, service-specific credentials, MFA
 *   devices, group memberships, inline policies, attached managed policies), then DeleteUser, the projection and the
 *   DMs.
 * Every step is idempotent (each lists what is left and removes it; NoSuchEntity is done), checkpointed with its audit
 * event. A failure before the commit reactivates the keys this run deactivated (the runner's undo); a purge step that
 * IAM refuses throws: the part stops and is retried, and the stall sweep gives up after a few parts.
 */
import {
  DeactivateMFADeviceCommand,
  DeleteAccessKeyCommand,
  DeleteLoginProfileCommand,
  DeleteServiceSpecificCredentialCommand,
  DeleteSigningCertificateCommand,
  DeleteSSHPublicKeyCommand,
  DeleteUserCommand,
  DeleteUserPolicyCommand,
  DeleteVirtualMFADeviceCommand,
  DetachUserPolicyCommand,
  GetLoginProfileCommand,
  GetUserCommand,
  ListAccessKeysCommand,
  ListAttachedUserPoliciesCommand,
  ListGroupsForUserCommand,
  ListMFADevicesCommand,
  ListServiceSpecificCredentialsCommand,
  ListSigningCertificatesCommand,
  ListSSHPublicKeysCommand,
  ListUserPoliciesCommand,
  RemoveUserFromGroupCommand,
  UpdateAccessKeyCommand,
} from '@aws-sdk/client-iam';
import type { Deps } from '../../deps.js';
import { logger } from '../../logger.js';
import { isManagedUserPath } from '../../services/kinds/run-change.js';
import { ownerIn, readUserState } from '../../services/kinds/user-state.js';
import { errorName } from '../../services/provisioning.js';
import { abandonAtFrom, syncApprovalMessage, tell, tellRequester } from '../../services/requests.js';
import type { RunKind, RunStep, StepOutcome } from '../../services/runner/types.js';
import { userChanged } from '../../services/user-changes.js';
import type { AccessRequest } from '../../store/requests.js';
import { changeRun } from '../change/run.js';
import { cancelledMessage, deletedMessage, disabledMessage } from './messages.js';

type Iam = ReturnType<Deps['aws']['account']>['iam'];

const DAY = 86_400_000;
const WAIT: RunStep = { t: 'wait', op: 'deletion-wait', args: {} };
/** The approval message brought up to where the deletion stands (cancelled, deleted), once that is stored. */
const MESSAGE: RunStep = { t: 'notify', op: 'deletion-message', args: {} };
const done: StepOutcome = { result: 'done' };
const isNoSuchEntity = (e: unknown) => errorName(e) === 'NoSuchEntity';

/** Runs an IAM call whose NoSuchEntity means "already so". */
async function gone<T>(call: Promise<T>): Promise<T | undefined> {
  try {
    return await call;
  } catch (error) {
    if (isNoSuchEntity(error)) return undefined;
    throw error;
  }
}

/**
 * Whether the user is gone (GetUser, granted on any user): IAM authorizes a call on a user that does not exist
 * against `user/<name>`, without its path, so the managed-path role would be denied (AccessDenied, not NoSuchEntity)
 * where a killed part's successor repeats a step after DeleteUser, or a second deletion of the same user runs.
 */
async function userGone(iam: Iam, userName: string): Promise<boolean> {
  return !(await gone(iam.send(new GetUserCommand({ UserName: userName }))));
}

/**
 * Whom the deletion's DMs go to: the owner, the requester and whoever cancelled (once each). A leaver's user
 * (`deletion.offboarding`): nobody (its requester is the system, its owner left; the offboarding's report says it).
 */
const toldOf = (request: AccessRequest): string[] =>
  request.deletion?.offboarding
    ? []
    : [
        ...new Set(
          [request.owner, request.requester, request.deletion?.cancel?.by].filter(
            (w): w is string => !!w && w !== 'system',
          ),
        ),
      ];

/**
 * The run: the re-checks (the path still managed, the user still there, its owner today not among the approvers),
 * then one step per active key and one for the console password, read live now. A failed re-check gives a run whose
 * `refuse` step fails instead.
 */
async function planDeletion(deps: Deps, request: AccessRequest, options: { announce?: boolean }) {
  const start: RunStep = { t: 'notify', op: 'start', args: options.announce ? { announce: 'yes' } : {} };
  const finish: RunStep[] = [
    { t: 'commit', op: 'commit', args: {} },
    { t: 'notify', op: 'deletion-end', args: {} },
  ];
  const refuse = (reason: string) => ({
    steps: [start, { t: 'op' as const, op: 'refuse', args: { reason } }, ...finish],
  });
  const { policy } = deps.config;
  if (!isManagedUserPath(policy, request.path))
    return refuse(`refused: user path ${request.path} is not among the policy's managed paths`);
  const iam = deps.aws.account(request.account).iam;
  const { userName } = request;
  let keys: { AccessKeyId?: string; Status?: string }[];
  let console: boolean;
  try {
    const user = await gone(iam.send(new GetUserCommand({ UserName: userName })));
    if (!user?.User) return refuse(`IAM user ${userName} does not exist any more`);
    if (!isManagedUserPath(policy, user.User.Path ?? '/'))
      return refuse(`refused: IAM user ${userName} is now outside the managed paths`);
    const owner = ownerIn(await readUserState(iam, userName));
    if (owner && request.approvals.some((a) => a.user === owner))
      return refuse(`refused: <@${owner}> owns the user now and approved its deletion`);
    keys = (await iam.send(new ListAccessKeysCommand({ UserName: userName }))).AccessKeyMetadata ?? [];
    console = !!(await gone(iam.send(new GetLoginProfileCommand({ UserName: userName }))));
  } catch (error) {
    return refuse(`reading IAM user ${userName} failed (${errorName(error)})`);
  }
  const disable: RunStep[] = [
    ...keys
      .filter((k) => k.Status === 'Active')
      .map((k): RunStep => ({ t: 'op', op: 'disable-key', args: { userName, keyId: k.AccessKeyId ?? '' } })),
    ...(console ? [{ t: 'op' as const, op: 'disable-console', args: { userName } }] : []),
  ];
  return { steps: [start, ...disable, ...finish, WAIT] };
}

/** A key made inactive (`disable-key`, and Cancel's `restore-key` made active again); a key gone is skipped. */
async function keyStatus(deps: Deps, request: AccessRequest, step: RunStep, status: 'Active' | 'Inactive') {
  const { userName = request.userName, keyId = '' } = step.args;
  try {
    const out = await gone(
      deps.aws
        .account(request.account)
        .iam.send(new UpdateAccessKeyCommand({ UserName: userName, AccessKeyId: keyId, Status: status })),
    );
    return out ? done : { result: 'skipped' as const, detail: 'gone' };
  } catch (error) {
    logger.error('A key of a user to delete could not be changed', {
      requestId: request.id,
      errorName: errorName(error),
    });
    return { result: 'failed' as const, detail: errorName(error) };
  }
}

/** The console password deleted (the disabling); already none is skipped. */
async function disableConsole(deps: Deps, request: AccessRequest): Promise<StepOutcome> {
  try {
    const out = await gone(
      deps.aws.account(request.account).iam.send(new DeleteLoginProfileCommand({ UserName: request.userName })),
    );
    return out ? done : { result: 'skipped', detail: 'gone' };
  } catch (error) {
    logger.error('The console password of a user to delete could not be deleted', {
      requestId: request.id,
      errorName: errorName(error),
    });
    return { result: 'failed', detail: errorName(error) };
  }
}

/** What IAM requires removed before DeleteUser, in its order: each a purge step. */
const PURGE = [
  'login-profile',
  'access-keys',
  'signing-certificates',
  'ssh-public-keys',
  'service-specific-credentials',
  'mfa-devices',
  'groups',
  'inline-policies',
  'attached-policies',
] as const;
type Purge = (typeof PURGE)[number];

const purgeSteps = (userName: string): RunStep[] => [
  ...PURGE.map((what): RunStep => ({ t: 'op', op: `purge-${what}`, args: { userName, what } })),
  { t: 'op', op: 'delete-user', args: { userName } },
  { t: 'notify', op: 'deletion-refresh', args: {} },
];

/**
 * Removes every item of one kind from the user (listed now: what a killed part removed is not listed again), each
 * removal NoSuchEntity-tolerant. Returns the ids or names removed. The user gone: nothing left.
 */
async function purge(iam: Iam, userName: string, what: Purge, policyGroups: Set<string>): Promise<string[]> {
  const U = { UserName: userName };
  const removed: string[] = [];
  const each = async (ids: (string | undefined)[], remove: (id: string) => Promise<unknown>) => {
    for (const id of ids) {
      if (!id) continue;
      await gone(remove(id));
      removed.push(id);
    }
  };
  switch (what) {
    case 'login-profile':
      if (await gone(iam.send(new DeleteLoginProfileCommand(U)))) removed.push('console password');
      break;
    case 'access-keys': {
      const out = await gone(iam.send(new ListAccessKeysCommand(U)));
      await each(
        (out?.AccessKeyMetadata ?? []).map((k) => k.AccessKeyId),
        (id) => iam.send(new DeleteAccessKeyCommand({ ...U, AccessKeyId: id })),
      );
      break;
    }
    case 'signing-certificates': {
      const out = await gone(iam.send(new ListSigningCertificatesCommand(U)));
      await each(
        (out?.Certificates ?? []).map((c) => c.CertificateId),
        (id) => iam.send(new DeleteSigningCertificateCommand({ ...U, CertificateId: id })),
      );
      break;
    }
    case 'ssh-public-keys': {
      const out = await gone(iam.send(new ListSSHPublicKeysCommand(U)));
      await each(
        (out?.SSHPublicKeys ?? []).map((k) => k.SSHPublicKeyId),
        (id) => iam.send(new DeleteSSHPublicKeyCommand({ ...U, SSHPublicKeyId: id })),
      );
      break;
    }
    case 'service-specific-credentials': {
      const out = await gone(iam.send(new ListServiceSpecificCredentialsCommand(U)));
      await each(
        (out?.ServiceSpecificCredentials ?? []).map((c) => c.ServiceSpecificCredentialId),
        (id) => iam.send(new DeleteServiceSpecificCredentialCommand({ ...U, ServiceSpecificCredentialId: id })),
      );
      break;
    }
    case 'groups': {
      const out = await gone(iam.send(new ListGroupsForUserCommand(U)));
      const names = (out?.Groups ?? []).map((g) => g.GroupName ?? '');
      const outside = names.filter((g) => !policyGroups.has(g));
      // the role may remove users only from the policy's groups: one it does not list is for a person to remove
      if (outside.length)
        throw new Error(`IAM user ${userName} is in groups the policy does not list: ${outside.join(', ')}`);
      await each(names, (group) => iam.send(new RemoveUserFromGroupCommand({ ...U, GroupName: group })));
      break;
    }
    case 'inline-policies': {
      const out = await gone(iam.send(new ListUserPoliciesCommand(U)));
      await each(out?.PolicyNames ?? [], (name) => iam.send(new DeleteUserPolicyCommand({ ...U, PolicyName: name })));
      break;
    }
    case 'attached-policies': {
      const out = await gone(iam.send(new ListAttachedUserPoliciesCommand(U)));
      await each(
        (out?.AttachedPolicies ?? []).map((p) => p.PolicyArn),
        (arn) => iam.send(new DetachUserPolicyCommand({ ...U, PolicyArn: arn })),
      );
      break;
    }
  }
  return removed;
}

/** One purge step; a refusal of IAM throws (the part stops and is retried). */
async function purgeStep(deps: Deps, request: AccessRequest, step: RunStep): Promise<StepOutcome> {
  const what = step.args.what as Purge;
  const iam = deps.aws.account(request.account).iam;
  const policyGroups = new Set(deps.config.policy.groups.map((g) => g.name));
  try {
    if (await userGone(iam, step.args.userName ?? request.userName)) return { result: 'skipped', detail: 'user gone' };
    if (what === 'mfa-devices') return await mfaGate(deps, request, step);
    const removed = await purge(iam, step.args.userName ?? request.userName, what, policyGroups);
    return removed.length
      ? { result: 'done', data: { removed: removed.join(', ') } }
      : { result: 'skipped', detail: 'none' };
  } catch (error) {
    logger.error('A user to delete could not be cleared', { requestId: request.id, what, errorName: errorName(error) });
    throw new Error(`Clearing ${what} of IAM user ${request.userName} failed`, { cause: error });
  }
}

/**
 * The MFA devices: listed, then one checkpointed step per device to deactivate it and, for a virtual one, one to
 * delete it (a deactivated device is no longer listed for the user: a kill between the two must not lose it).
 */
async function mfaGate(deps: Deps, request: AccessRequest, step: RunStep): Promise<StepOutcome> {
  const userName = step.args.userName ?? request.userName;
  try {
    const out = await gone(
      deps.aws.account(request.account).iam.send(new ListMFADevicesCommand({ UserName: userName })),
    );
    const serials = (out?.MFADevices ?? []).map((d) => d.SerialNumber ?? '').filter(Boolean);
    if (!serials.length) return { result: 'skipped', detail: 'none' };
    const then = serials.flatMap((serial): RunStep[] => [
      { t: 'op', op: 'mfa-deactivate', args: { userName, serial } },
      // a virtual device (an ARN `…:mfa/…`) is IAM's to delete; a hardware or FIDO one is only deactivated
      ...(VIRTUAL_MFA.test(serial) ? [{ t: 'op' as const, op: 'mfa-delete', args: { serial } }] : []),
    ]);
    return { result: 'done', data: { removed: serials.join(', ') }, then };
  } catch (error) {
    throw new Error(`Listing the MFA devices of IAM user ${userName} failed`, { cause: error });
  }
}

const VIRTUAL_MFA = /^arn:[^:]+:iam::\d+:mfa\//;

/** One MFA device deactivated, or a virtual one deleted; already so (NoSuchEntity) is done. */
async function mfaStep(deps: Deps, request: AccessRequest, step: RunStep): Promise<StepOutcome> {
  const { userName = request.userName, serial = '' } = step.args;
  const iam = deps.aws.account(request.account).iam;
  try {
    const out =
      step.op === 'mfa-deactivate'
        ? await gone(iam.send(new DeactivateMFADeviceCommand({ UserName: userName, SerialNumber: serial })))
        : await gone(iam.send(new DeleteVirtualMFADeviceCommand({ SerialNumber: serial })));
    return out ? done : { result: 'skipped', detail: 'gone' };
  } catch (error) {
    logger.error('An MFA device of a user to delete could not be removed', {
      requestId: request.id,
      op: step.op,
      errorName: errorName(error),
    });
    throw new Error(`${step.op} ${serial} failed`, { cause: error });
  }
}

/**
 * DeleteUser. The user already gone is done. DeleteConflict (something was attached since the purge listed it): the
 * purge runs once more before a second DeleteUser; a second conflict throws.
 */
async function deleteStep(deps: Deps, request: AccessRequest, step: RunStep): Promise<StepOutcome> {
  const userName = step.args.userName ?? request.userName;
  const changes = (r: AccessRequest) => ({ deletion: { ...r.deletion, deletedAt: deps.clock.now().toISOString() } });
  try {
    const iam = deps.aws.account(request.account).iam;
    if (await userGone(iam, userName)) return { result: 'skipped', detail: 'gone', changes };
    const out = await gone(iam.send(new DeleteUserCommand({ UserName: userName })));
    return out ? { result: 'done', changes } : { result: 'skipped', detail: 'gone', changes };
  } catch (error) {
    if (errorName(error) === 'DeleteConflict' && !step.args.again) {
      const again = purgeSteps(userName).map((s) =>
        s.op === 'delete-user' ? { ...s, args: { ...s.args, again: 'yes' } } : s,
      );
      const then = again.slice(0, -1);
      return { result: 'skipped', detail: 'DeleteConflict: clearing again', then };
    }
    logger.error('A user could not be deleted', { requestId: request.id, errorName: errorName(error) });
    throw new Error(`DeleteUser ${userName} failed`, { cause: error });
  }
}

/**
 * The window's clock, a `wait` step deciding from the stored deletion: Cancel restores, the end purges and deletes,
 * otherwise it sleeps until the end. A user never disabled (its run failed) has nothing to wait for.
 */
function waitStep(deps: Deps, request: AccessRequest): StepOutcome {
  const deletion = request.deletion;
  if (request.status !== 'done' || !deletion?.deleteAt) return { result: 'skipped', detail: 'nothing was disabled' };
  const now = deps.clock.now();
  const ended = (r: AccessRequest) => ({ deletion: { ...(r.deletion ?? deletion), endedAt: now.toISOString() } });
  const tells = (op: string) => toldOf(request).map((who): RunStep => ({ t: 'notify', op, args: { who } }));
  if (deletion.cancel) {
    const restore = (request.run?.steps ?? [])
      .filter((s) => s.op === 'disable-key' && s.result === 'done')
      .map((s): RunStep => ({ t: 'op', op: 'restore-key', args: { ...s.args } }));
    const then: RunStep[] = [
      ...restore,
      { t: 'notify', op: 'deletion-refresh', args: {} },
      MESSAGE,
      ...tells('tell-cancelled'),
    ];
    return {
      result: 'done',
      detail: 'cancelled',
      then,
      changes: ended,
      audit: {
        action: 'deletion-cancelled',
        detail: { by: deletion.cancel.by, restore: restore.map((s) => s.args.keyId ?? '') },
      },
    };
  }
  if (now.getTime() >= Date.parse(deletion.deleteAt)) {
    const then = [...purgeSteps(request.userName), MESSAGE, ...tells('tell-deleted')];
    return {
      result: 'done',
      detail: 'the window ended',
      then,
      changes: ended,
      audit: { action: 'deletion-started', detail: { deleteAt: deletion.deleteAt } },
    };
  }
  return { result: 'done', waitUntil: new Date(deletion.deleteAt) };
}

/** The end after the commit: the projection and the approval message, then the DMs (Cancel to the owner). */
async function endStep(deps: Deps, request: AccessRequest): Promise<StepOutcome> {
  // a leaver's user: asked for by the system, owned by someone who left (the offboarding's report names it)
  const leavers = !!request.deletion?.offboarding;
  const then: RunStep[] = leavers ? [] : [{ t: 'notify', op: 'tell-requester', args: {} }];
  if (request.status === 'done') {
    if (!leavers && request.owner && request.owner !== request.requester)
      then.push({ t: 'notify', op: 'tell-disabled', args: { who: request.owner } });
  } else for (const a of request.approvals) then.push({ t: 'notify', op: 'tell-approver', args: { who: a.user } });
  const outcome = await changeRun.step(deps, request, { t: 'notify', op: 'end', args: {} });
  // the change run's end also refreshes the projection and posts a failed request with no message; its DMs are ours
  return { ...outcome, then };
}

/** Why each disabling step a failed run did is still so (keys are reactivated by the undo; a password cannot be). */
function remainingOf(request: AccessRequest, stopped: boolean): string[] {
  const steps = request.run?.steps ?? [];
  const left: string[] = [];
  for (const [i, s] of steps.entries()) {
    if (s.t !== 'op' || s.result !== 'done' || (s.op !== 'disable-key' && s.op !== 'disable-console')) continue;
    const undo = steps.find((u) => u.t === 'undo' && u.args.undoes === String(i));
    if (undo?.result === 'done' || undo?.result === 'skipped') continue;
    const why = stopped
      ? 'the run stopped'
      : s.op === 'disable-console'
        ? 'a password cannot be restored'
        : 'undo failed';
    left.push(`${deleteUserRun.describe(s)} (${why})`);
  }
  return left;
}

export const deleteUserRun: RunKind = {
  plan: planDeletion,
  async step(deps, request, step) {
    switch (step.op) {
      case 'disable-key':
        return keyStatus(deps, request, step, 'Inactive');
      case 'restore-key':
        return keyStatus(deps, request, step, 'Active');
      case 'disable-console':
        return disableConsole(deps, request);
      case 'deletion-wait':
        return waitStep(deps, request);
      case 'delete-user':
        return deleteStep(deps, request, step);
      case 'mfa-deactivate':
      case 'mfa-delete':
        return mfaStep(deps, request, step);
      case 'deletion-end':
        return endStep(deps, request);
      case 'deletion-refresh':
        await userChanged(deps, request.account, request.userName, { requestId: request.id });
        return done;
      case 'deletion-message':
        if (request.message) await syncApprovalMessage(deps, request);
        return done;
      case 'tell-requester':
        await tellRequester(deps, request);
        return done;
      case 'tell-disabled':
        await tell(deps, step.args.who ?? '', request, disabledMessage(request));
        return done;
      case 'tell-cancelled':
        await tell(deps, step.args.who ?? '', request, cancelledMessage(request));
        return done;
      case 'tell-deleted':
        await tell(deps, step.args.who ?? '', request, deletedMessage(request));
        return done;
      default:
        if (step.op.startsWith('purge-')) return purgeStep(deps, request, step);
        return changeRun.step(deps, request, step);
    }
  },
  describe(step) {
    const { userName = '', keyId = '', what = '' } = step.args;
    if (step.op === 'disable-key') return `UpdateAccessKey ${userName} ${keyId} Inactive`;
    if (step.op === 'restore-key') return `UpdateAccessKey ${userName} ${keyId} Active (Cancel)`;
    if (step.op === 'disable-console') return `DeleteLoginProfile ${userName}`;
    if (step.op === 'deletion-wait') return 'the deletion window: wait for Cancel or the end';
    if (step.op.startsWith('purge-')) return `remove ${what} of ${userName}`;
    if (step.op === 'delete-user') return `DeleteUser ${userName}`;
    if (step.op === 'mfa-deactivate') return `DeactivateMFADevice ${userName} ${step.args.serial ?? ''}`;
    if (step.op === 'mfa-delete') return `DeleteVirtualMFADevice ${step.args.serial ?? ''}`;
    if (step.op === 'deletion-end') return 'the end: user projection, approval message';
    if (step.op === 'deletion-refresh') return 'user projection';
    if (step.op === 'deletion-message') return 'the approval message: cancelled or deleted';
    if (step.op === 'tell-disabled') return `DM with Cancel to ${step.args.who ?? 'nobody'}`;
    if (step.op === 'tell-cancelled') return `DM of the cancellation to ${step.args.who ?? 'nobody'}`;
    if (step.op === 'tell-deleted') return `DM of the deletion to ${step.args.who ?? 'nobody'}`;
    return changeRun.describe(step);
  },
  undo(step) {
    return step.op === 'disable-key' ? { t: 'op', op: 'restore-key', args: { ...step.args } } : undefined;
  },
  commit(deps, request, failed): ReturnType<RunKind['commit']> {
    const disabled = (request.run?.steps ?? []).filter(
      (s) => (s.op === 'disable-key' || s.op === 'disable-console') && s.result === 'done',
    );
    if (!failed.length) {
      // a leaver's user: its window was `leavers.deleteAfterDays`, announced in the offboarding's report, and passed
      const offboarding = request.deletion?.offboarding;
      const days = offboarding ? 0 : deps.config.policy.users.deleteAfterDays;
      const deleteAt = new Date(deps.clock.now().getTime() + days * DAY);
      return {
        changes: { deletion: { ...(offboarding ? { offboarding } : {}), deleteAt: deleteAt.toISOString() } },
        audit: {
          action: 'user-disabled',
          detail: { steps: disabled.map((s) => deleteUserRun.describe(s)), deleteAt: deleteAt.toISOString() },
        },
      };
    }
    const first = failed.find((s) => s.t !== 'undo') ?? (failed[0] as RunStep);
    const error =
      first.op === 'refuse'
        ? (first.detail ?? 'refused')
        : `${deleteUserRun.describe(first)} failed (${first.detail ?? 'error'})`;
    const remaining = remainingOf(request, false);
    return {
      changes: { error, remaining, abandonAt: abandonAtFrom(deps) },
      audit: { action: 'provisioning-failed', detail: { error, remaining } },
    };
  },
  stopped(deps, request, reason) {
    return { error: reason, remaining: remainingOf(request, true), abandonAt: abandonAtFrom(deps) };
  },
  tellStopped: (deps, request) => changeRun.tellStopped(deps, request),
};
