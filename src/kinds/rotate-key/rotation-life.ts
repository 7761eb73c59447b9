/**
 * A key rotation's life after its delivery, as steps of its run on the resumable runner (after the delivery's commit:
 * the run's tail, see rotation-delivery.ts). Every step decides from durable facts recorded on the request, never
 * from a phase written before its effect:
 * - `grace` (wait): while the new key's link is unopened and valid, or the grace period runs, it sleeps (the
 *   runner's sweep wakes it; the owner's "I've switched" wakes it at once). Then it decides, recording the decision
 *   in its checkpoint: cancel (link expired or reported), deactivate (grace over, or the owner switched), wait one
 *   more grace period (the old key was used after delivery: `still-in-use`), or escalate (still in use again, with
 *   `keys.stillInUse: escalate`).
 * - `deactivate`, `reactivate`, `delete`, `cancel` (op): one IAM write each, idempotent; a key or user deleted
 *   outside the bot ends the step as done for the rotation (`skipped`, gone) and the owner is told.
 * - `recovery` (wait): the old key is inactive until the recovery period ends (then `delete`), or until the owner's
 *   Reactivate (then `reactivate`, once).
 * - `tell` (notify): one DM per step, after the checkpoint that recorded what it tells: a killed part resumes at the
 *   DM, so none is lost (a DM is doubled only when the kill falls between the post and its checkpoint).
 * Signals (clickRotation in rotation.ts) write their fact (the phase the owner asked for) and wake the run.
 */
import {
  DeleteAccessKeyCommand,
  GetAccessKeyLastUsedCommand,
  GetUserCommand,
  ListAccessKeysCommand,
  UpdateAccessKeyCommand,
} from '@aws-sdk/client-iam';
import {
  oldKeyDeactivatedMessage,
  oldKeyDeletedMessage,
  oldKeyGoneMessage,
  oldKeyReactivatedMessage,
  rotationCancelledMessage,
  stillInUseEscalation,
  stillInUseMessage,
} from '../../blocks/rotation.js';
import type { Deps } from '../../deps.js';
import type { OutgoingMessage } from '../../services/ports.js';
import { errorName, type IamSender } from '../../services/provisioning.js';
import { auditEvent, tell } from '../../services/requests.js';
import { runNext } from '../../services/runner/engine.js';
import type { AuditDetail, StepOutcome } from '../../services/runner/types.js';
import { userChanged } from '../../services/user-changes.js';
import type { AccessRequest, RotationState, RunStep } from '../../store/requests.js';
import { newKeyFate, withRotation } from './rotation.js';

const DAY = 86_400_000;
/** The shortest sleep of a wait step (a link that expires within it is looked at again after it). */
const MIN_WAIT_MS = 60_000;

/** The life's steps (args: the old key, for the audit line). */
const life = (op: string, rot: RotationState, t: RunStep['t'] = 'op', args: Record<string, string> = {}): RunStep => ({
  t,
  op,
  args: { oldKeyId: rot.oldKeyId, ...args },
});
/** The steps a step's decision adds right after it (StepOutcome.then). */
const next = (then: RunStep[]): Pick<StepOutcome, 'then'> => ({ then });
const notify = (rot: RotationState, message: TellWhat) => life('tell', rot, 'notify', { message });

/** The first step of a delivered rotation's life: the grace period. */
export const lifeSteps = (rot: RotationState): RunStep[] => [life('grace', rot, 'wait')];

/** The ops of the life, for the kind's step switch. */
export const LIFE_OPS = ['grace', 'recovery', 'deactivate', 'reactivate', 'delete', 'cancel', 'tell'];

type OldKeyState = 'active' | 'inactive' | 'key-gone' | 'user-gone';

async function listKeys(iam: IamSender, userName: string): Promise<{ id: string; active: boolean }[]> {
  const out = await iam.send(new ListAccessKeysCommand({ UserName: userName }));
  return (out.AccessKeyMetadata ?? []).map((k: { AccessKeyId?: string; Status?: string }) => ({
    id: k.AccessKeyId ?? '',
    active: k.Status === 'Active',
  }));
}

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
 * The old key (or its whole user) was deleted outside the bot: the step is done for the rotation (`skipped`, gone),
 * the rotation has ended (its user's rotation pointer lets a new one start), and the next step tells the owner.
 */
function endGone(gone: 'key-gone' | 'user-gone', rot: RotationState): StepOutcome {
  const what =
    gone === 'user-gone' ? 'the IAM user was deleted outside the bot' : 'the old key was deleted outside the bot';
  return {
    result: 'skipped',
    detail: `gone: ${what}`,
    changes: (r) => ({
      rotation: withRotation(r, { phase: 'deleted', gone: gone === 'user-gone' ? 'user' : 'key' }, ['nextAt']),
    }),
    ...next([notify(rot, 'gone')]),
  };
}

/** When the decision that led to the current `-ing` phase was recorded (it dates deleteAt and graceEndsAt). */
const phaseStart = (deps: Pick<Deps, 'clock'>, rot: RotationState) =>
  Date.parse(rot.phaseAt ?? '') || deps.clock.now().getTime();

const decided = (action: string, detail: AuditDetail) => ({ action, detail });

/** The `deactivate` chain the grace step leads to (its decision recorded with `phase: deactivating`). */
function toDeactivate(deps: Deps, rot: RotationState, action: string, detail: AuditDetail): StepOutcome {
  const phaseAt = deps.clock.now().toISOString();
  return {
    result: 'done',
    detail: action,
    changes: (r) => ({ rotation: withRotation(r, { phase: 'deactivating', phaseAt }, ['nextAt']) }),
    audit: decided(action, { phase: 'deactivating', oldKeyId: rot.oldKeyId, ...detail }),
    ...next([life('deactivate', rot)]),
  };
}

/**
 * The `grace` wait step: the old key is active (grace period, still in use once, or reactivated). Decides from the
 * request (read at the part's start or at its last checkpoint, consistently) and IAM, see the file's header.
 */
async function grace(deps: Deps, r: AccessRequest): Promise<StepOutcome> {
  const rot = r.rotation as RotationState;
  const now = deps.clock.now();
  const { policy } = deps.config;
  // the owner's "I've switched" (a signal: clickRotation recorded it and its audit event)
  if (rot.phase === 'deactivating')
    return {
      result: 'done',
      detail: 'the owner switched to the new key',
      ...next([life('deactivate', rot)]),
    };
  // a reissue of the new key holds the rotation while the worker replaces it (see services/kinds/reissue.ts)
  if (rot.nextAt && Date.parse(rot.nextAt) > now.getTime()) return { result: 'done', waitUntil: new Date(rot.nextAt) };
  if (rot.phase !== 'reactivated') {
    // Decided from the request's own record of the link (see newKeyFate), never from a link item that is gone.
    const fate = await newKeyFate(deps, r, { record: true });
    if (fate.state === 'pending')
      return { result: 'done', waitUntil: new Date(Math.max(fate.until, now.getTime() + MIN_WAIT_MS)) };
    if (fate.state === 'unopened')
      return {
        result: 'done',
        detail: `cancel: ${fate.why}`,
        changes: (x) => ({
          rotation: withRotation(x, { phase: 'cancelling', phaseAt: now.toISOString() }, ['nextAt']),
        }),
        audit: decided('rotation.cancelling', { phase: 'cancelling', oldKeyId: rot.oldKeyId, why: fate.why }),
        ...next([life('cancel', rot, 'op', { why: fate.why })]),
      };
  }
  const graceEndsAt = rot.graceEndsAt ?? now.toISOString();
  if (Date.parse(graceEndsAt) > now.getTime()) return { result: 'done', waitUntil: new Date(graceEndsAt) };
  if (rot.phase === 'reactivated') return toDeactivate(deps, rot, 'rotation.deactivating', {});
  const { iam } = deps.aws.account(r.account);
  // An old key (or user) deleted outside the bot meanwhile: the deactivate step finds it gone and ends the rotation.
  const state = await oldKeyState(iam, r.userName, rot.oldKeyId);
  if (isGone(state)) return toDeactivate(deps, rot, 'rotation.deactivating', { found: state });
  if (rot.phase !== 'still-in-use') {
    const used = await iam.send(new GetAccessKeyLastUsedCommand({ AccessKeyId: rot.oldKeyId }));
    const last = used.AccessKeyLastUsed;
    if (last?.LastUsedDate && last.LastUsedDate.getTime() > Date.parse(rot.deliveredAt ?? '')) {
      const extended = new Date(now.getTime() + policy.keys.rotationGraceDays * DAY).toISOString();
      const lastUse = {
        at: last.LastUsedDate.toISOString(),
        service: last.ServiceName ?? 'unknown',
        region: last.Region ?? 'unknown',
      };
      return {
        result: 'done',
        detail: 'the old key is still in use',
        changes: (x) => ({
          rotation: withRotation(x, { phase: 'still-in-use', lastUse, graceEndsAt: extended }, ['nextAt']),
        }),
        audit: decided('rotation.old-key-still-in-use', { ...lastUse, graceEndsAt: extended }),
        ...next([notify(rot, 'still-in-use'), life('grace', rot, 'wait')]),
      };
    }
  } else if (policy.keys.stillInUse === 'escalate') {
    return {
      result: 'done',
      detail: 'escalated: the old key is still in use',
      changes: (x) => ({ rotation: withRotation(x, { phase: 'escalated' }, ['nextAt']) }),
      audit: decided('rotation.escalated', { oldKeyId: rot.oldKeyId }),
      ...next([notify(rot, 'escalated-channel'), notify(rot, 'escalated-owner')]),
    };
  }
  return toDeactivate(deps, rot, 'rotation.deactivating', {});
}

/** The `recovery` wait step: the old key is inactive until the recovery period ends, or until Reactivate. */
function recovery(deps: Deps, r: AccessRequest): StepOutcome {
  const rot = r.rotation as RotationState;
  const now = deps.clock.now();
  // the owner's Reactivate (a signal: clickRotation recorded it and its audit event)
  if (rot.phase === 'reactivating')
    return { result: 'done', detail: 'the owner asked to reactivate the old key', ...next([life('reactivate', rot)]) };
  const deleteAt = rot.deleteAt ?? now.toISOString();
  if (Date.parse(deleteAt) > now.getTime()) return { result: 'done', waitUntil: new Date(deleteAt) };
  return {
    result: 'done',
    detail: 'the recovery period is over',
    changes: (x) => ({ rotation: withRotation(x, { phase: 'deleting', phaseAt: now.toISOString() }, ['nextAt']) }),
    audit: decided('rotation.deleting', { phase: 'deleting', oldKeyId: rot.oldKeyId }),
    ...next([life('delete', rot)]),
  };
}

async function deactivate(deps: Deps, r: AccessRequest): Promise<StepOutcome> {
  const rot = r.rotation as RotationState;
  const { iam } = deps.aws.account(r.account);
  const done = await onOldKey(iam, r, () =>
    iam.send(new UpdateAccessKeyCommand({ UserName: r.userName, AccessKeyId: rot.oldKeyId, Status: 'Inactive' })),
  );
  if (done !== 'done') return endGone(done, rot);
  const deleteAt = new Date(phaseStart(deps, rot) + deps.config.policy.keys.recoveryDays * DAY).toISOString();
  return {
    result: 'done',
    changes: (x) => ({
      rotation: withRotation(x, { phase: 'deactivated', deactivatedAt: rot.phaseAt ?? deleteAt, deleteAt }, ['nextAt']),
    }),
    audit: decided('rotation.old-key-deactivated', { oldKeyId: rot.oldKeyId, deleteAt }),
    ...next([notify(rot, 'deactivated'), life('recovery', rot, 'wait')]),
  };
}

async function reactivate(deps: Deps, r: AccessRequest): Promise<StepOutcome> {
  const rot = r.rotation as RotationState;
  const { iam } = deps.aws.account(r.account);
  const done = await onOldKey(iam, r, () =>
    iam.send(new UpdateAccessKeyCommand({ UserName: r.userName, AccessKeyId: rot.oldKeyId, Status: 'Active' })),
  );
  if (done !== 'done') return endGone(done, rot);
  const graceEndsAt = new Date(phaseStart(deps, rot) + deps.config.policy.keys.rotationGraceDays * DAY).toISOString();
  return {
    result: 'done',
    changes: (x) => ({
      rotation: withRotation(x, { phase: 'reactivated', graceEndsAt }, ['deleteAt', 'deactivatedAt', 'nextAt']),
    }),
    audit: decided('rotation.old-key-reactivated', { oldKeyId: rot.oldKeyId, graceEndsAt }),
    ...next([notify(rot, 'reactivated'), life('grace', rot, 'wait')]),
  };
}

async function remove(deps: Deps, r: AccessRequest): Promise<StepOutcome> {
  const rot = r.rotation as RotationState;
  const { iam } = deps.aws.account(r.account);
  const done = await onOldKey(iam, r, () =>
    iam.send(new DeleteAccessKeyCommand({ UserName: r.userName, AccessKeyId: rot.oldKeyId })),
  );
  // A key already gone is what this step wanted (a part that deleted it may have died before its checkpoint); only
  // a user deleted outside the bot ends the rotation otherwise.
  if (done === 'user-gone') return endGone(done, rot);
  return {
    result: 'done',
    changes: (x) => ({ rotation: withRotation(x, { phase: 'deleted' }, ['nextAt']) }),
    audit: decided('rotation.old-key-deleted', { oldKeyId: rot.oldKeyId }),
    ...next([notify(rot, 'deleted')]),
  };
}

/** The new key's link was not opened (expired, reported): the new key is deactivated and deleted, the old one kept. */
async function cancel(deps: Deps, r: AccessRequest, why: string): Promise<StepOutcome> {
  const rot = r.rotation as RotationState;
  const { iam } = deps.aws.account(r.account);
  const userGone = rot.newKeyId ? (await oldKeyState(iam, r.userName, rot.oldKeyId)) === 'user-gone' : false;
  const ignoreMissing = (error: unknown) => {
    if (errorName(error) !== 'NoSuchEntity') throw error;
  };
  if (rot.newKeyId && !userGone) {
    await iam
      .send(new UpdateAccessKeyCommand({ UserName: r.userName, AccessKeyId: rot.newKeyId, Status: 'Inactive' }))
      .catch(ignoreMissing);
    await iam
      .send(new DeleteAccessKeyCommand({ UserName: r.userName, AccessKeyId: rot.newKeyId }))
      .catch(ignoreMissing);
  }
  return {
    result: 'done',
    changes: (x) => ({ rotation: withRotation(x, { phase: 'cancelled' }, ['nextAt']) }),
    audit: decided('rotation.cancelled', {
      newKeyId: rot.newKeyId ?? null,
      why: userGone ? `${why}; the IAM user was deleted outside the bot` : why,
    }),
    ...next([notify(rot, 'cancelled')]),
  };
}

type TellWhat =
  | 'deactivated'
  | 'reactivated'
  | 'deleted'
  | 'cancelled'
  | 'gone'
  | 'still-in-use'
  | 'escalated-channel'
  | 'escalated-owner';

const MESSAGES: Record<TellWhat, { message: (r: AccessRequest) => OutgoingMessage; keysChanged: boolean }> = {
  deactivated: { message: oldKeyDeactivatedMessage, keysChanged: true },
  reactivated: { message: oldKeyReactivatedMessage, keysChanged: true },
  deleted: { message: oldKeyDeletedMessage, keysChanged: true },
  cancelled: { message: rotationCancelledMessage, keysChanged: true },
  gone: { message: oldKeyGoneMessage, keysChanged: true },
  'still-in-use': { message: stillInUseMessage, keysChanged: false },
  'escalated-channel': { message: stillInUseEscalation, keysChanged: false },
  'escalated-owner': { message: stillInUseEscalation, keysChanged: false },
};

/**
 * A `tell` step: after a change of the user's keys, the user's projection first (idempotent); then the DM (or the
 * approval channel's post) about the state the previous step recorded.
 */
async function tellOf(deps: Deps, r: AccessRequest, what: TellWhat): Promise<StepOutcome> {
  const told = MESSAGES[what];
  if (told.keysChanged) await userChanged(deps, r.account, r.userName, { requestId: r.id });
  const to = what === 'escalated-channel' ? deps.config.policy.approvals.channel : r.recipient;
  await tell(deps, to, r, told.message(r));
  const rot = r.rotation as RotationState;
  // the end of a rotation whose old key or user was deleted outside the bot keeps its own audit action
  if (what === 'gone')
    return {
      result: 'done',
      audit: decided('rotation.ended-gone', {
        oldKeyId: rot.oldKeyId,
        gone:
          rot.gone === 'user' ? 'the IAM user was deleted outside the bot' : 'the old key was deleted outside the bot',
      }),
    };
  return { result: 'done' };
}

/** Runs one step of a rotation's life (see the file's header). */
export async function lifeStep(deps: Deps, r: AccessRequest, s: RunStep): Promise<StepOutcome> {
  switch (s.op) {
    case 'grace':
      return grace(deps, r);
    case 'recovery':
      return recovery(deps, r);
    case 'deactivate':
      return deactivate(deps, r);
    case 'reactivate':
      return reactivate(deps, r);
    case 'delete':
      return remove(deps, r);
    case 'cancel':
      return cancel(deps, r, s.args.why ?? 'link not opened');
    case 'tell':
      return tellOf(deps, r, s.args.message as TellWhat);
    default:
      throw new Error(`A key rotation's life has no step ${s.op}`);
  }
}

/** The audit line of a life step. */
export function describeLife(s: RunStep): string {
  const key = s.args.oldKeyId ?? '?';
  switch (s.op) {
    case 'grace':
      return `wait: the grace period of ${key}`;
    case 'recovery':
      return `wait: the recovery period of ${key}`;
    case 'deactivate':
      return `UpdateAccessKey ${key} Inactive`;
    case 'reactivate':
      return `UpdateAccessKey ${key} Active`;
    case 'delete':
      return `DeleteAccessKey ${key}`;
    case 'cancel':
      return 'delete the new key (its link was not opened)';
    case 'tell':
      return `tell: ${s.args.message ?? '?'}`;
    default:
      return s.op;
  }
}

/**
 * The step a rotation left by the scheduled task's phases (before its life moved onto the runner) continues at, from
 * its phase: its run is extended with it (see adoptPhaseRotations). Undefined: it has ended.
 */
export function stepForPhase(rot: RotationState): RunStep | undefined {
  switch (rot.phase) {
    case 'grace':
    case 'still-in-use':
    case 'reactivated':
      return life('grace', rot, 'wait');
    case 'deactivated':
      return life('recovery', rot, 'wait');
    case 'deactivating':
      return life('deactivate', rot);
    case 'reactivating':
      return life('reactivate', rot);
    case 'deleting':
      return life('delete', rot);
    case 'cancelling':
      return life('cancel', rot);
    default:
      return undefined;
  }
}

/**
 * Scheduled (every 15 minutes, before the runner's sweep): a delivered rotation whose life has no step on its run
 * continues there from its phase: one left by the scheduled task's phases before its life moved onto the runner, or
 * one a reissue started again after it was cancelled (services/kinds/reissue-run.ts records the new delivery with
 * phase `grace`). Its run is extended with the step of its phase (see stepForPhase) in one conditional write with an
 * audit event, and handed to the worker. Safe to run again: a rotation whose run has steps left is left alone.
 */
export async function adoptPhaseRotations(deps: Deps): Promise<{ adopted: number }> {
  let adopted = 0;
  for (const found of await deps.store.requests.dueForSweep(deps.clock.now())) {
    if (found.kind !== 'rotate-key' || found.status !== 'done' || !found.rotation?.nextAt) continue;
    if (found.run?.attempt === found.attempt && found.run.cursor < found.run.steps.length) continue;
    const step = stepForPhase(found.rotation);
    if (!step) continue;
    const extended = await runNext(
      deps,
      found,
      [step],
      { rotation: withRotation(found, {}, ['nextAt']) },
      (n) => [
        deps.store.audit.transactionItem(
          auditEvent(deps, n, 'system', 'rotation.continued', {
            phase: found.rotation?.phase ?? null,
            step: describeLife(step),
          }),
        ),
      ],
      'end',
    );
    if (extended) adopted += 1;
  }
  return { adopted };
}
