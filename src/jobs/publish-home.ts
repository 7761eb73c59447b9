import * as z from 'zod/mini';
import { COMMAND_HELP } from '../blocks/command-help.js';
import type { Deps } from '../deps.js';
import { logger } from '../logger.js';
import { publishHome } from '../services/home.js';
import { slackErrorCode, unreachableMember } from '../services/slack-errors.js';
import type { AccessRequest } from '../store/requests.js';

/** One viewer (the tab was opened), or everyone one change concerns (see refreshHomes). */
const payloadSchema = z.object({
  user: z.optional(z.string().check(z.minLength(1))),
  users: z.optional(z.array(z.string().check(z.minLength(1)))),
});

/**
 * Publishes the App Home of each person named (see publishHome), reading the pending requests once for all of them.
 * One person's failure does not keep the others' tab from being published; the job then throws (a retry publishes
 * again, which is harmless), unless Slack will never publish for that person (deactivated, unknown, a bot): skipped.
 */
export async function publishHomeJob(deps: Deps, payload: Record<string, unknown>): Promise<void> {
  const { user, users = [] } = payloadSchema.parse(payload);
  const people = [...new Set([...(user ? [user] : []), ...users])];
  let pending: Promise<AccessRequest[]> | undefined;
  const pendingNow = () => {
    pending ??= deps.store.requests.pendingAt(deps.clock.now());
    return pending;
  };
  const failed: unknown[] = [];
  for (const person of people) {
    try {
      await publishHome(deps, person, [...COMMAND_HELP], pendingNow);
    } catch (error) {
      // A member Slack will never publish for (deactivated, unknown, a bot: an approver in policy.yml who left) is
      // skipped: failing the job would retry it, land it in the failed-jobs queue and notify the channel each time.
      if (unreachableMember(error)) {
        logger.warn('Skipped the App Home of a member Slack will not publish for', {
          member: person,
          error: slackErrorCode(error),
        });
        continue;
      }
      logger.error('Could not publish an App Home', { errorName: (error as Error)?.name });
      failed.push(error);
    }
  }
  if (failed.length)
    throw new AggregateError(failed, `Could not publish ${failed.length} of ${people.length} App Homes`);
}
