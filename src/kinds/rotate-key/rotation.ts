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
import type { Deps } from '../../deps.js';
import { ConflictError, NotAuthorizedError } from '../../errors.js';
import type { Job } from '../../jobs/types.js';
import { newRequest, submitNew } from '../../services/requests/submit.js';
import { auditEvent, type RequestDeps, type SubmitOptions } from '../../services/requests.js';
import { signalRun } from '../../services/runner/engine.js';
import type { AccessRequest, RotationState } from '../../store/requests.js';
import { type CheckedRotation, checkRotationLocally, type RotationDraft } from './check.js';

/** How long a reissue holds a rotation's life while the worker replaces its key (the worker stops after 60 s). */
export const STEP_LEASE_MS = 5 * 60_000;
const code = (s: string) => `\`${s}\``;

/** The id of the item pointing at a user's latest key rotation: one rotation of a user at a time. */
import { rotationKey } from './reserve.js';

export type { CheckedRotation, RotationCheck, RotationDraft } from './check.js';
export { checkRotation } from './check.js';
export { rotationKey };

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

/**
 * Submits a rotation as typed (`/iam rotate-key`), checked without the network (checkRotationLocally), through the
 * one submit path (submitNew): a pending `rotate-key` request stored with its audit event and the user's rotation
 * pointer (one rotation of a user at a time), handed to the worker, which asks IAM (the kind's verify step,
 * verifyRotation) and then posts it for approval, runs it at once (the requester owns the user and the policy allows
 * it), or ends it with the refusal or the offer to delete an inactive key first; each is the command's one answer
 * (`responseUrl`). So the command answers after the pointer's read, one transactional write and the hand-off.
 * Throws ValidationError (a malformed draft) or ConflictError (another rotation of the user is under way); nothing is
 * stored then.
 */
export async function submitTypedRotation(
  deps: RequestDeps,
  requester: string,
  draft: RotationDraft,
  options: SubmitOptions = {},
): Promise<AccessRequest> {
  const { account, userName } = checkRotationLocally(deps.config.policy, draft);
  const request = newRequest(deps, requester, {
    kind: 'rotate-key',
    plan: [],
    recipient: requester,
    account,
    accountId: '', // asked by the worker (verifyRotation), with the path, the owner, the key and the plan
    userName,
    path: '',
    groups: [],
    accessType: 'keys',
    tags: [],
    justification: draft.keyId ? `Rotate access key ${draft.keyId}` : 'Rotate the access key',
    rotation: { oldKeyId: draft.keyId ?? '' },
  });
  const requested = auditEvent(deps, request, requester, 'requested', {
    kind: 'rotate-key',
    userName,
    account,
    oldKeyId: draft.keyId ?? null,
    checkedBy: 'worker',
  });
  return submitNew(deps, request, requested, options);
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

/**
 * The latest key rotation of an IAM user (two consistent reads), or undefined if it was never rotated by the bot (a
 * rotation refused by IAM's check, or not checked yet, does not count).
 */
export async function rotationStateOf(
  deps: Pick<Deps, 'store'>,
  account: string,
  userName: string,
): Promise<RotationView | undefined> {
  const id = await deps.store.requests.holderOf(rotationKey(account, userName));
  const r = id ? await deps.store.requests.get(id) : undefined;
  // a rotation IAM never confirmed (stored by the command, then refused by the worker's check) is no rotation of it
  if (!r?.rotation || !r.accountId) return undefined;
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
