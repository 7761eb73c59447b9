/** Deny: an approver of one requested group ends a pending request, with a reason. */
import { ConflictError } from '../../errors.js';
import type { AccessRequest } from '../../store/requests.js';
import { transition } from './audit.js';
import { type ClickOptions, load, MAX_TRIES, type RequestDeps } from './common.js';
import { handOff } from './follow-up.js';
import { ensurePending } from './pending.js';
import { authorizeDenier } from './rules.js';

/**
 * Checks that `user` may deny the request now (before the reason form opens). Throws as `denyRequest` would; a
 * request found past its lifetime is expired and, given `responseUrl`, the worker answers (AnsweredConflictError).
 */
export async function checkCanDeny(
  deps: RequestDeps,
  requestId: string,
  user: string,
  options: ClickOptions = {},
): Promise<AccessRequest> {
  const request = await load(deps, requestId);
  await ensurePending(deps, request, options.responseUrl);
  await authorizeDenier(deps, request, user);
  return request;
}

/**
 * Denies a pending request with a reason: an approver of at least one requested group, not the requester or the
 * recipient, decides alone. One conditional write (with its audit event); the worker updates the message, releases
 * the name and tells the requester. Throws NotAuthorizedError or ConflictError, changing nothing, otherwise.
 */
export async function denyRequest(
  deps: RequestDeps,
  requestId: string,
  user: string,
  reason: string,
): Promise<AccessRequest> {
  for (let tries = 0; tries < MAX_TRIES; tries++) {
    const request = await checkCanDeny(deps, requestId, user);
    const now = deps.clock.now();
    const next = await transition(
      deps,
      request,
      { status: 'denied', decision: { by: user, at: now.toISOString(), reason: reason.trim() } },
      { actor: user, action: 'denied', extra: { reason: reason.trim() } },
    );
    if (!next) continue;
    await handOff(deps, next, { tellRequester: true });
    return next;
  }
  throw new ConflictError('Too many people changed this request at once; try again.');
}
