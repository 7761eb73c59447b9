/**
 * Cancel of a deletion (the DMs once the user is disabled): a signal to the deletion's run (src/services/runner/
 * engine.ts signalRun), re-authorized from the stored request, never from the payload. Loaded by the Slack function:
 * the store and Slack's user groups only, no IAM call (the worker restores).
 */
import type { Deps } from '../../deps.js';
import { ConflictError, NotAuthorizedError } from '../../errors.js';
import type { Job } from '../../jobs/types.js';
import { auditEvent } from '../../services/requests/audit.js';
import { approvalRule, isAmong } from '../../services/requests.js';
import { signalRun } from '../../services/runner/engine.js';
import { requireFullMember } from '../../services/slack-members.js';
import type { AccessRequest } from '../../store/requests.js';

/** What a Cancel did: the request as stored, the worker job that wakes its run (if asleep), the clicker's answer. */
export interface CancelOutcome {
  request: AccessRequest;
  job?: Job;
  text: string;
}

/**
 * Cancel by `user` of the deletion `requestId`: only the user's owner or an approver of deletions may; only while the
 * user is disabled and the window is open. One conditional write with its audit event, which wakes the run; a second
 * Cancel changes nothing and says it was cancelled already. Throws NotAuthorizedError or ConflictError with the
 * clicker's answer.
 */
export async function cancelDeletion(
  deps: Pick<Deps, 'store' | 'clock' | 'config' | 'messenger'>,
  requestId: string,
  user: string,
): Promise<CancelOutcome> {
  const r = await deps.store.requests.get(requestId);
  if (r?.kind !== 'delete-user') throw new NotAuthorizedError('There is no such deletion.');
  const approvers = approvalRule(deps.config.policy, [], 'delete-user').groups[0]?.approvers;
  if (user !== r.owner) {
    if (!(await isAmong(deps, approvers, user)))
      throw new NotAuthorizedError(
        `Only ${r.owner ? `<@${r.owner}>, who owns IAM user ${r.userName}, or ` : ''}an approver can cancel its deletion.`,
      );
    // an approver counts only as a full member of this workspace, whatever the policy lists
    await requireFullMember(deps, user, 'cancel a deletion');
  }
  const deletion = r.deletion;
  if (r.status !== 'done' || !deletion?.deleteAt)
    throw new ConflictError(`IAM user ${r.userName} is not disabled (yet): there is nothing to cancel.`);
  if (deletion.cancel)
    throw new ConflictError(`Already cancelled by <@${deletion.cancel.by}>: IAM user ${r.userName} stays.`);
  if (deletion.endedAt) throw new ConflictError(`Too late: IAM user ${r.userName} is being deleted, or is deleted.`);
  const now = deps.clock.now().toISOString();
  const out = await signalRun(deps, r, { deletion: { ...deletion, cancel: { by: user, at: now } } }, (n) => [
    deps.store.audit.transactionItem(
      auditEvent(deps, n, user, 'deletion-cancel', { deleteAt: deletion.deleteAt ?? '' }),
    ),
  ]);
  if (!out) throw new ConflictError('The deletion changed just now; look at your latest DM.');
  return {
    ...out,
    text: `Cancelled: IAM user ${r.userName} stays. I'm reactivating the keys the deletion deactivated and will DM you once it is done.`,
  };
}
