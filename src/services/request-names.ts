import type { AccessRequest } from '../store/requests.js';
import type { RequestStatus } from './request-status.js';

export { ENDED } from './request-status.js';

/** The states in which a request holds its IAM user name, as said to someone who asks for the same name. */
const ACTIVE: Partial<Record<RequestStatus, string>> = {
  pending: 'waiting for approval',
  approved: 'approved and being provisioned',
  provisioning: 'being provisioned',
  failed: 'failed, and an approver can retry it',
};

/**
 * Why `held` (the request holding an IAM user name) stands in the way of another request for that name, or
 * undefined when it has ended: denied, expired, done, or failed leaving nothing in IAM (its rollback finished).
 * (Retry of such a request then meets the new one at CreateUser, and fails cleanly: the user exists.)
 */
export function nameConflict(held: AccessRequest): string | undefined {
  const state = ACTIVE[held.status];
  if (!state) return undefined;
  // `remaining` lists what a failed request left in IAM; empty when its rollback removed everything.
  if (held.status === 'failed' && (held.remaining?.length ?? 0) === 0) return undefined;
  return `IAM user \`${held.userName}\` in ${held.account} is already requested: request \`${held.id}\` from <@${held.requester}> is ${state}.`;
}
