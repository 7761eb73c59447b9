/**
 * Access key rotation (`rotate-key`), as AWS describes it: create a second key, deliver it by one-time link, keep
 * the old key active for a grace period, deactivate it (later when it is still in use), let the owner reactivate it
 * once, delete it after the recovery period. It never touches a key that was not named or chosen, and a rotation
 * whose new link expires unopened deletes the new key and leaves the old one as it was.
 *
 * The rotation's state lives on its request (`rotation`), changed only by conditional writes (the request's
 * version); an IAM write is announced by an `-ing` phase first, so a rerun finishes it and overlapping runs have
 * one effect. `rotation#<account>#<user>` points at the user's latest rotation (one at a time).
 */
import {
  CreateAccessKeyCommand,
  DeleteAccessKeyCommand,
  GetAccessKeyLastUsedCommand,
  GetUserCommand,
  ListAccessKeysCommand,
  ListUserTagsCommand,
  UpdateAccessKeyCommand,
} from '@aws-sdk/client-iam';
import { HOME } from '../../aws/accounts.js';
import {
  oldKeyDeactivatedMessage,
  oldKeyDeletedMessage,
  oldKeyReactivatedMessage,
  rotationCancelledMessage,
  rotationStartedMessage,
  stillInUseEscalation,
  stillInUseMessage,
} from '../../blocks/rotation.js';
import type { Deps } from '../../deps.js';
import { BotError, ConflictError, NotAuthorizedError, ValidationError } from '../../errors.js';
import { logger } from '../../logger.js';
import { type AccessRequest, type RotationState, rotationKey } from '../../store/requests.js';
import { deliverCredentials } from '../credentials.js';
import { OWNER_TAG, type PlanStep } from '../plans/types.js';
import type { ProvisionOutcome } from '../provision-request.js';
import { errorName, type IamSender } from '../provisioning.js';
import {
  abandonAtFrom,
  auditEvent,
  auditSubject,
  publishRequest,
  publishRequestJob,
  type RequestDeps,
  type SubmitOptions,
  startProvisioning,
  syncApprovalMessage,
  tell,
  tellRequester,
} from '../requests.js';
import { managedPaths } from './run-change.js';

const DAY = 86_400_000;
/** How long an `-ing` phase owns its IAM write before a rerun takes it over (the worker stops after 60 s). */
const STEP_LEASE_MS = 5 * 60_000;
const code = (s: string) => `\`${s}\``;
const KEY_ID = /^[A-Z0-9]{16,128}$/;
const USER_NAME = /^[\w+=,.@-]{1,64}$/;

/** A rotation as typed: `/iam rotate-key <user> [key-id] [--account name]`, and the inactive key chosen for deletion. */
export interface RotationDraft {
  userName?: string;
  keyId?: string;
  account?: string;
  /** The inactive key the requester chose to delete first (the button). */
  deleteFirst?: string;
}

interface KeyInfo {
  id: string;
  active: boolean;
}

/** A rotation that passed every check. */
export interface CheckedRotation {
  userName: string;
  account: string;
  accountId: string;
  path: string;
  owner?: string;
  oldKeyId: string;
  deleteFirst?: string;
  plan: PlanStep[];
}

export type RotationCheck =
  | { kind: 'ok'; rotation: CheckedRotation }
  /** The user's other key is inactive: offer to delete it first (never without a click). */
  | { kind: 'offer-delete'; userName: string; account: string; keyId: string; inactiveKeyId: string };

const refuse = (message: string) => new ValidationError(message, { rotation: message });

async function listKeys(iam: IamSender, userName: string): Promise<KeyInfo[]> {
  const out = await iam.send(new ListAccessKeysCommand({ UserName: userName }));
  return (out.AccessKeyMetadata ?? []).map((k: { AccessKeyId?: string; Status?: string }) => ({
    id: k.AccessKeyId ?? '',
    active: k.Status === 'Active',
  }));
}

/**
 * Checks a rotation before anything is stored: the user exists under a managed path, the key (named, or implied
 * when the user has one) is one of the user's and active, and there is room for a new key (IAM allows two): a second
 * key that is inactive is offered for deletion first, two active keys are refused naming the one to retire. Reads
 * only (GetUser, ListUserTags, ListAccessKeys). Throws ValidationError with the reason.
 */
export async function checkRotation(deps: Pick<Deps, 'config' | 'aws'>, draft: RotationDraft): Promise<RotationCheck> {
  const { policy } = deps.config;
  const account = draft.account ?? HOME;
  const userName = draft.userName?.trim() ?? '';
  if (account !== HOME && !policy.accounts.some((a) => a.name === account))
    throw refuse(`There is no account ${code(account)} in the policy.`);
  if (!USER_NAME.test(userName)) throw refuse('Name the IAM user whose key to rotate.');
  if (draft.keyId !== undefined && !KEY_ID.test(draft.keyId))
    throw refuse(`${code(draft.keyId)} is not an access key id (like \`AKIA...\`).`);
  const { iam } = deps.aws.account(account);
  const cannot = (what: string) => (error: unknown) => {
    throw new BotError(`I cannot ${what} in account ${account} (${errorName(error)}).`, { cause: error });
  };
  const [identity, user] = await Promise.all([
    deps.aws.callerIdentity(account).catch(cannot('act')),
    iam.send(new GetUserCommand({ UserName: userName })).then(
      (out) => out.User,
      (error: unknown) => (errorName(error) === 'NoSuchEntity' ? undefined : cannot('read IAM users')(error)),
    ),
  ]);
  const accountId = identity.Account ?? '';
  if (!user) throw refuse(`There is no IAM user ${code(userName)} in ${account} (${accountId}).`);
  const path = user.Path ?? '/';
  if (!managedPaths(policy).includes(path))
    throw refuse(`IAM user ${code(userName)} is at path ${code(path)}, outside the paths the bot manages.`);
  const [keys, tags] = await Promise.all([
    listKeys(iam, userName).catch(cannot(`list the keys of ${userName}`)),
    iam.send(new ListUserTagsCommand({ UserName: userName })).catch(cannot(`read IAM user ${userName}`)),
  ]);
  const ownerTag = (tags.Tags ?? []).find((t: { Key?: string }) => t.Key === OWNER_TAG)?.Value;
  const owner = ownerTag && /^[UW][A-Z0-9]{2,}$/.test(ownerTag) ? ownerTag : undefined;
  const listing = keys.map((k) => `${code(k.id)} (${k.active ? 'active' : 'inactive'})`).join(' and ');
  if (draft.keyId && !keys.some((k) => k.id === draft.keyId))
    throw refuse(
      `${code(draft.keyId)} is not an access key of IAM user ${code(userName)}: I rotate only a key of the user named.`,
    );
  if (!keys.length) throw refuse(`IAM user ${code(userName)} has no access key to rotate.`);
  const target = draft.keyId ? keys.find((k) => k.id === draft.keyId) : keys.length === 1 ? keys[0] : undefined;
  if (!target)
    throw refuse(
      `IAM user ${code(userName)} has two access keys, ${listing}: name the one to rotate (\`/iam rotate-key ${userName} <key-id>\`).`,
    );
  if (!target.active)
    throw refuse(`Access key ${code(target.id)} is inactive: there is nothing to rotate. Delete it instead.`);
  const other = keys.find((k) => k.id !== target.id);
  let deleteFirst: string | undefined;
  if (other?.active)
    throw refuse(
      `IAM user ${code(userName)} has two active access keys, ${listing}, and IAM allows no third. Retire ${code(other.id)} first (deactivate it, then delete it), then rotate ${code(target.id)}. Nothing was changed.`,
    );
  if (other) {
    if (draft.deleteFirst !== other.id)
      return { kind: 'offer-delete', userName, account, keyId: target.id, inactiveKeyId: other.id };
    deleteFirst = other.id;
  }
  const plan: PlanStep[] = [
    ...(deleteFirst ? [{ op: 'DeleteAccessKey' as const, userName, accessKeyId: deleteFirst }] : []),
    { op: 'CreateAccessKey', userName },
    { op: 'RotateOutAccessKey', userName, accessKeyId: target.id },
  ];
  return {
    kind: 'ok',
    rotation: {
      userName,
      account,
      accountId,
      path,
      ...(owner ? { owner } : {}),
      oldKeyId: target.id,
      ...(deleteFirst ? { deleteFirst } : {}),
      plan,
    },
  };
}

/** Whether a rotation has ended (a new one of the same user may start). */
const rotationEnded = (r: AccessRequest | undefined) =>
  !r ||
  ['denied', 'expired', 'abandoned'].includes(r.status) ||
  (r.status === 'done' && ['deleted', 'cancelled', 'escalated'].includes(r.rotation?.phase ?? ''));

/**
 * Stores a checked rotation as a `rotate-key` request (one transaction with its audit event and the user's rotation
 * pointer: one rotation of a user at a time), then runs it at once when the requester owns the user and the policy
 * does not ask for approval, else posts it for approval. Throws ConflictError when another rotation of the user is
 * under way.
 */
export async function submitRotation(
  deps: RequestDeps,
  requester: string,
  checked: CheckedRotation,
  options: SubmitOptions = {},
): Promise<{ request: AccessRequest; atOnce: boolean }> {
  const { policy } = deps.config;
  const now = deps.clock.now();
  const atOnce = checked.owner === requester && !policy.keys.rotationNeedsApproval;
  const request: AccessRequest = {
    id: `req-${deps
      .randomToken()
      .replace(/[^A-Za-z0-9]/g, '')
      .slice(0, 12)}`,
    kind: 'rotate-key',
    plan: checked.plan,
    ...(checked.owner ? { owner: checked.owner } : {}),
    status: atOnce ? 'approved' : 'pending',
    requester,
    recipient: checked.owner ?? requester,
    account: checked.account,
    accountId: checked.accountId,
    userName: checked.userName,
    path: checked.path,
    groups: [],
    accessType: 'keys',
    tags: [],
    justification: `Rotate access key ${checked.oldKeyId}`,
    approvals: [],
    attempt: 1,
    credentialIssue: 0,
    rotation: { oldKeyId: checked.oldKeyId, ...(checked.deleteFirst ? { deleteFirst: checked.deleteFirst } : {}) },
    createdAt: now.toISOString(),
    expiresAt: new Date(now.getTime() + policy.requests.lifetimeHours * 3_600_000).toISOString(),
    updatedAt: now.toISOString(),
    version: 0,
  };
  const audited = deps.store.audit.transactionItem(
    auditEvent(deps, request, requester, 'requested', {
      kind: 'rotate-key',
      userName: checked.userName,
      account: checked.account,
      oldKeyId: checked.oldKeyId,
      deleteFirst: checked.deleteFirst ?? null,
      owner: checked.owner ?? null,
      ...(atOnce ? { allowedAtOnce: 'owner' } : {}),
    }),
  );
  const pointer = rotationKey(checked.account, checked.userName);
  const holder = await deps.store.requests.holderOf(pointer);
  const previous = holder ? await deps.store.requests.get(holder) : undefined;
  if (holder && !rotationEnded(previous))
    throw new ConflictError(
      `A rotation of IAM user ${code(checked.userName)} is under way (\`${holder}\`): it must end before another starts.`,
    );
  const stored = await deps.store.requests.createReserving(request, [audited], holder, pointer);
  if (!stored.reserved)
    throw new ConflictError(`Another rotation of IAM user ${code(checked.userName)} started just now.`);
  if (atOnce) {
    await startProvisioning(deps, request, requester, true);
    return { request, atOnce };
  }
  try {
    await deps.dispatcher.dispatch(publishRequestJob(request, options));
  } catch (error) {
    logger.error('Could not hand the posting of a rotation to the worker; posting it here', {
      requestId: request.id,
      errorName: errorName(error),
    });
    await publishRequest(deps, request.id, options);
  }
  return { request, atOnce };
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

const withRotation = (r: AccessRequest, changes: Partial<RotationState>, drop: (keyof RotationState)[] = []) => {
  const next: RotationState = { ...(r.rotation as RotationState), ...changes };
  for (const k of drop) delete next[k];
  return next;
};

/**
 * The worker's run of an approved rotation: claims it (approved -> provisioning; a duplicated delivery is skipped),
 * lists the user's keys again and refuses what changed meanwhile (the old key gone or inactive, no room), deletes
 * the chosen inactive key if it is still there and inactive, creates the new key and delivers it by one-time link,
 * then starts the grace period and DMs the owner. A failure after CreateAccessKey deletes the new key again; the
 * old key is never changed here.
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
  if (found.status === 'approved') {
    await record(deps, request, 'system', 'provisioning-started', { attempt });
    await syncApprovalMessage(deps, request);
    if (options.announce) await tellRequester(deps, request);
  }
  const rot = request.rotation as RotationState;
  const { iam } = deps.aws.account(request.account);
  let newKey: { accessKeyId: string; secretAccessKey: string } | undefined;
  try {
    let keys = await listKeys(iam, request.userName);
    // A key an earlier attempt created but never delivered is this rotation's own: delete it.
    if (rot.newKeyId && keys.some((k) => k.id === rot.newKeyId)) {
      await iam.send(new DeleteAccessKeyCommand({ UserName: request.userName, AccessKeyId: rot.newKeyId }));
      await record(deps, request, 'system', 'step-undone', {
        step: `CreateAccessKey ${rot.newKeyId} (never delivered)`,
      });
    }
    keys = keys.filter((k) => k.id !== rot.newKeyId);
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
    const out = await iam.send(new CreateAccessKeyCommand({ UserName: request.userName }));
    if (!out.AccessKey?.AccessKeyId || !out.AccessKey.SecretAccessKey)
      throw new Error('CreateAccessKey returned no key');
    newKey = { accessKeyId: out.AccessKey.AccessKeyId, secretAccessKey: out.AccessKey.SecretAccessKey };
  } catch (error) {
    return fail(deps, request, `rotating failed (${errorName(error)})`);
  }
  const withKey = await store.update(
    request,
    { rotation: withRotation(request, { newKeyId: newKey.accessKeyId }) },
    deps.clock.now(),
  );
  if (!withKey) throw new Error(`Request ${requestId} changed while it was running`);
  await record(deps, withKey, 'system', 'step-done', {
    step: `CreateAccessKey ${request.userName}`,
    newKeyId: newKey.accessKeyId,
  });
  let linkId: string;
  try {
    const delivered = await deliverCredentials(deps, {
      deliveryKey: `rotate:${withKey.id}:${withKey.attempt}`,
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
  } catch (error) {
    await iam
      .send(new DeleteAccessKeyCommand({ UserName: withKey.userName, AccessKeyId: newKey.accessKeyId }))
      .catch((e: unknown) =>
        logger.error('Could not delete an undelivered rotation key', { requestId, errorName: errorName(e) }),
      );
    return fail(deps, withKey, `delivering the new key failed (${errorName(error)}); the new key was deleted`);
  }
  const now = deps.clock.now();
  const graceEndsAt = new Date(now.getTime() + deps.config.policy.keys.rotationGraceDays * DAY).toISOString();
  const done = await store.update(
    withKey,
    {
      status: 'done',
      linkId,
      rotation: withRotation(withKey, {
        phase: 'grace',
        deliveredAt: now.toISOString(),
        graceEndsAt,
        nextAt: now.toISOString(),
      }),
    },
    now,
  );
  if (!done) throw new Error(`Request ${requestId} changed while it was running`);
  await record(deps, done, 'system', 'rotation.key-delivered', { newKeyId: newKey.accessKeyId, linkId, graceEndsAt });
  await syncApprovalMessage(deps, done);
  await tell(deps, done.recipient, done, rotationStartedMessage(done));
  if (done.requester !== done.recipient) await tellRequester(deps, done);
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

const isoIn = (deps: Pick<Deps, 'clock'>, ms: number) => new Date(deps.clock.now().getTime() + ms).toISOString();
const ignoreMissing = (error: unknown) => {
  if (errorName(error) !== 'NoSuchEntity') throw error;
};

/**
 * Finishes the IAM write an `-ing` phase announced (idempotent: deactivating, reactivating, deleting a key twice is
 * harmless), then writes the phase it leads to and tells the owner. The final write is conditional: of two runs
 * finishing the same phase, one tells the owner.
 */
export async function finishRotationStep(deps: Deps, r: AccessRequest): Promise<Advance> {
  const rot = r.rotation as RotationState;
  const { iam } = deps.aws.account(r.account);
  const now = deps.clock.now();
  const userName = r.userName;
  switch (rot.phase) {
    case 'deactivating': {
      await iam.send(new UpdateAccessKeyCommand({ UserName: userName, AccessKeyId: rot.oldKeyId, Status: 'Inactive' }));
      const deleteAt = isoIn(deps, deps.config.policy.keys.recoveryDays * DAY);
      const next = await move(deps, r, {
        phase: 'deactivated',
        deactivatedAt: now.toISOString(),
        deleteAt,
        nextAt: deleteAt,
      });
      if (!next) return 'lost';
      await record(deps, next, 'system', 'rotation.old-key-deactivated', { oldKeyId: rot.oldKeyId, deleteAt });
      await tell(deps, next.recipient, next, oldKeyDeactivatedMessage(next));
      return 'changed';
    }
    case 'reactivating': {
      await iam.send(new UpdateAccessKeyCommand({ UserName: userName, AccessKeyId: rot.oldKeyId, Status: 'Active' }));
      const graceEndsAt = isoIn(deps, deps.config.policy.keys.rotationGraceDays * DAY);
      const next = await move(deps, r, { phase: 'reactivated', graceEndsAt, nextAt: graceEndsAt }, [
        'deleteAt',
        'deactivatedAt',
      ]);
      if (!next) return 'lost';
      await record(deps, next, 'system', 'rotation.old-key-reactivated', { oldKeyId: rot.oldKeyId, graceEndsAt });
      await tell(deps, next.recipient, next, oldKeyReactivatedMessage(next));
      return 'changed';
    }
    case 'deleting': {
      await iam
        .send(new DeleteAccessKeyCommand({ UserName: userName, AccessKeyId: rot.oldKeyId }))
        .catch(ignoreMissing);
      const next = await move(deps, r, { phase: 'deleted' }, ['nextAt']);
      if (!next) return 'lost';
      await record(deps, next, 'system', 'rotation.old-key-deleted', { oldKeyId: rot.oldKeyId });
      await tell(deps, next.recipient, next, oldKeyDeletedMessage(next));
      return 'changed';
    }
    case 'cancelling': {
      if (rot.newKeyId) {
        await iam
          .send(new UpdateAccessKeyCommand({ UserName: userName, AccessKeyId: rot.newKeyId, Status: 'Inactive' }))
          .catch(ignoreMissing);
        await iam
          .send(new DeleteAccessKeyCommand({ UserName: userName, AccessKeyId: rot.newKeyId }))
          .catch(ignoreMissing);
      }
      const next = await move(deps, r, { phase: 'cancelled' }, ['nextAt']);
      if (!next) return 'lost';
      await record(deps, next, 'system', 'rotation.cancelled', {
        newKeyId: rot.newKeyId ?? null,
        why: 'link not opened',
      });
      await tell(deps, next.recipient, next, rotationCancelledMessage(next));
      return 'changed';
    }
    default:
      return 'waiting';
  }
}

/** Announces an IAM write (an `-ing` phase, leased), with its audit event in the same transaction. */
async function announce(
  deps: Pick<Deps, 'store' | 'clock'>,
  r: AccessRequest,
  changes: Partial<RotationState>,
  actor: string,
  action: string,
) {
  const rotation = withRotation(r, { ...changes, nextAt: isoIn(deps, STEP_LEASE_MS) });
  return deps.store.requests.update(r, { rotation }, deps.clock.now(), [], (next) => [
    deps.store.audit.transactionItem(
      auditEvent(deps, next, actor, action, { phase: rotation.phase ?? null, oldKeyId: rotation.oldKeyId }),
    ),
  ]);
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
  if (!r || r.status !== 'done' || !rot?.nextAt || Date.parse(rot.nextAt) > now.getTime()) return 'waiting';
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
      const link = r.linkId ? await deps.store.links.getByLinkId(r.linkId) : undefined;
      if (link && link.status === 'pending') {
        const wait = new Date(Math.max(link.expiresAt, now.getTime() + 60_000)).toISOString();
        return (await move(deps, r, { nextAt: wait })) ? 'waiting' : 'lost';
      }
      if (!link || link.status !== 'opened') {
        const cancelling = await announce(deps, r, { phase: 'cancelling' }, 'system', 'rotation.cancelling');
        return cancelling ? finishRotationStep(deps, cancelling) : 'lost';
      }
      const graceEndsAt = rot.graceEndsAt ?? now.toISOString();
      if (Date.parse(graceEndsAt) > now.getTime())
        return (await move(deps, r, { nextAt: graceEndsAt })) ? 'waiting' : 'lost';
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

/** A click in the owner's DM: "I've switched" or "Reactivate". */
export type RotationClick = 'switched' | 'reactivate';

/**
 * The Slack side of the owner's buttons, re-authorized from the stored request (never the payload): only the owner
 * the key went to; "I've switched" only while the old key is active and the new key's link was opened; Reactivate
 * only while deactivated, once, before the recovery period ends. One conditional write (phase and audit event in one
 * transaction); the worker does the IAM write (see finishRotationStep). Returns the job to hand over.
 */
export async function clickRotation(
  deps: Pick<Deps, 'store' | 'clock'>,
  requestId: string,
  user: string,
  click: RotationClick,
): Promise<{ request: AccessRequest; version: number }> {
  const r = await deps.store.requests.get(requestId);
  const rot = r?.rotation;
  if (!r || r.kind !== 'rotate-key' || !rot) throw new NotAuthorizedError('There is no such key rotation.');
  if (user !== r.recipient)
    throw new NotAuthorizedError(`Only ${`<@${r.recipient}>`}, who received the new key, can do this.`);
  const now = deps.clock.now();
  if (click === 'switched') {
    if (r.status !== 'done' || !['grace', 'still-in-use', 'reactivated'].includes(rot.phase ?? ''))
      throw new ConflictError(
        `The old key ${code(rot.oldKeyId)} is not active under this rotation any more (${rot.phase ?? r.status}).`,
      );
    const link = r.linkId ? await deps.store.links.getByLinkId(r.linkId) : undefined;
    if (link?.status !== 'opened')
      throw new ConflictError('Open the one-time link with the new key first: until then the old key stays as it is.');
    const next = await announce(deps, r, { phase: 'deactivating' }, user, 'rotation.switched');
    if (!next) throw new ConflictError('The rotation changed just now; look at your latest DM.');
    return { request: next, version: next.version };
  }
  if (rot.phase !== 'deactivated')
    throw new ConflictError(`The old key ${code(rot.oldKeyId)} is not deactivated (${rot.phase ?? r.status}).`);
  if (rot.reactivated)
    throw new ConflictError(`The old key ${code(rot.oldKeyId)} was reactivated once already: it cannot be again.`);
  if (rot.deleteAt && Date.parse(rot.deleteAt) <= now.getTime())
    throw new ConflictError('The recovery period is over: the old key is being deleted.');
  const next = await announce(deps, r, { phase: 'reactivating', reactivated: true }, user, 'rotation.reactivate');
  if (!next) throw new ConflictError('The rotation changed just now; look at your latest DM.');
  return { request: next, version: next.version };
}

/** The worker's half of a click: finishes the phase it announced (a duplicated delivery finds it done). */
export async function rotationStepJob(deps: Deps, requestId: string): Promise<void> {
  const r = await deps.store.requests.get(requestId);
  if (r?.kind === 'rotate-key' && r.rotation) await finishRotationStep(deps, r);
}

/** What `/iam user` and App Home show of a user's key rotation: its latest one, if any. */
export interface RotationView {
  requestId: string;
  status: AccessRequest['status'];
  phase?: RotationState['phase'];
  oldKeyId: string;
  newKeyId?: string;
  graceEndsAt?: string;
  deleteAt?: string;
  nextAt?: string;
  lastUse?: RotationState['lastUse'];
}

/** The latest key rotation of an IAM user (two consistent reads), or undefined if it was never rotated by the bot. */
export async function rotationStateOf(
  deps: Pick<Deps, 'store'>,
  account: string,
  userName: string,
): Promise<RotationView | undefined> {
  const id = await deps.store.requests.holderOf(rotationKey(account, userName));
  const r = id ? await deps.store.requests.get(id) : undefined;
  if (!r?.rotation) return undefined;
  const { phase, oldKeyId, newKeyId, graceEndsAt, deleteAt, nextAt, lastUse } = r.rotation;
  return {
    requestId: r.id,
    status: r.status,
    ...(phase ? { phase } : {}),
    oldKeyId,
    ...(newKeyId ? { newKeyId } : {}),
    ...(graceEndsAt ? { graceEndsAt } : {}),
    ...(deleteAt ? { deleteAt } : {}),
    ...(nextAt ? { nextAt } : {}),
    ...(lastUse ? { lastUse } : {}),
  };
}
