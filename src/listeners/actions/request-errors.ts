import type { RespondFn } from '@slack/bolt';
import { BotError } from '../../errors.js';
import { logger } from '../../logger.js';
import { AnsweredConflictError } from '../../services/requests.js';

/**
 * What to tell someone whose click on a request did not go through: a BotError's own (safe) message, else a
 * generic line, the error being logged by name only.
 */
export function requestErrorText(error: unknown, what: string): string {
  if (error instanceof BotError) return error.message;
  logger.error('A request action failed', { what, errorName: (error as Error)?.name });
  return 'Something went wrong; nothing was changed. Try again.';
}

/** Answers a refused click ephemerally, unless the worker answers it (AnsweredConflictError). */
export async function answerRefusal(respond: RespondFn, error: unknown, what: string): Promise<void> {
  if (error instanceof AnsweredConflictError) return;
  await respond({ response_type: 'ephemeral', replace_original: false, text: requestErrorText(error, what) });
}
