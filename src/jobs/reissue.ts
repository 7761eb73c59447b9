import * as z from 'zod/mini';
import type { Deps } from '../deps.js';
import { reissueCredentials } from '../services/kinds/reissue-run.js';

const payloadSchema = z.object({
  requestId: z.string().check(z.minLength(1)),
  issue: z.int(),
  approver: z.string(),
  responseUrl: z.optional(z.url()),
});

/** `/iam reissue`'s slow half: a fresh key and link for credentials nobody received (see reissueCredentials). */
export async function reissueJob(deps: Deps, payload: Record<string, unknown>): Promise<void> {
  const { requestId, issue, approver, responseUrl } = payloadSchema.parse(payload);
  const text = await reissueCredentials(deps, requestId, issue, approver);
  if (responseUrl) await deps.messenger.respond(responseUrl, { text });
}
