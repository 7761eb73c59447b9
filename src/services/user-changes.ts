import type { Deps } from '../deps.js';

/**
 * Called by the worker after the bot changed an IAM user (created it, changed its groups, owner, keys or password),
 * so that what the bot knows of the user (the ownership projection) follows at once, not only at the next scheduled
 * refresh. Must be idempotent and never throw: the change itself stands whatever happens here.
 */
export async function userChanged(
  _deps: Pick<Deps, 'aws' | 'store' | 'clock' | 'config'>,
  _account: string,
  _userName: string,
): Promise<void> {
  // The ownership projection hooks in here.
}
