import type { Deps } from '../deps.js';
import type { Job } from '../jobs/types.js';
import { logger } from '../logger.js';

/** At most this many App Homes are refreshed for one change (a large approver user group gets the next open). */
export const HOMES_REFRESHED_MAX = 50;

/**
 * The job that publishes the App Home of `users` because of `cause` (a request's version, a user's change): one per
 * cause, so a repeated delivery or a rerun of the same follow-up publishes once. One job for everyone concerned: the
 * pending requests are read once for all of them.
 */
export const publishHomesJob = (users: readonly string[], cause: string): Job => ({
  id: `home:${cause}`.slice(0, 500),
  type: 'publish-home',
  payload: { users: [...users] },
});

/**
 * Hands the refresh of these people's App Home to the worker (one `publish-home` job for at most
 * HOMES_REFRESHED_MAX people, its id from `cause`: idempotent). Never throws: the change that caused it stands, and
 * the tab is published again whenever its viewer opens it.
 */
export async function refreshHomes(
  deps: Pick<Deps, 'dispatcher'>,
  users: readonly (string | undefined)[],
  cause: string,
): Promise<void> {
  const people = [...new Set(users.filter((u): u is string => Boolean(u) && /^[UW][A-Z0-9]+$/.test(u as string)))];
  if (!people.length) return;
  await deps.dispatcher
    .dispatch(publishHomesJob(people.slice(0, HOMES_REFRESHED_MAX), cause))
    .catch((error: unknown) =>
      logger.error('Could not hand an App Home refresh over', { errorName: (error as Error)?.name }),
    );
}
