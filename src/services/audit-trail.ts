import type { Deps } from '../deps.js';
import { NotAuthorizedError } from '../errors.js';
import type { AuditEvent } from '../store/audit.js';
import { auditSubject, isAmong } from './requests.js';
import { requireFullMember } from './slack-members.js';

/** What `/iam audit` looks at: one request, what one person did, or the requests that changed one IAM user. */
export type AuditTarget =
  | { kind: 'request'; requestId: string }
  | { kind: 'actor'; actor: string }
  | { kind: 'user'; account: string; userName: string };

export const AUDIT_PAGE = 20;

/** How many requests of one IAM user an audit page reads at most (the newest of them). */
const USER_REQUESTS_MAX = 25;

/**
 * The audit trail of a target, newest first, one page of AUDIT_PAGE events, and whether there are more: for approvers
 * only (the policy's global approvers). Reads only the audit table (a request's events, or the actor index) and, for
 * an IAM user, the ownership projection's record of the requests that changed it.
 */
export async function auditTrail(
  deps: Deps,
  viewer: string,
  target: AuditTarget,
  page: number,
): Promise<{ events: AuditEvent[]; more: boolean; known: boolean }> {
  if (!(await isAmong(deps, deps.config.policy.approvals.approvers, viewer)))
    throw new NotAuthorizedError('Only approvers can read the audit trail.');
  await requireFullMember(deps, viewer, 'read the audit trail');
  const skip = (page - 1) * AUDIT_PAGE;
  if (target.kind === 'request') {
    const found = await deps.store.audit.newest({ subject: auditSubject(target.requestId) }, skip, AUDIT_PAGE);
    return { ...found, known: found.events.length > 0 || page > 1 };
  }
  if (target.kind === 'actor') {
    const found = await deps.store.audit.newest({ actor: target.actor }, skip, AUDIT_PAGE);
    return { ...found, known: true };
  }
  const user = await deps.store.users.get(target.account, target.userName);
  if (!user) return { events: [], more: false, known: false };
  // Each request's newest events, enough for this page, merged newest first.
  const perRequest = await Promise.all(
    user.requestIds
      .slice(-USER_REQUESTS_MAX)
      .map((id) => deps.store.audit.newest({ subject: auditSubject(id) }, 0, skip + AUDIT_PAGE + 1)),
  );
  const merged = perRequest.flatMap((r) => r.events).sort((a, b) => b.at.localeCompare(a.at));
  return {
    events: merged.slice(skip, skip + AUDIT_PAGE),
    more: merged.length > skip + AUDIT_PAGE || perRequest.some((r) => r.more),
    known: true,
  };
}
