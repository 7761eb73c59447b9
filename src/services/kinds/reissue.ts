/**
 * `/iam reissue <request-id>` (approvers): a one-time link that nobody opened (lost, or expired) is replaced by a
 * fresh access key and a new link; the undelivered key is deleted and its link retired. Never for a link that was
 * opened: those credentials were received.
 */
import type { Deps } from '../../deps.js';
import { ConflictError, NotAuthorizedError, ValidationError } from '../../errors.js';
import { isoIn, STEP_LEASE_MS, withRotation } from '../../kinds/rotate-key/rotation.js';
import type { AccessRequest } from '../../store/requests.js';
import { auditEvent, isAmong, ruleOf } from '../requests.js';

/** Link states whose credentials nobody received. */
export const UNRECEIVED = ['pending', 'expired', 'superseded'];

/**
 * The Slack side of a reissue, re-checked from stored state: the request exists and delivered an access key, its
 * link was not opened, and `user` approves this kind of request and is not the one who receives the credentials.
 * One conditional write (the credential issue bumped, with its audit event); returns the job for the worker.
 */
export async function requestReissue(
  deps: Pick<Deps, 'store' | 'clock' | 'config' | 'messenger'>,
  requestId: string,
  user: string,
  responseUrl?: string,
) {
  const request = await deps.store.requests.get(requestId.trim());
  if (!request) throw new ValidationError(`There is no request \`${requestId}\`.`, { requestId: 'unknown' });
  const rule = ruleOf(deps.config.policy, request);
  for (const g of rule.groups)
    if (!(await isAmong(deps, g.approvers, user)))
      throw new NotAuthorizedError('Only an approver of this request can send a new link for it.');
  if (user === request.recipient)
    throw new NotAuthorizedError('The credentials go to you, so another approver must send the new link.');
  if (request.status !== 'done' || !request.linkId || request.accessType === 'console')
    throw new ConflictError(`Request \`${request.id}\` has no delivered access key to reissue (${request.status}).`);
  const link = await deps.store.links.getByLinkId(request.linkId);
  // The request's own record first: the link item may be gone (TTL) long after it was opened.
  if (request.linkOpened?.linkId === request.linkId)
    throw new ConflictError(
      `The link of request \`${request.id}\` was opened: those credentials were received. Rotate the key instead.`,
    );
  if (link && !UNRECEIVED.includes(link.status))
    throw new ConflictError(
      `The link of request \`${request.id}\` was opened (${link.status}): those credentials were received. Rotate the key instead.`,
    );
  if (request.kind === 'rotate-key' && !['grace', 'cancelled'].includes(request.rotation?.phase ?? ''))
    throw new ConflictError(`The rotation \`${request.id}\` is past its delivery (${request.rotation?.phase}).`);
  const issue = request.credentialIssue + 1;
  const changes: Partial<AccessRequest> = {
    credentialIssue: issue,
    // the rotation's grace step waits while the worker replaces its key (kinds/rotate-key/rotation-life.ts)
    ...(request.kind === 'rotate-key'
      ? { rotation: withRotation(request, { nextAt: isoIn(deps, STEP_LEASE_MS) }) }
      : {}),
  };
  const next = await deps.store.requests.update(request, changes, deps.clock.now(), [], (n) => [
    deps.store.audit.transactionItem(
      auditEvent(deps, n, user, 'reissue-requested', { issue, oldLinkId: request.linkId ?? null }),
    ),
  ]);
  if (!next) throw new ConflictError('The request changed just now; try again.');
  return {
    id: `reissue:${next.id}:${issue}`,
    type: 'reissue',
    payload: { requestId: next.id, issue, approver: user, ...(responseUrl ? { responseUrl } : {}) },
  };
}

/**
 * The newest request that sent credentials for an IAM user (a create-user or a key rotation with a link), from the
 * ownership projection's record of the requests that changed the user: two reads, no IAM call. Undefined if none.
 */
export async function latestDeliveryOf(
  deps: Pick<Deps, 'store'>,
  account: string,
  userName: string,
): Promise<string | undefined> {
  const projected = await deps.store.users.get(account, userName);
  if (!projected?.requestIds.length) return undefined;
  const requests = await deps.store.requests.getMany(projected.requestIds);
  return requests
    .filter((r) => r.linkId)
    .sort((a, b) => b.createdAt.localeCompare(a.createdAt))
    .at(0)?.id;
}
