/** Retry and Abandon of a failed request. */
import { ConflictError } from '../../errors.js';
import type { AccessRequest, RequestStatus } from '../../store/requests.js';
import { startProvisioning } from './approve.js';
import { transition } from './audit.js';
import { type ClickOptions, load, MAX_TRIES, type RequestDeps } from './common.js';
import { handOff } from './follow-up.js';
import { authorizeApprover } from './rules.js';

/** Refuses a Retry or Abandon unless the request is failed. */
function ensureFailed(request: AccessRequest, verb: 'retry' | 'abandon'): void {
  if (request.status === 'failed') return;
  const state: Partial<Record<RequestStatus, string>> = {
    approved: 'is being provisioned already',
    provisioning: 'is being provisioned already',
    done: 'is done already',
    pending: 'is waiting for approval',
  };
  throw new ConflictError(
    `This request ${state[request.status] ?? `is ${request.status}`}; there is nothing to ${verb}.`,
  );
}

export type RetryOutcome =
  | { kind: 'retrying'; request: AccessRequest }
  /** Approved longer ago than the request lifetime: back to pending, approvals cleared. */
  | { kind: 'needs-approval'; request: AccessRequest };

/**
 * Retries the provisioning of a failed request: the clicker must be an approver of every group (not the requester
 * or the recipient), decided from the stored request. Within the request lifetime (`requests.lifetimeHours`)
 * after its approval: back to approved with the next attempt number, dispatching `provision:<id>:<attempt>` once
 * however many clicks race. Later: the approval is too old to act on, so the request returns to pending with its
 * approvals cleared and a new lifetime, and needs a fresh approval (the worker updates the message, tells the
 * requester and, given `responseUrl`, the clicker). One conditional write with its audit event either way.
 */
export async function retryRequest(
  deps: RequestDeps,
  requestId: string,
  user: string,
  options: ClickOptions = {},
): Promise<RetryOutcome> {
  const { lifetimeHours } = deps.config.policy.requests;
  for (let tries = 0; tries < MAX_TRIES; tries++) {
    const request = await load(deps, requestId);
    ensureFailed(request, 'retry');
    await authorizeApprover(deps, request, user, 'retry');
    const now = deps.clock.now();
    const approvedAt = Date.parse(request.approvals.at(-1)?.at ?? request.createdAt);
    const remove: (keyof AccessRequest)[] = ['error', 'remaining', 'abandonAt'];
    if (now.getTime() >= approvedAt + lifetimeHours * 3_600_000) {
      const next = await transition(
        deps,
        request,
        {
          status: 'pending',
          approvals: [],
          attempt: request.attempt + 1,
          expiresAt: new Date(now.getTime() + lifetimeHours * 3_600_000).toISOString(),
        },
        {
          actor: user,
          action: 'returned-for-approval',
          extra: {
            approvedAt: new Date(approvedAt).toISOString(),
            error: request.error ?? null,
            remaining: request.remaining ?? [],
          },
          remove,
        },
      );
      if (!next) continue;
      const text = `This request was approved more than ${lifetimeHours} hours ago, so it needs a fresh approval before I retry: it is back to waiting for approval.`;
      await handOff(deps, next, {
        tellRequester: true,
        ...(options.responseUrl ? { reply: { responseUrl: options.responseUrl, text } } : {}),
      });
      return { kind: 'needs-approval', request: next };
    }
    const next = await transition(
      deps,
      request,
      { status: 'approved', attempt: request.attempt + 1 },
      { actor: user, action: 'retried', extra: { attempt: request.attempt + 1 }, remove },
    );
    if (!next) continue;
    await startProvisioning(deps, next, user, false);
    return { kind: 'retrying', request: next };
  }
  throw new ConflictError('Too many people changed this request at once; try again.');
}

/**
 * Abandons a failed request (an approver of every group, not the requester or the recipient): it ends, releasing
 * its IAM user name; what it left in IAM (`remaining`, listed on the message and in the audit event) stays for
 * someone to clean up. One conditional write with its audit event; the worker updates the message, releases the
 * name and tells the requester.
 */
export async function abandonRequest(deps: RequestDeps, requestId: string, user: string): Promise<AccessRequest> {
  for (let tries = 0; tries < MAX_TRIES; tries++) {
    const request = await load(deps, requestId);
    ensureFailed(request, 'abandon');
    await authorizeApprover(deps, request, user, 'abandon');
    const now = deps.clock.now();
    const next = await transition(
      deps,
      request,
      { status: 'abandoned', decision: { by: user, at: now.toISOString() } },
      { actor: user, action: 'abandoned', extra: { remaining: request.remaining ?? [] }, remove: ['abandonAt'] },
    );
    if (!next) continue;
    await handOff(deps, next, { tellRequester: true });
    return next;
  }
  throw new ConflictError('Too many people changed this request at once; try again.');
}
