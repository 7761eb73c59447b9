import * as z from 'zod/mini';
import type { Deps } from '../deps.js';
import { refreshApproverHomes } from '../services/requests.js';
import { runRequest } from '../services/runner/kinds.js';

const payloadSchema = z.object({
  requestId: z.string().check(z.minLength(1)),
  attempt: z.int().check(z.minimum(1)),
  /** Tell the requester it was approved (a first approval; not a Retry). */
  announce: z.optional(z.boolean()),
});

/**
 * Runs an approved request's plan on the resumable runner, by its kind (see src/services/runner/kinds.ts): creates the IAM user, changes one, rotates a
 * key or offboards someone; a handled failure does not throw. Then, on a first approval, refreshes the approvers' App
 * Homes (the request no longer waits there): after the run, so that the run's fast path (a one-time link) waits for
 * none of it, and even when the run threw; a worker killed before it refreshes them when Lambda retries the job.
 */
export async function provisionJob(deps: Deps, payload: Record<string, unknown>): Promise<void> {
  const { requestId, attempt, announce } = payloadSchema.parse(payload);
  try {
    // A request no longer stored: nothing runs.
    await runRequest(deps, requestId, attempt, { announce: announce ?? false });
  } finally {
    const request = announce ? await deps.store.requests.get(requestId) : undefined;
    if (request) await refreshApproverHomes(deps, request, `req:${requestId}:approved`);
  }
}
