/**
 * Slack's error codes (`data.error` of a Web API platform error, or of a refused response_url post) and what they
 * mean for the one who posted. Services read them here, never from @slack/*.
 */

/** Slack's error code of a failed call, or the error's name when Slack gave none (network, HTTP 5xx...). */
export function slackErrorCode(error: unknown): string {
  return (error as { data?: { error?: string } } | null)?.data?.error ?? (error as Error)?.name ?? 'error';
}

/**
 * Answers to a DM (chat.postMessage to a user id) or an App Home publish (views.publish) that will not change by
 * trying again: the member is deactivated or unknown (`channel_not_found`, `user_not_found`, `user_disabled`), a bot
 * (`cannot_dm_bot`), or the conversation is closed to the bot (`is_archived`, `not_in_channel`).
 */
const UNREACHABLE = new Set([
  'channel_not_found',
  'user_not_found',
  'user_disabled',
  'cannot_dm_bot',
  'is_archived',
  'not_in_channel',
]);

/** Whether a DM or App Home publish failed for good (see UNREACHABLE): retrying it only repeats the failure. */
export function unreachableMember(error: unknown): boolean {
  return UNREACHABLE.has(slackErrorCode(error));
}
