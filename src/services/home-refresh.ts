import type { Deps } from '../deps.js';
import type { Job } from '../jobs/types.js';
import { logger } from '../logger.js';

/** At most this many App Homes are refreshed for one change (a large approver user group gets the next open). */
export const HOMES_REFRESHED_MAX = 50;

/**
 * The job that publishes `user`'s App Home because of `cause` (a request's version, a user's change): one per person
 * and cause, so a repeated delivery or a rerun of the same follow-up publishes once.
 */
export const publishHomeJob = (user: string, cause: string): Job => ({
  id: `home:${user}:${cause}`.slice(0, 500),
  type: 'publish-home',
  payload: { user },
});

/**
 * Hands the refresh of these people's App Home to the worker (one `publish-home` job each, at most
 * HOMES_REFRESHED_MAX, ids from `cause`: idempotent). Never throws: the change that caused it stands, and the tab is
 * published again whenever its viewer opens it.
 */
export async function refreshHomes(
  deps: Pick<Deps, 'dispatcher'>,
  users: readonly (string | undefined)[],
  cause: string,
): Promise<void> {
  const people = [...new Set(users.filter((u): u is string => Boolean(u) && /^[UW][A-Z0-9]+$/.test(u as string)))];
  await Promise.all(
    people
      .slice(0, HOMES_REFRESHED_MAX)
      .map((user) =>
        deps.dispatcher
          .dispatch(publishHomeJob(user, cause))
          .catch((error: unknown) =>
            logger.error('Could not hand an App Home refresh over', { errorName: (error as Error)?.name }),
          ),
      ),
  );
}
