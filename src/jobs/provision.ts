import * as z from 'zod/mini';
import type { Deps } from '../deps.js';
import { runOffboard } from '../services/kinds/offboard.js';
import { runKeyRotation } from '../services/kinds/rotation-run.js';
import { runChangeRequest } from '../services/kinds/run-change.js';
import { provisionRequest } from '../services/provision-request.js';
import { kindOf, refreshApproverHomes } from '../services/requests.js';

const payloadSchema = z.object({
  requestId: z.string().check(z.minLength(1)),
  attempt: z.int().check(z.minimum(1)),
  /** Tell the requester it was approved (a first approval; not a Retry). */
  announce: z.optional(z.boolean()),
});

/**
 * Runs an approved request's plan by its kind: creates the IAM user (see provisionRequest) or changes one (see
 * runChangeRequest); a handled failure does not throw.
 */
export async function provisionJob(deps: Deps, payload: Record<string, unknown>): Promise<void> {
  const { requestId, attempt, announce } = payloadSchema.parse(payload);
  const request = await deps.store.requests.get(requestId);
  // Approved: it no longer waits in the approvers' App Home.
  if (request && announce) await refreshApproverHomes(deps, request, `req:${requestId}:approved`);
  if (request && kindOf(request) === 'rotate-key') {
    await runKeyRotation(deps, requestId, attempt, { announce: announce ?? false });
    return;
  }
  if (request && kindOf(request) === 'offboard') {
    await runOffboard(deps, requestId, attempt);
    return;
  }
  if (request && kindOf(request) !== 'create-user') {
    await runChangeRequest(deps, requestId, attempt, { announce: announce ?? false });
    return;
  }
  await provisionRequest(deps, requestId, attempt, { announce: announce ?? false });
}
