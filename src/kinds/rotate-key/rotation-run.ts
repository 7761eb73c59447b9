/**
 * The scheduled task's side of a key rotation (see rotate-key.ts): after delivery, the grace period, deactivation,
 * reactivation, deletion and cancellation. The delivery itself runs on the resumable runner
 * (rotation-delivery.ts). Kept apart from rotate-key.ts so that the Slack function does not load it at cold start.
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
import { logger } from '../../logger.js';
import type { OutgoingMessage } from '../../services/ports.js';
import { errorName, type IamSender } from '../../services/provisioning.js';
import { auditEvent, auditSubject, tell } from '../../services/requests.js';
import { userChanged } from '../../services/user-changes.js';
import type { AccessRequest, RotationState } from '../../store/requests.js';
import { announce, isoIn, newKeyFate, STEP_LEASE_MS, withRotation } from './rotation.js';

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
