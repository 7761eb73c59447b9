/**
 * rotate-key's reservation, for the one submit path (RequestKindModule.store): one rotation of an IAM user at a time,
 * held by a `rotation#` pointer item that a new rotation takes over once the previous one has ended. Store only: the
 * kind module (loaded by the Slack function) imports it, and it imports no part of the request life cycle.
 */
import type { Deps } from '../../deps.js';
import { ConflictError } from '../../errors.js';
import type { RequestStatus } from '../../services/request-status.js';
import type { AccessRequest, RotationPhase, TransactionItem } from '../../store/requests.js';

const code = (s: string) => `\`${s}\``;

/** The pointer item naming the rotation of a user under way (or the last one). */
export const rotationKey = (account: string, userName: string) => `rotation#${account}#${userName.toLowerCase()}`;

/**
 * The statuses in which a rotation has ended whatever its phase: denied (by an approver, or refused by the worker's
 * check of IAM), expired unapproved (the sweep), abandoned after a failure (Abandon, or the sweep).
 */
export const ENDED_STATUSES: readonly RequestStatus[] = ['denied', 'expired', 'abandoned'];
/**
 * The phases in which a `done` rotation has ended (its life's last step, rotation-life.ts): the old key deleted (or
 * found gone), the new key cancelled unopened, or escalated to the approvers with the old key still in use.
 */
export const ENDED_PHASES: readonly RotationPhase[] = ['deleted', 'cancelled', 'escalated'];

/**
 * Stores a new rotation with `alsoWrite` (its audit event) and its user's rotation pointer, in one transaction, after
 * one consistent read of the pointer: two calls. Whether the rotation the pointer names has ended is not read but
 * checked by the transaction itself (a ConditionCheck on that request), so it is decided by
 * the request as stored when the pointer changes hands: nothing needs to mark the pointer when a rotation ends, and
 * no end (whichever path, killed anywhere) can leave the user blocked. Throws ConflictError when another rotation of
 * the user is under way, or started just now; nothing is stored then.
 */
export async function storeRotation(
  deps: Pick<Deps, 'store'>,
  request: AccessRequest,
  alsoWrite: TransactionItem[],
): Promise<void> {
  const pointer = rotationKey(request.account, request.userName);
  const holder = await deps.store.requests.holderOf(pointer);
  const stored = await deps.store.requests.createTakingOver(request, alsoWrite, {
    id: pointer,
    from: holder,
    // whether the rotation the pointer names has ended: no item (gone with its TTL), an ended status, or `done` in
    // an ended phase (checked inside the transaction, on that request as stored)
    fromEnded: { statuses: ENDED_STATUSES, doneInPhases: ENDED_PHASES },
  });
  if (stored.reserved) return;
  if (stored.why === 'not-ended')
    throw new ConflictError(
      `A rotation of IAM user ${code(request.userName)} is under way (\`${holder}\`): it must end before another starts.`,
    );
  throw new ConflictError(`Another rotation of IAM user ${code(request.userName)} started just now.`);
}
