import type { RespondFn } from '@slack/bolt';
import { BotError } from '../../errors.js';
import { appendLogKeys, logger } from '../../logger.js';
import { AnsweredConflictError } from '../../services/requests.js';

/**
 * What to tell someone whose click on a request did not go through: a BotError's own (safe) message, else a
 * generic line, the error being logged by name only.
 */
export function requestErrorText(error: unknown, what: string): string {
  // the Slack request's last log line says how it ended
  appendLogKeys({ outcome: error instanceof BotError ? 'refused' : 'failed' });
  if (error instanceof BotError) return error.message;
  logger.error('A request action failed', { what, errorName: (error as Error)?.name });
  return 'Something went wrong; nothing was changed. Try again.';
}

/**
 * Answers a refused click ephemerally, unless the worker answers it (AnsweredConflictError). A click in the App Home
 * has no response_url (Bolt gives no `respond`): the answer goes to the clicker's DM through `dm`.
 */
export async function answerRefusal(
  respond: RespondFn | undefined,
  error: unknown,
  what: string,
  dm?: (text: string) => Promise<unknown>,
): Promise<void> {
  if (error instanceof AnsweredConflictError) return;
  const text = requestErrorText(error, what);
  if (respond) await respond({ response_type: 'ephemeral', replace_original: false, text });
  else await dm?.(text);
}
