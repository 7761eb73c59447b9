import * as z from 'zod/mini';
import type { Deps } from '../deps.js';
import { followUpRequest } from '../services/requests.js';

const payloadSchema = z.object({
  requestId: z.string().check(z.minLength(1)),
  version: z.int(),
  tellRequester: z.boolean(),
  responseUrl: z.optional(z.url()),
  reply: z.optional(z.string()),
});

/** What a request's change on the Slack function left to do (see requestUpdateJob and followUpRequest). */
export async function requestUpdateJob(deps: Deps, payload: Record<string, unknown>): Promise<void> {
  const { requestId, version, tellRequester, responseUrl, reply } = payloadSchema.parse(payload);
  await followUpRequest(deps, requestId, version, {
    tellRequester,
    ...(responseUrl && reply ? { reply: { responseUrl, text: reply } } : {}),
  });
}
