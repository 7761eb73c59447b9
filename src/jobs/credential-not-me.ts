import * as z from 'zod/mini';
import type { Deps } from '../deps.js';
import { BotError } from '../errors.js';
import { logger } from '../logger.js';
import { reportUnrecognizedReveal } from '../services/credential-links.js';

const payloadSchema = z.object({
  linkId: z.string().check(z.minLength(1)),
  userId: z.string().check(z.minLength(1)),
  responseUrl: z.url(),
});

/**
 * "This wasn't me", after the click was acked: reports the reveal (see reportUnrecognizedReveal) and answers the
 * person privately when there is nothing to do or they may not. Other errors are rethrown for a retry.
 */
export async function credentialNotMeJob(deps: Deps, payload: Record<string, unknown>): Promise<void> {
  const { linkId, userId, responseUrl } = payloadSchema.parse(payload);
  let text: string | undefined;
  try {
    const result = await reportUnrecognizedReveal(deps, { linkId, userId });
    if (result.state === 'already') {
      text = 'You already reported these credentials: the key was deactivated and the approvers alerted.';
    }
  } catch (error) {
    if (!(error instanceof BotError)) throw error;
    logger.warn('"This wasn\'t me" refused', { linkId, userId, reason: error.name });
    text = error.message;
  }
  if (text) await deps.messenger.respond(responseUrl, { text });
}
