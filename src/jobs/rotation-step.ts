import * as z from 'zod/mini';
import type { Deps } from '../deps.js';
import { rotationStepJob as finishStep } from '../kinds/rotate-key/rotation-run.js';

const payloadSchema = z.object({ requestId: z.string().check(z.minLength(1)), version: z.int() });

/** The IAM write an owner's click on a rotation announced (see clickRotation). */
export async function rotationStepJob(deps: Deps, payload: Record<string, unknown>): Promise<void> {
  const { requestId } = payloadSchema.parse(payload);
  await finishStep(deps, requestId);
}
