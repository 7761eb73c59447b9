import * as z from 'zod/mini';
import { credentialReportStatusText } from '../blocks/credentials.js';
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
 * person privately, from the stored report, when it was reported before, or when they may not. Other errors
 * (a step that failed) are rethrown: the worker marks the job failed and Lambda's retry finishes what is left.
 */
export async function credentialNotMeJob(deps: Deps, payload: Record<string, unknown>): Promise<void> {
  const { linkId, userId, responseUrl } = payloadSchema.parse(payload);
  let text: string | undefined;
  try {
    const result = await reportUnrecognizedReveal(deps, { linkId, userId });
    if (result.state === 'already') text = credentialReportStatusText(result.link, result.progress, result.inProgress);
  } catch (error) {
    if (!(error instanceof BotError)) throw error;
    logger.warn('"This wasn\'t me" refused', { linkId, userId, reason: error.name });
    text = error.message;
  }
  if (text) await deps.messenger.respond(responseUrl, { text });
}
