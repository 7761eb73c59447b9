/**
 * rotate-key's reservation, for the one submit path (RequestKindModule.store): one rotation of an IAM user at a time,
 * held by a `rotation#` pointer item that a new rotation takes over once the previous one has ended. Store only: the
 * kind module (loaded by the Slack function) imports it, and it imports no part of the request life cycle.
 */
import type { Deps } from '../../deps.js';
import { ConflictError } from '../../errors.js';
import type { AccessRequest, TransactionItem } from '../../store/requests.js';

const code = (s: string) => `\`${s}\``;

/** The pointer item naming the rotation of a user under way (or the last one). */
export const rotationKey = (account: string, userName: string) => `rotation#${account}#${userName.toLowerCase()}`;

/** Whether a rotation has ended (a new one of the same user may start). */
const rotationEnded = (r: AccessRequest | undefined) =>
  !r ||
  ['denied', 'expired', 'abandoned'].includes(r.status) ||
  (r.status === 'done' && ['deleted', 'cancelled', 'escalated'].includes(r.rotation?.phase ?? ''));

/**
 * Stores a new rotation with `alsoWrite` (its audit event) and its user's rotation pointer, in one transaction. The
 * pointer's holder is read consistently. Throws ConflictError when another rotation of the user is under way, or
 * started just now; nothing is stored then.
 */
export async function storeRotation(
  deps: Pick<Deps, 'store'>,
  request: AccessRequest,
  alsoWrite: TransactionItem[],
): Promise<void> {
  const pointer = rotationKey(request.account, request.userName);
  const holder = await deps.store.requests.holderOf(pointer);
  const previous = holder ? await deps.store.requests.get(holder) : undefined;
  if (holder && !rotationEnded(previous))
    throw new ConflictError(
      `A rotation of IAM user ${code(request.userName)} is under way (\`${holder}\`): it must end before another starts.`,
    );
  const stored = await deps.store.requests.createReserving(request, alsoWrite, holder, pointer);
  if (!stored.reserved)
    throw new ConflictError(`Another rotation of IAM user ${code(request.userName)} started just now.`);
}
