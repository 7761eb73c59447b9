/** Approve: records an approval and, with enough of them, starts the provisioning. */
import { BotError, ConflictError, NotAuthorizedError } from '../../errors.js';
import { logger } from '../../logger.js';
import type { AccessRequest } from '../../store/requests.js';
import { audit, transition } from './audit.js';
import { abandonAtFrom, type ClickOptions, load, MAX_TRIES, provisionJob, type RequestDeps } from './common.js';
import { handOff } from './follow-up.js';
import { ensurePending } from './pending.js';
import { authorizeApprover, ruleOf } from './rules.js';
import { syncApprovalMessage } from './tell.js';

export type ApprovalOutcome =
  | { kind: 'approved'; request: AccessRequest }
  | { kind: 'waiting'; request: AccessRequest; approvals: number; requiredApprovals: number };

/**
 * Records `user`'s approval, decided from the stored request (read consistently) and the policy only, in one
 * conditional write with its audit event. When it completes the required approvals the request is approved and its
 * provisioning job dispatched, exactly once however many clicks race; otherwise the worker updates the message and
 * (given `responseUrl`) tells the clicker how many approvals there are. Makes no other call. Throws
 * NotAuthorizedError or ConflictError, changing nothing, when the click may not count.
 */
export async function approveRequest(
  deps: RequestDeps,
  requestId: string,
  user: string,
  options: ClickOptions = {},
): Promise<ApprovalOutcome> {
  for (let tries = 0; tries < MAX_TRIES; tries++) {
    const request = await load(deps, requestId);
    await ensurePending(deps, request, options.responseUrl);
    try {
      await authorizeApprover(deps, request, user);
    } catch (error) {
      if (error instanceof NotAuthorizedError)
        await audit(deps, request, user, 'approval-refused', { reason: error.message });
      throw error;
    }
    const { requiredApprovals } = ruleOf(deps.config.policy, request);
    if (request.approvals.some((a) => a.user === user))
      throw new ConflictError(
        `You already approved this request. It needs ${requiredApprovals} approvals from different approvers (${request.approvals.length} so far).`,
      );
    const now = deps.clock.now();
    const approvals = [...request.approvals, { user, at: now.toISOString() }];
    const complete = approvals.length >= requiredApprovals;
    const next = await transition(deps, request, complete ? { approvals, status: 'approved' } : { approvals }, {
      actor: user,
      action: complete ? 'approved' : 'approval-recorded',
      extra: { approvals: approvals.length, requiredApprovals },
    });
    if (!next) continue;
    if (!complete) {
      const text = `Your approval is recorded: ${approvals.length} of ${requiredApprovals}. It now needs another approver.`;
      await handOff(deps, next, options.responseUrl ? { reply: { responseUrl: options.responseUrl, text } } : {});
      return { kind: 'waiting', request: next, approvals: approvals.length, requiredApprovals };
    }
    await startProvisioning(deps, next, user, true);
    return { kind: 'approved', request: next };
  }
  throw new ConflictError('Too many people changed this request at once; try again.');
}

/**
 * Dispatches the provisioning job (the worker updates the message, and with `announce` tells the requester it was
 * approved); if that fails, the request fails at once so that approvers get Retry.
 */
export async function startProvisioning(
  deps: RequestDeps,
  request: AccessRequest,
  actor: string,
  announce: boolean,
): Promise<void> {
  try {
    await deps.dispatcher.dispatch(provisionJob(request, announce));
  } catch (error) {
    logger.error('Could not dispatch provisioning', { requestId: request.id, errorName: (error as Error)?.name });
    const failed = await deps.store.requests.update(
      request,
      {
        status: 'failed',
        error: `could not start provisioning (${(error as Error)?.name ?? 'error'})`,
        remaining: [],
        abandonAt: abandonAtFrom(deps),
      },
      deps.clock.now(),
    );
    if (failed) {
      await audit(deps, failed, actor, 'provisioning-failed', { error: failed.error ?? '' });
      await syncApprovalMessage(deps, failed);
    }
    throw new BotError('Approved, but I could not start creating the user. Use Retry on the request message.', {
      cause: error,
    });
  }
}
