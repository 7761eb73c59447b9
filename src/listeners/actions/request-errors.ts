import { BotError } from '../../errors.js';
import { logger } from '../../logger.js';

/**
 * What to tell someone whose click on a request did not go through: a BotError's own (safe) message, else a
 * generic line, the error being logged by name only.
 */
export function requestErrorText(error: unknown, what: string): string {
  if (error instanceof BotError) return error.message;
  logger.error('A request action failed', { what, errorName: (error as Error)?.name });
  return 'Something went wrong; nothing was changed. Try again.';
}
