import * as z from 'zod/mini';
import type { Deps } from '../deps.js';
import { provisionRequest } from '../services/provision-request.js';

const payloadSchema = z.object({
  requestId: z.string().check(z.minLength(1)),
  attempt: z.int().check(z.minimum(1)),
  /** Tell the requester it was approved (a first approval; not a Retry). */
  announce: z.optional(z.boolean()),
});

/** Creates the IAM user of an approved request (see provisionRequest); a handled failure does not throw. */
export async function provisionJob(deps: Deps, payload: Record<string, unknown>): Promise<void> {
  const { requestId, attempt, announce } = payloadSchema.parse(payload);
  await provisionRequest(deps, requestId, attempt, { announce: announce ?? false });
}
