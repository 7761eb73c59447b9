import { z } from 'zod';
import type { Deps } from '../deps.js';
import { provisionRequest } from '../services/provision-request.js';

const payloadSchema = z.object({ requestId: z.string().min(1), attempt: z.int().min(1) });

/** Creates the IAM user of an approved request (see provisionRequest); a handled failure does not throw. */
export async function provisionJob(deps: Deps, payload: Record<string, unknown>): Promise<void> {
  const { requestId, attempt } = payloadSchema.parse(payload);
  await provisionRequest(deps, requestId, attempt);
}
