/**
 * Access key rotation (`rotate-key`), as AWS describes it: create a second key, deliver it by one-time link, keep
 * the old key active for a grace period, deactivate it (later when it is still in use), let the owner reactivate it
 * once, delete it after the recovery period. It never touches a key that was not named or chosen, and a rotation
 * whose new link expires unopened deletes the new key and leaves the old one as it was.
 *
 * The rotation's state lives on its request (`rotation`), changed only by conditional writes (the request's
 * version): its delivery and its life are steps of its run on the resumable runner (rotation-delivery.ts,
 * rotation-life.ts), and the owner's clicks are signals to that run (clickRotation). `rotation#<account>#<user>`
 * points at the user's latest rotation (one at a time).
 */
import { GetUserCommand, ListAccessKeysCommand, ListUserTagsCommand } from '@aws-sdk/client-iam';
import { HOME } from '../../aws/accounts.js';
import type { Deps } from '../../deps.js';
import { BotError, ConflictError, NotAuthorizedError, ValidationError } from '../../errors.js';
import type { Job } from '../../jobs/types.js';
import { OWNER_TAG, type PlanStep } from '../../services/plans/types.js';
import { errorName, type IamSender } from '../../services/provisioning.js';
import { newRequest, submitNew } from '../../services/requests/submit.js';
import { auditEvent, type RequestDeps, type SubmitOptions } from '../../services/requests.js';
import { signalRun } from '../../services/runner/engine.js';
import { isManagedPath, managedUserPaths } from '../../services/user-projection.js';
import type { AccessRequest, RotationState } from '../../store/requests.js';

/** How long a reissue holds a rotation's life while the worker replaces its key (the worker stops after 60 s). */
export const STEP_LEASE_MS = 5 * 60_000;
const code = (s: string) => `\`${s}\``;
const KEY_ID = /^[A-Z0-9]{16,128}$/;
const USER_NAME = /^[\w+=,.@-]{1,64}$/;

/** The id of the item pointing at a user's latest key rotation: one rotation of a user at a time. */
import { rotationKey } from './reserve.js';

export { rotationKey };

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
  if (!isManagedPath(managedUserPaths(policy), path))
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
  // No key named: the only key, or of two the only active one (the inactive one is then offered for deletion).
  const active = keys.filter((k) => k.active);
  const target = draft.keyId
    ? keys.find((k) => k.id === draft.keyId)
    : keys.length === 1
      ? keys[0]
      : active.length === 1
        ? active[0]
        : undefined;
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

/**
 * Submits a checked rotation through the one submit path (submitNew) as a `rotate-key` request, stored in one
 * transaction with its audit event and the user's rotation pointer (one rotation of a user at a time: the kind's
 * `store`, ./reserve.ts), then run at once when the requester owns the user and the policy does not ask for approval,
 * else posted for approval. Throws ConflictError when another rotation of the user is under way.
 */
export async function submitRotation(
  deps: RequestDeps,
  requester: string,
  checked: CheckedRotation,
  options: SubmitOptions = {},
): Promise<{ request: AccessRequest; atOnce: boolean }> {
  const atOnce = checked.owner === requester && !deps.config.policy.keys.rotationNeedsApproval;
  const request = newRequest(
    deps,
    requester,
    {
      kind: 'rotate-key',
      plan: checked.plan,
      ...(checked.owner ? { owner: checked.owner } : {}),
      recipient: checked.owner ?? requester,
      account: checked.account,
      accountId: checked.accountId,
      userName: checked.userName,
      path: checked.path,
      groups: [],
      accessType: 'keys',
      tags: [],
      justification: `Rotate access key ${checked.oldKeyId}`,
      rotation: { oldKeyId: checked.oldKeyId, ...(checked.deleteFirst ? { deleteFirst: checked.deleteFirst } : {}) },
    },
    atOnce ? 'approved' : 'pending',
  );
  const requested = auditEvent(deps, request, requester, 'requested', {
    kind: 'rotate-key',
    userName: checked.userName,
    account: checked.account,
    oldKeyId: checked.oldKeyId,
    deleteFirst: checked.deleteFirst ?? null,
    owner: checked.owner ?? null,
    ...(atOnce ? { allowedAtOnce: 'owner' } : {}),
  });
  await submitNew(deps, request, requested, options);
  return { request, atOnce };
}

/** The rotation state with `changes` applied and `drop` removed. */
export const withRotation = (r: AccessRequest, changes: Partial<RotationState>, drop: (keyof RotationState)[] = []) => {
  const next: RotationState = { ...(r.rotation as RotationState), ...changes };
  for (const k of drop) delete next[k];
  return next;
};

/** `ms` from now, as an ISO time. */
export const isoIn = (deps: Pick<Deps, 'clock'>, ms: number) => new Date(deps.clock.now().getTime() + ms).toISOString();

/** Whether a rotation's new key reached its owner. */
export type NewKeyFate =
  | { state: 'opened' }
  /** Not opened yet, and the link works until `until` (epoch ms). */
  | { state: 'pending'; until: number }
  | { state: 'unopened'; why: string };

/**
 * Whether the new key's one-time link was opened, decided from the request (read consistently by the caller): the
 * credential page records the reveal on it (`linkOpened`), and the link's expiry is stored on it at delivery. Only
 * when the request has no record is the link item read, for a reveal whose record lags or failed: while the item
 * exists its status settles it (with `record`, an opening found there is written to the request). A missing link
 * item (DynamoDB's TTL deletes it some days after it ends) is never taken as an opening nor, before the stored
 * expiry, as its absence; for a request stored before it recorded its link, the link's audit events decide. A
 * reported reveal ("This wasn't me") counts as unopened, as before.
 */
export async function newKeyFate(
  deps: Pick<Deps, 'store' | 'clock'>,
  r: AccessRequest,
  options: { record?: boolean } = {},
): Promise<NewKeyFate> {
  if (!r.linkId) return { state: 'unopened', why: 'no link was delivered' };
  const recorded = r.linkOpened?.linkId === r.linkId ? r.linkOpened : undefined;
  if (recorded) return recorded.revokedAt ? { state: 'unopened', why: 'reported' } : { state: 'opened' };
  const link = await deps.store.links.getByLinkId(r.linkId);
  if (link) {
    if (link.status === 'opened') {
      if (options.record)
        await deps.store.requests.recordLinkOpened(r.id, {
          linkId: link.linkId,
          at: new Date(link.openedAt ?? deps.clock.now().getTime()).toISOString(),
        });
      return { state: 'opened' };
    }
    if (link.status === 'pending') return { state: 'pending', until: link.expiresAt };
    return { state: 'unopened', why: `link ${link.status}` };
  }
  if (r.rotation?.linkExpiresAt) {
    const expires = Date.parse(r.rotation.linkExpiresAt);
    if (expires > deps.clock.now().getTime()) return { state: 'pending', until: expires };
    return { state: 'unopened', why: 'link not opened' };
  }
  // A rotation delivered before the request recorded its link (an item of the older shape): the link's own audit
  // trail, kept far longer than the link item, says whether it was revealed or reported.
  const actions = (await deps.store.audit.list(`link#${r.linkId}`, { consistent: true })).map((e) => e.action);
  if (actions.includes('credentials.revoked')) return { state: 'unopened', why: 'reported' };
  const opened = actions.includes('credentials.opened');
  if (opened && options.record)
    await deps.store.requests.recordLinkOpened(r.id, { linkId: r.linkId, at: deps.clock.now().toISOString() });
  return opened ? { state: 'opened' } : { state: 'unopened', why: 'link not opened' };
}

/** A click in the owner's DM: "I've switched" or "Reactivate". */
export type RotationClick = 'switched' | 'reactivate';

/**
 * The Slack side of the owner's buttons, a signal to the rotation's run, re-authorized from the stored request (never
 * the payload): only the owner the key went to; "I've switched" only while the old key is active and the new key's
 * link was opened; Reactivate only while deactivated, once, before the recovery period ends. One conditional write:
 * the fact the run's wait step reads (the phase asked for, and when) with its audit event, in one transaction, which
 * also wakes the run (see signalRun); the worker does the IAM write. Returns the job to hand over (none when a part
 * of the run is running: it decides again from the fact).
 */
export async function clickRotation(
  deps: Pick<Deps, 'store' | 'clock'>,
  requestId: string,
  user: string,
  click: RotationClick,
): Promise<{ request: AccessRequest; job?: Job }> {
  const r = await deps.store.requests.get(requestId);
  const rot = r?.rotation;
  if (r?.kind !== 'rotate-key' || !rot) throw new NotAuthorizedError('There is no such key rotation.');
  if (user !== r.recipient)
    throw new NotAuthorizedError(`Only ${`<@${r.recipient}>`}, who received the new key, can do this.`);
  const now = deps.clock.now();
  const signal = async (changes: Partial<RotationState>, action: string) => {
    const rotation = withRotation(r, { ...changes, phaseAt: now.toISOString() });
    const next = await signalRun(deps, r, { rotation }, (n) => [
      deps.store.audit.transactionItem(
        auditEvent(deps, n, user, action, { phase: rotation.phase ?? null, oldKeyId: rotation.oldKeyId }),
      ),
    ]);
    if (!next) throw new ConflictError('The rotation changed just now; look at your latest DM.');
    return next;
  };
  if (click === 'switched') {
    if (r.status !== 'done' || !['grace', 'still-in-use', 'reactivated'].includes(rot.phase ?? ''))
      throw new ConflictError(
        `The old key ${code(rot.oldKeyId)} is not active under this rotation any more (${rot.phase ?? r.status}).`,
      );
    if ((await newKeyFate(deps, r)).state !== 'opened')
      throw new ConflictError('Open the one-time link with the new key first: until then the old key stays as it is.');
    return signal({ phase: 'deactivating' }, 'rotation.switched');
  }
  if (rot.phase !== 'deactivated')
    throw new ConflictError(`The old key ${code(rot.oldKeyId)} is not deactivated (${rot.phase ?? r.status}).`);
  if (rot.reactivated)
    throw new ConflictError(`The old key ${code(rot.oldKeyId)} was reactivated once already: it cannot be again.`);
  if (rot.deleteAt && Date.parse(rot.deleteAt) <= now.getTime())
    throw new ConflictError('The recovery period is over: the old key is being deleted.');
  return signal({ phase: 'reactivating', reactivated: true }, 'rotation.reactivate');
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
