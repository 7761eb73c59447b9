/**
 * The scheduled sweeps: expire pending requests past their lifetime, abandon failed ones past theirs, fail stalled
 * provisioning.
 */
import { kindOf } from '../../kinds/registry.js';
import type { AccessRequest } from '../../store/requests.js';
import { audit } from './audit.js';
import { abandonAtFrom, type RequestDeps } from './common.js';
import { syncApprovalMessage, tellApproversOfFailure, tellRequester } from './tell.js';

/**
 * Expires a pending request (conditional on its version): message updated, buttons gone, requester told.
 * Returns false when the request had changed meanwhile (someone decided it first).
 */
export async function expireRequest(deps: RequestDeps, request: AccessRequest): Promise<boolean> {
  if (request.status !== 'pending') return false;
  const now = deps.clock.now();
  const next = await deps.store.requests.update(
    request,
    { status: 'expired', decision: { by: 'system', at: now.toISOString() } },
    now,
  );
  if (!next) return false;
  await audit(deps, next, 'system', 'expired', { expiresAt: request.expiresAt });
  await syncApprovalMessage(deps, next);
  await tellRequester(deps, next);
  return true;
}

/** Expires every pending request past its lifetime. Safe to run again: each expiry is a conditional write. */
export async function expireDueRequests(deps: RequestDeps): Promise<{ expired: number }> {
  let expired = 0;
  for (const request of await deps.store.requests.pendingExpiredAt(deps.clock.now())) {
    if (await expireRequest(deps, request)) expired++;
  }
  return { expired };
}

/**
 * Abandons every failed request past its failed-request lifetime (`abandonAt`): it ends and releases its IAM user
 * name, audited with what it left in IAM; the message is updated and the requester told. Safe to run again.
 */
export async function abandonExpiredFailures(deps: RequestDeps): Promise<{ abandoned: number }> {
  let abandoned = 0;
  const now = deps.clock.now();
  for (const request of await deps.store.requests.failedPastLifetimeAt(now)) {
    const next = await deps.store.requests.update(
      request,
      {
        status: 'abandoned',
        decision: { by: 'system', at: now.toISOString(), reason: 'failed-request lifetime over' },
      },
      now,
      ['abandonAt'],
    );
    if (!next) continue;
    abandoned++;
    await audit(deps, next, 'system', 'abandoned', {
      remaining: request.remaining ?? [],
      abandonAt: request.abandonAt ?? null,
    });
    await syncApprovalMessage(deps, next);
    await tellRequester(deps, next);
  }
  return { abandoned };
}

/**
 * Fails requests whose provisioning stopped midway (the worker timed out or crashed, and Lambda's retries were
 * skipped while the job was still claimed), so that approvers get Retry, which continues from what exists. Undoes
 * nothing itself. Safe to run again: each change is a conditional write.
 */
export async function failStalledProvisioning(deps: RequestDeps): Promise<{ stalled: number }> {
  let stalled = 0;
  for (const request of await deps.store.requests.stalledAt(deps.clock.now())) {
    if (request.run?.attempt === request.attempt) continue; // the runner's: resumeStalledRuns resumes it
    const failed = await deps.store.requests.update(
      request,
      {
        status: 'failed',
        error:
          request.status === 'approved'
            ? 'provisioning never started (the worker was not reached)'
            : 'provisioning stopped before it finished (the worker timed out or crashed)',
        remaining: [kindOf(request).words.stalledRemaining(request)],
        abandonAt: abandonAtFrom(deps),
      },
      deps.clock.now(),
    );
    if (!failed) continue;
    stalled++;
    await audit(deps, failed, 'system', 'provisioning-stalled', { since: request.updatedAt });
    await syncApprovalMessage(deps, failed);
    await tellRequester(deps, failed);
    await tellApproversOfFailure(deps, failed);
  }
  return { stalled };
}
