import * as z from 'zod/mini';
import type { Deps } from '../deps.js';
import { publishRequest } from '../services/requests.js';

const payloadSchema = z.object({
  requestId: z.string().check(z.minLength(1)),
  confirmToRequester: z.boolean(),
  responseUrl: z.optional(z.url()),
});

/** Posts a new request to the approval channel (see publishRequest). */
export async function publishRequestJob(deps: Deps, payload: Record<string, unknown>): Promise<void> {
  const { requestId, confirmToRequester, responseUrl } = payloadSchema.parse(payload);
  await publishRequest(deps, requestId, { confirmToRequester, ...(responseUrl ? { responseUrl } : {}) });
}
