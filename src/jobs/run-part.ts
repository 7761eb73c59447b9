import * as z from 'zod/mini';
import type { Deps } from '../deps.js';
import { runPart } from '../services/runner/engine.js';
import { runKindOf } from '../services/runner/kinds.js';

const payloadSchema = z.object({
  requestId: z.string().check(z.minLength(1)),
  attempt: z.int().check(z.minimum(1)),
  part: z.int().check(z.minimum(1)),
});

/** One part of a request's run on the resumable runner (see runPart): the continuation of the part before it. */
export async function runPartJob(deps: Deps, payload: Record<string, unknown>): Promise<void> {
  const { requestId, attempt, part } = payloadSchema.parse(payload);
  const request = await deps.store.requests.get(requestId);
  const kind = request && runKindOf(request);
  if (!kind) return;
  await runPart(deps, kind, requestId, attempt, part);
}
