/**
 * The worker's and the scheduled task's side of a key rotation (see rotate-key.ts): creating and delivering the new
 * key, then the grace period, deactivation, reactivation, deletion and cancellation. Kept apart from rotate-key.ts so
 * that the Slack function does not load credential delivery at cold start.
 */

import {
  CreateAccessKeyCommand,
  DeleteAccessKeyCommand,
  GetAccessKeyLastUsedCommand,
  GetUserCommand,
  ListAccessKeysCommand,
  UpdateAccessKeyCommand,
} from '@aws-sdk/client-iam';
import { HOME } from '../../aws/accounts.js';
import {
  oldKeyDeactivatedMessage,
  oldKeyDeletedMessage,
  oldKeyGoneMessage,
  oldKeyReactivatedMessage,
  rotationCancelledMessage,
  rotationStartedMessage,
  stillInUseEscalation,
  stillInUseMessage,
} from '../../blocks/rotation.js';
import type { Deps } from '../../deps.js';
import { ConflictError } from '../../errors.js';
import { logger } from '../../logger.js';
import type { AccessRequest, RotationState } from '../../store/requests.js';
import { deliverCredentials, settleDelivery } from '../credentials.js';
import type { OutgoingMessage } from '../ports.js';
import type { ProvisionOutcome } from '../provision-request.js';
import { errorName, type IamSender } from '../provisioning.js';
import {
  abandonAtFrom,
  auditEvent,
  auditSubject,
  syncApprovalMessage,
  tell,
  tellApproversOfFailure,
  tellRequester,
} from '../requests.js';
import { stageRecorded } from '../run-progress.js';
import { userChanged } from '../user-changes.js';
import { isManagedPath, managedUserPaths } from '../user-projection.js';
import { announce, isoIn, newKeyFate, STEP_LEASE_MS, withRotation } from './rotate-key.js';

const DAY = 86_400_000;

interface KeyInfo {
  id: string;
  active: boolean;
}

async function listKeys(iam: IamSender, userName: string): Promise<KeyInfo[]> {
  const out = await iam.send(new ListAccessKeysCommand({ UserName: userName }));
  return (out.AccessKeyMetadata ?? []).map((k: { AccessKeyId?: string; Status?: string }) => ({
    id: k.AccessKeyId ?? '',
    active: k.Status === 'Active',
  }));
}

async function record(
  deps: Pick<Deps, 'store' | 'clock'>,
  request: AccessRequest,
  actor: string,
  action: string,
  extra: Record<string, string | number | boolean | null> = {},
) {
  await deps.store.audit.record({
    subject: auditSubject(request.id),
    at: deps.clock.now(),
    actor,
    action,
    detail: { status: request.status, version: request.version, phase: request.rotation?.phase ?? null, ...extra },
  });
}

/**
 * The worker's run of an approved rotation: claims it (approved -> provisioning; a duplicated delivery is skipped),
 * tells the start and records it (`provisioning-started`), lists the user's keys again and refuses what changed
 * meanwhile (the old key gone or inactive, no room), deletes the chosen inactive key if it is still there and
 * inactive, creates the new key and delivers it by one-time link, then starts the grace period and DMs the owner. A
 * failure after CreateAccessKey deletes the new key again; the old key is never changed here. Killed at any call,
 * Lambda's retry ends it the same way: the start told unless recorded, a key whose link went out kept, else its link
 * retired and its secret deleted before the key is replaced (one live link, no secret left, no key left undeleted).
 */
export async function runKeyRotation(
  deps: Deps,
  requestId: string,
  attempt: number,
  options: { announce?: boolean } = {},
): Promise<ProvisionOutcome> {
  const store = deps.store.requests;
  const found = await store.get(requestId);
  if (!found || found.attempt !== attempt || (found.status !== 'approved' && found.status !== 'provisioning'))
    return 'skipped';
  const request = await store.update(found, { status: 'provisioning' }, deps.clock.now());
  if (!request) return 'skipped';
  // The start's messages, then the event that records them: a run that died after the claim, before that event,
  // sends them again (twice only when it died between the DM and the event).
  if (found.status === 'approved' || !(await stageRecorded(deps, request, 'provisioning-started'))) {
    await syncApprovalMessage(deps, request);
    if (options.announce) await tellRequester(deps, request);
    await record(deps, request, 'system', 'provisioning-started', { attempt });
  }
  const rot = request.rotation as RotationState;
  // Today's policy, before any IAM write: the account and the user's path still the policy's, the user still there.
  const { policy } = deps.config;
  if (request.account !== HOME && !policy.accounts.some((a) => a.name === request.account))
    return refuseUnderPolicy(deps, request, [`account ${request.account} is not in the policy any more`]);
  const { iam } = deps.aws.account(request.account);
  let path: string;
  try {
    path = (await iam.send(new GetUserCommand({ UserName: request.userName }))).User?.Path ?? '/';
  } catch (error) {
    if (errorName(error) === 'NoSuchEntity')
      return fail(deps, request, `refused: IAM user ${request.userName} no longer exists`);
    return fail(deps, request, `reading IAM user ${request.userName} failed (${errorName(error)})`);
  }
  if (!isManagedPath(managedUserPaths(policy), path))
    return refuseUnderPolicy(deps, request, [`user path ${path} is not among the policy's managed paths`]);
  const deliveryKey = (keyId: string) => `rotate:${request.id}:${keyId}`;
  let withKey = request;
  let newKeyId: string;
  let linkId: string;
  let linkExpiresAt: number;
  try {
    let keys = await listKeys(iam, request.userName);
    // A key an earlier attempt created: kept if its link went out (the run stopped after delivering, or after the
    // DM was recorded), else this rotation's own undelivered key: its link is retired and its secret deleted
    // (settleDelivery), and only then is the key deleted and a new one made, so that no link is left live to reveal
    // a deleted key and no secret is left behind.
    const earlier = rot.newKeyId && keys.some((k) => k.id === rot.newKeyId) ? rot.newKeyId : undefined;
    const settled = earlier ? await settleDelivery(deps, deliveryKey(earlier)) : undefined;
    if (settled?.state === 'busy')
      throw new ConflictError(`The new key of request ${requestId} is being delivered right now; try again later.`);
    if (earlier && settled?.state === 'delivered') {
      // The step's name is the first attempt's, so that the audit says one CreateAccessKey whatever attempt made it.
      await record(deps, request, 'system', 'step-skipped', {
        step: `CreateAccessKey ${request.userName}`,
        newKeyId: earlier,
        detail: 'delivered by an earlier attempt',
      });
      return finishDelivery(deps, request, earlier, settled.linkId, settled.expiresAt.getTime());
    }
    if (earlier) {
      await iam.send(new DeleteAccessKeyCommand({ UserName: request.userName, AccessKeyId: earlier }));
      await record(deps, request, 'system', 'step-undone', { step: `CreateAccessKey ${earlier} (never delivered)` });
    }
    // A key made by an attempt that stopped between CreateAccessKey and the write recording it: not among the keys
    // checkpointed before the call, so this rotation's own, and its secret died with that run. Deleted, then a new
    // key is made and delivered.
    const before = rot.keysBefore;
    const orphans = before ? keys.filter((k) => k.id !== rot.newKeyId && !before.includes(k.id)) : [];
    for (const orphan of orphans) {
      await iam
        .send(new DeleteAccessKeyCommand({ UserName: request.userName, AccessKeyId: orphan.id }))
        .catch(ignoreMissing);
      await record(deps, request, 'system', 'step-undone', {
        step: `CreateAccessKey ${orphan.id} (never recorded: its secret was lost)`,
      });
    }
    keys = keys.filter((k) => k.id !== rot.newKeyId && !orphans.includes(k));
    const old = keys.find((k) => k.id === rot.oldKeyId);
    if (!old?.active) return fail(deps, request, `refused: key ${rot.oldKeyId} is ${old ? 'inactive' : 'gone'} now`);
    const chosen = rot.deleteFirst ? keys.find((k) => k.id === rot.deleteFirst) : undefined;
    if (chosen) {
      if (chosen.active) return fail(deps, request, `refused: key ${chosen.id} is active again; it is not deleted`);
      await iam.send(new DeleteAccessKeyCommand({ UserName: request.userName, AccessKeyId: chosen.id }));
      await record(deps, request, 'system', 'step-done', { step: `DeleteAccessKey ${chosen.id} (inactive)` });
      keys = keys.filter((k) => k.id !== chosen.id);
    }
    if (keys.length >= 2) return fail(deps, request, 'refused: the user has two keys again; no room for a new one');
    // The checkpoint that lets a resumed attempt recognise a key this one creates but never records.
    const checkpoint = await deps.store.requests.update(
      request,
      { rotation: withRotation(request, { keysBefore: keys.map((k) => k.id) }, ['newKeyId']) },
      deps.clock.now(),
    );
    if (!checkpoint) throw new Error(`Request ${requestId} changed while it was running`);
    withKey = checkpoint;
    const out = await iam.send(new CreateAccessKeyCommand({ UserName: request.userName }));
    if (!out.AccessKey?.AccessKeyId || !out.AccessKey.SecretAccessKey)
      throw new Error('CreateAccessKey returned no key');
    const newKey = { accessKeyId: out.AccessKey.AccessKeyId, secretAccessKey: out.AccessKey.SecretAccessKey };
    newKeyId = newKey.accessKeyId;
    const stored = await deps.store.requests.update(
      checkpoint,
      { rotation: withRotation(checkpoint, { newKeyId }) },
      deps.clock.now(),
    );
    if (!stored) throw new Error(`Request ${requestId} changed while it was running`);
    withKey = stored;
    await record(deps, withKey, 'system', 'step-done', { step: `CreateAccessKey ${request.userName}`, newKeyId });
    try {
      const delivered = await deliverCredentials(deps, {
        deliveryKey: deliveryKey(newKeyId),
        requestId: withKey.id,
        recipientSlackId: withKey.recipient,
        requesterSlackId: withKey.requester,
        approverSlackIds: withKey.approvals.map((a) => a.user),
        account: withKey.account,
        purpose: `New access key for IAM user ${withKey.userName} (rotation of ${rot.oldKeyId})`,
        bundle: {
          accountId: withKey.accountId,
          region: deps.config.env.AWS_REGION,
          userName: withKey.userName,
          accessKey: newKey,
        },
      });
      linkId = delivered.linkId;
      linkExpiresAt = delivered.expiresAt.getTime();
    } catch (error) {
      await iam
        .send(new DeleteAccessKeyCommand({ UserName: withKey.userName, AccessKeyId: newKeyId }))
        .catch((e: unknown) =>
          logger.error('Could not delete an undelivered rotation key', { requestId, errorName: errorName(e) }),
        );
      return fail(deps, withKey, `delivering the new key failed (${errorName(error)}); the new key was deleted`);
    }
  } catch (error) {
    // Another invocation is delivering this rotation's key: not a failure; Lambda retries this one later.
    if (error instanceof ConflictError) throw error;
    return fail(deps, withKey, `rotating failed (${errorName(error)})`);
  }
  return finishDelivery(deps, withKey, newKeyId, linkId, linkExpiresAt);
}

/**
 * The new key is out: the grace period starts, the owner is told, and only then does the request say done, so that
 * an attempt killed after the grace period's write still tells the owner when Lambda retries it (a retry finds the
 * request still provisioning, the key delivered, and comes back here; the grace period it set is kept).
 */
async function finishDelivery(
  deps: Deps,
  withKey: AccessRequest,
  newKeyId: string,
  linkId: string,
  linkExpiresAt: number,
): Promise<ProvisionOutcome> {
  const store = deps.store.requests;
  const requestId = withKey.id;
  const now = deps.clock.now();
  const earlier = withKey.rotation?.phase === 'grace' ? withKey.rotation : undefined;
  const graceEndsAt =
    earlier?.graceEndsAt ?? new Date(now.getTime() + deps.config.policy.keys.rotationGraceDays * DAY).toISOString();
  const grace = await store.update(
    withKey,
    {
      linkId,
      rotation: withRotation(withKey, {
        newKeyId,
        phase: 'grace',
        deliveredAt: earlier?.deliveredAt ?? now.toISOString(),
        graceEndsAt,
        nextAt: earlier?.nextAt ?? now.toISOString(),
        linkExpiresAt: new Date(linkExpiresAt).toISOString(),
      }),
    },
    now,
  );
  if (!grace) throw new Error(`Request ${requestId} changed while it was running`);
  await record(deps, grace, 'system', 'rotation.key-delivered', { newKeyId, linkId, graceEndsAt });
  await userChanged(deps, grace.account, grace.userName, { requestId: grace.id });
  await tell(deps, grace.recipient, grace, rotationStartedMessage(grace));
  if (grace.requester !== grace.recipient) await tellRequester(deps, grace);
  const done = await store.update(grace, { status: 'done' }, deps.clock.now());
  if (!done) throw new Error(`Request ${requestId} changed while it was running`);
  await syncApprovalMessage(deps, done);
  return 'done';
}

async function fail(deps: Deps, request: AccessRequest, error: string): Promise<ProvisionOutcome> {
  const failed = await deps.store.requests.update(
    request,
    { status: 'failed', error, remaining: [], abandonAt: abandonAtFrom(deps) },
    deps.clock.now(),
  );
  if (!failed) throw new Error(`Request ${request.id} changed while it was running`);
  await record(deps, failed, 'system', 'provisioning-failed', { error });
  await syncApprovalMessage(deps, failed);
  await tellRequester(deps, failed);
  await tellApproversOfFailure(deps, failed);
  return 'failed';
}

/**
 * Fails a rotation the current policy no longer allows, before any IAM write, as create-user does: audited, the
 * message updated, a notice in the approval channel, the requester and the approvers who approved it told.
 */
async function refuseUnderPolicy(deps: Deps, request: AccessRequest, violations: string[]): Promise<ProvisionOutcome> {
  const error = `refused: the policy no longer allows it (${violations.join('; ')})`;
  const failed = await deps.store.requests.update(
    request,
    { status: 'failed', error, remaining: [], abandonAt: abandonAtFrom(deps) },
    deps.clock.now(),
  );
  if (!failed) throw new Error(`Request ${request.id} changed while it was running`);
  logger.warn('Rotation refused under the current policy', { requestId: request.id, violations });
  await record(deps, failed, 'system', 'provisioning-refused', { violations: violations.join('; ') });
  await syncApprovalMessage(deps, failed);
  const channel = failed.message?.channel ?? deps.config.policy.approvals.channel;
  await tell(deps, channel, failed, {
    text: `:no_entry: I did not rotate access key \`${failed.rotation?.oldKeyId ?? '?'}\` of IAM user \`${failed.userName}\` (request \`${failed.id}\`): the policy no longer allows it: ${violations.join('; ')}. Nothing was changed.`,
  });
  await tellRequester(deps, failed);
  await tellApproversOfFailure(deps, failed);
  return 'failed';
}

// ---------------------------------------------------------------------------------------------------------------
// After delivery: the grace period, deactivation, reactivation, deletion, cancellation.

type Advance = 'changed' | 'waiting' | 'lost';

/** Writes the rotation's next state if the request is still the version read. */
async function move(
  deps: Pick<Deps, 'store' | 'clock'>,
  r: AccessRequest,
  changes: Partial<RotationState>,
  drop: (keyof RotationState)[] = [],
) {
  return deps.store.requests.update(r, { rotation: withRotation(r, changes, drop) }, deps.clock.now());
}

const ignoreMissing = (error: unknown) => {
  if (errorName(error) !== 'NoSuchEntity') throw error;
};

type OldKeyState = 'active' | 'inactive' | 'key-gone' | 'user-gone';

/**
 * Where the old key stands in IAM: GetUser first (granted on any user: IAM evaluates a user that no longer exists
 * against `user/<name>`, without its path, so a path-scoped call on a deleted user answers AccessDenied, never
 * NoSuchEntity), then the user's keys.
 */
async function oldKeyState(iam: IamSender, userName: string, keyId: string): Promise<OldKeyState> {
  try {
    await iam.send(new GetUserCommand({ UserName: userName }));
    const key = (await listKeys(iam, userName)).find((k) => k.id === keyId);
    return !key ? 'key-gone' : key.active ? 'active' : 'inactive';
  } catch (error) {
    if (errorName(error) === 'NoSuchEntity') return 'user-gone';
    throw error;
  }
}

const isGone = (state: OldKeyState): state is 'key-gone' | 'user-gone' => state === 'key-gone' || state === 'user-gone';

/**
 * Runs an IAM write on the old key unless the key or its user was deleted outside the bot meanwhile (then returns
 * which, and nothing is written; a NoSuchEntity from the write itself is checked the same way).
 */
async function onOldKey(
  iam: IamSender,
  r: AccessRequest,
  write: () => Promise<unknown>,
): Promise<'done' | 'key-gone' | 'user-gone'> {
  const oldKeyId = (r.rotation as RotationState).oldKeyId;
  const before = await oldKeyState(iam, r.userName, oldKeyId);
  if (isGone(before)) return before;
  try {
    await write();
    return 'done';
  } catch (error) {
    if (errorName(error) !== 'NoSuchEntity') throw error;
    const after = await oldKeyState(iam, r.userName, oldKeyId);
    if (isGone(after)) return after;
    throw error;
  }
}

/**
 * Ends a rotation whose old key (or whole user) was deleted outside the bot: the step it was at is done (audited as
 * skipped: gone, in one transaction with the end), the owner is told, and the rotation has ended, so the user's
 * rotation pointer lets a new rotation start. Conditional: of two runs, one ends it.
 */
async function endGone(deps: Deps, r: AccessRequest, gone: 'key-gone' | 'user-gone', step: string): Promise<Advance> {
  const rotation = withRotation(r, { phase: 'deleted', gone: gone === 'user-gone' ? 'user' : 'key' }, ['nextAt']);
  const what =
    gone === 'user-gone' ? 'the IAM user was deleted outside the bot' : 'the old key was deleted outside the bot';
  const detail = (next: AccessRequest) => ({ status: next.status, version: next.version, phase: 'deleted' });
  const next = await deps.store.requests.update(r, { rotation }, deps.clock.now(), [], (n) => [
    deps.store.audit.transactionItem(
      auditEvent(deps, n, 'system', 'step-skipped', { ...detail(n), step, detail: `gone: ${what}` }),
    ),
    deps.store.audit.transactionItem(
      auditEvent(deps, n, 'system', 'rotation.ended-gone', { ...detail(n), oldKeyId: rotation.oldKeyId, gone: what }),
    ),
  ]);
  if (!next) return 'lost';
  await tell(deps, next.recipient, next, oldKeyGoneMessage(next));
  await userChanged(deps, next.account, next.userName, { requestId: next.id });
  return 'changed';
}

/** When the `-ing` phase `r` is in was announced (for a rotation stored before phases recorded it: now). */
const phaseStart = (deps: Pick<Deps, 'clock'>, r: AccessRequest) =>
  Date.parse(r.rotation?.phaseAt ?? '') || deps.clock.now().getTime();

/**
 * Whether an earlier run of the `-ing` phase `r` is in recorded its end (`action`, for this very phase: its
 * `phaseAt`), read consistently: the event says the owner was told. A rotation stored before phases recorded their
 * start has no such record: its end is told again.
 */
async function phaseEndRecorded(deps: Pick<Deps, 'store'>, r: AccessRequest, action: string): Promise<boolean> {
  const phaseAt = r.rotation?.phaseAt;
  if (!phaseAt) return false;
  const events = await deps.store.audit.list(auditSubject(r.id), { consistent: true });
  return events.some(
    (e) =>
      e.actor === 'system' &&
      e.action === action &&
      (e.detail as { phaseAt?: unknown } | undefined)?.phaseAt === phaseAt,
  );
}

/**
 * Ends an `-ing` phase whose IAM write is done: the owner is told, then the phase's audit event records it (and the
 * IAM write), and only then does the phase move on (a conditional write), then the user's projection. A run killed
 * anywhere in between is finished by the next one (the schedule's next run once the phase's lease is over, or
 * Lambda's retry of a click's job): the IAM write is idempotent, the owner is not told again once the event is
 * recorded (twice only when a run died between the DM and its event), and the phase moves once.
 */
async function endPhase(
  deps: Deps,
  r: AccessRequest,
  end: {
    changes: Partial<RotationState>;
    drop?: (keyof RotationState)[];
    action: string;
    detail: Record<string, string | number | boolean | null>;
    message: (told: AccessRequest) => OutgoingMessage;
  },
): Promise<Advance> {
  const drop = end.drop ?? [];
  // The state the phase leads to, as the owner is told it before it is written.
  const told: AccessRequest = { ...r, rotation: withRotation(r, end.changes, drop) };
  if (!(await phaseEndRecorded(deps, r, end.action))) {
    await tell(deps, r.recipient, told, end.message(told));
    await record(deps, told, 'system', end.action, { ...end.detail, phaseAt: r.rotation?.phaseAt ?? null });
  }
  const next = await move(deps, r, end.changes, drop);
  if (!next) return 'lost';
  await userChanged(deps, next.account, next.userName, { requestId: next.id });
  return 'changed';
}

/**
 * Finishes the IAM write an `-ing` phase announced (idempotent: deactivating, reactivating, deleting a key twice is
 * harmless), then tells the owner, audits it and writes the phase it leads to (see endPhase): whatever call a run
 * dies at, the next run ends the phase the same way.
 */
export async function finishRotationStep(deps: Deps, r: AccessRequest): Promise<Advance> {
  const rot = r.rotation as RotationState;
  const { iam } = deps.aws.account(r.account);
  const now = deps.clock.now();
  const userName = r.userName;
  const since = phaseStart(deps, r);
  switch (rot.phase) {
    case 'deactivating': {
      const step = `UpdateAccessKey ${rot.oldKeyId} Inactive`;
      const done = await onOldKey(iam, r, () =>
        iam.send(new UpdateAccessKeyCommand({ UserName: userName, AccessKeyId: rot.oldKeyId, Status: 'Inactive' })),
      );
      if (done !== 'done') return endGone(deps, r, done, step);
      const deleteAt = new Date(since + deps.config.policy.keys.recoveryDays * DAY).toISOString();
      return endPhase(deps, r, {
        changes: { phase: 'deactivated', deactivatedAt: now.toISOString(), deleteAt, nextAt: deleteAt },
        action: 'rotation.old-key-deactivated',
        detail: { oldKeyId: rot.oldKeyId, deleteAt },
        message: oldKeyDeactivatedMessage,
      });
    }
    case 'reactivating': {
      const step = `UpdateAccessKey ${rot.oldKeyId} Active`;
      const done = await onOldKey(iam, r, () =>
        iam.send(new UpdateAccessKeyCommand({ UserName: userName, AccessKeyId: rot.oldKeyId, Status: 'Active' })),
      );
      if (done !== 'done') return endGone(deps, r, done, step);
      const graceEndsAt = new Date(since + deps.config.policy.keys.rotationGraceDays * DAY).toISOString();
      return endPhase(deps, r, {
        changes: { phase: 'reactivated', graceEndsAt, nextAt: graceEndsAt },
        drop: ['deleteAt', 'deactivatedAt'],
        action: 'rotation.old-key-reactivated',
        detail: { oldKeyId: rot.oldKeyId, graceEndsAt },
        message: oldKeyReactivatedMessage,
      });
    }
    case 'deleting': {
      const done = await onOldKey(iam, r, () =>
        iam.send(new DeleteAccessKeyCommand({ UserName: userName, AccessKeyId: rot.oldKeyId })),
      );
      // A key already gone is what this step wanted (a run that deleted it may have stopped before the write below);
      // only a user deleted outside the bot ends the rotation otherwise.
      if (done === 'user-gone') return endGone(deps, r, done, `DeleteAccessKey ${rot.oldKeyId}`);
      return endPhase(deps, r, {
        changes: { phase: 'deleted' },
        drop: ['nextAt'],
        action: 'rotation.old-key-deleted',
        detail: { oldKeyId: rot.oldKeyId },
        message: oldKeyDeletedMessage,
      });
    }
    case 'cancelling': {
      const userGone = rot.newKeyId ? (await oldKeyState(iam, userName, rot.oldKeyId)) === 'user-gone' : false;
      if (rot.newKeyId && !userGone) {
        await iam
          .send(new UpdateAccessKeyCommand({ UserName: userName, AccessKeyId: rot.newKeyId, Status: 'Inactive' }))
          .catch(ignoreMissing);
        await iam
          .send(new DeleteAccessKeyCommand({ UserName: userName, AccessKeyId: rot.newKeyId }))
          .catch(ignoreMissing);
      }
      return endPhase(deps, r, {
        changes: { phase: 'cancelled' },
        drop: ['nextAt'],
        action: 'rotation.cancelled',
        detail: {
          newKeyId: rot.newKeyId ?? null,
          why: userGone ? 'link not opened; the IAM user was deleted outside the bot' : 'link not opened',
        },
        message: rotationCancelledMessage,
      });
    }
    default:
      return 'waiting';
  }
}

/**
 * One scheduled step of a delivered rotation, decided from its stored state (read consistently) and IAM: finishes
 * an interrupted IAM write; while the new link is unopened, waits, and once it expired or failed cancels the rotation
 * (new key deactivated and deleted, old key untouched); at the end of the grace period deactivates the old key, or,
 * if it was used after the new key was delivered, tells the owner and waits one more grace period (then
 * deactivates, or with `keys.stillInUse: escalate` asks the approval channel); at the end of the recovery period
 * deletes it. Every change is a conditional write: a second or overlapping run has no second effect.
 */
export async function advanceRotation(deps: Deps, found: AccessRequest): Promise<Advance> {
  const now = deps.clock.now();
  const r = await deps.store.requests.get(found.id);
  const rot = r?.rotation;
  if (r?.status !== 'done' || !rot?.nextAt || Date.parse(rot.nextAt) > now.getTime()) return 'waiting';
  const { policy } = deps.config;
  switch (rot.phase) {
    case 'deactivating':
    case 'reactivating':
    case 'deleting':
    case 'cancelling': {
      // A lease that ran out: the run that announced it stopped. Take it over.
      const taken = await move(deps, r, { nextAt: isoIn(deps, STEP_LEASE_MS) });
      return taken ? finishRotationStep(deps, taken) : 'lost';
    }
    case 'grace':
    case 'still-in-use': {
      // Decided from the request's own record of the link (see newKeyFate), never from a link item that is gone.
      const fate = await newKeyFate(deps, r, { record: true });
      if (fate.state === 'pending') {
        const wait = new Date(Math.max(fate.until, now.getTime() + 60_000)).toISOString();
        return (await move(deps, r, { nextAt: wait })) ? 'waiting' : 'lost';
      }
      if (fate.state === 'unopened') {
        const cancelling = await announce(deps, r, { phase: 'cancelling' }, 'system', 'rotation.cancelling');
        return cancelling ? finishRotationStep(deps, cancelling) : 'lost';
      }
      const graceEndsAt = rot.graceEndsAt ?? now.toISOString();
      if (Date.parse(graceEndsAt) > now.getTime())
        return (await move(deps, r, { nextAt: graceEndsAt })) ? 'waiting' : 'lost';
      // An old key (or user) deleted outside the bot meanwhile: nothing is left to retire.
      const state = await oldKeyState(deps.aws.account(r.account).iam, r.userName, rot.oldKeyId);
      if (isGone(state)) return endGone(deps, r, state, `UpdateAccessKey ${rot.oldKeyId} Inactive`);
      if (rot.phase === 'grace') {
        const { iam } = deps.aws.account(r.account);
        const used = await iam.send(new GetAccessKeyLastUsedCommand({ AccessKeyId: rot.oldKeyId }));
        const last = used.AccessKeyLastUsed;
        if (last?.LastUsedDate && last.LastUsedDate.getTime() > Date.parse(rot.deliveredAt ?? '')) {
          const extended = isoIn(deps, policy.keys.rotationGraceDays * DAY);
          const lastUse = {
            at: last.LastUsedDate.toISOString(),
            service: last.ServiceName ?? 'unknown',
            region: last.Region ?? 'unknown',
          };
          const next = await move(deps, r, { phase: 'still-in-use', lastUse, graceEndsAt: extended, nextAt: extended });
          if (!next) return 'lost';
          await record(deps, next, 'system', 'rotation.old-key-still-in-use', { ...lastUse, graceEndsAt: extended });
          await tell(deps, next.recipient, next, stillInUseMessage(next));
          return 'changed';
        }
      } else if (policy.keys.stillInUse === 'escalate') {
        const next = await move(deps, r, { phase: 'escalated' }, ['nextAt']);
        if (!next) return 'lost';
        await record(deps, next, 'system', 'rotation.escalated', { oldKeyId: rot.oldKeyId });
        await tell(deps, policy.approvals.channel, next, stillInUseEscalation(next));
        await tell(deps, next.recipient, next, stillInUseEscalation(next));
        return 'changed';
      }
      const deactivating = await announce(deps, r, { phase: 'deactivating' }, 'system', 'rotation.deactivating');
      return deactivating ? finishRotationStep(deps, deactivating) : 'lost';
    }
    case 'reactivated': {
      const deactivating = await announce(deps, r, { phase: 'deactivating' }, 'system', 'rotation.deactivating');
      return deactivating ? finishRotationStep(deps, deactivating) : 'lost';
    }
    case 'deactivated': {
      const deleting = await announce(deps, r, { phase: 'deleting' }, 'system', 'rotation.deleting');
      return deleting ? finishRotationStep(deps, deleting) : 'lost';
    }
    default:
      return 'waiting';
  }
}

/** The scheduled task: advances every delivered rotation whose next step is due. Safe to run again and to overlap. */
export async function advanceKeyRotations(deps: Deps): Promise<{ changed: number; failed: number }> {
  const counts = { changed: 0, failed: 0 };
  const due = (await deps.store.requests.dueForSweep(deps.clock.now())).filter(
    (r) => r.kind === 'rotate-key' && r.status === 'done',
  );
  for (const r of due) {
    try {
      if ((await advanceRotation(deps, r)) === 'changed') counts.changed += 1;
    } catch (error) {
      counts.failed += 1;
      logger.error('Advancing a key rotation failed; the next run retries', {
        requestId: r.id,
        errorName: errorName(error),
      });
    }
  }
  return counts;
}

/** The worker's half of a click: finishes the phase it announced (a duplicated delivery finds it done). */
export async function rotationStepJob(deps: Deps, requestId: string): Promise<void> {
  const r = await deps.store.requests.get(requestId);
  if (r?.kind === 'rotate-key' && r.rotation) await finishRotationStep(deps, r);
}
