import type { App } from '@slack/bolt';
import type { Deps } from '../../deps.js';
import { logger } from '../../logger.js';
import { leaverJob, leaverRequestId } from '../../services/kinds/offboard.js';

/**
 * `user_change`: a member deactivated (`deleted: true`) is handed to the worker, which checks with users.info before
 * acting (never the event alone); one job per event id, so Slack's retries of one event are one job. A member the bot
 * offboarded who shows up active again is handed over too: the approval channel is told (nothing is given back).
 * Any other profile change costs one read and nothing else.
 */
export function registerUserChange(app: App, deps: Deps): void {
  app.event('user_change', async ({ event, body }) => {
    const member = (event as { user?: { id?: string; deleted?: boolean } }).user;
    if (!member?.id) return;
    const eventId = (body as { event_id?: string }).event_id ?? String((event as { event_ts?: string }).event_ts ?? '');
    try {
      if (member.deleted === true) {
        await deps.dispatcher.dispatch(leaverJob(member.id, 'event', eventId));
        return;
      }
      const handled = await deps.store.requests.get(leaverRequestId(member.id));
      if (handled?.offboard && !handled.offboard.returnedAt)
        await deps.dispatcher.dispatch({
          id: `leaver-back:${member.id}:${eventId}`, // told once: noticeMemberBack's conditional write
          type: 'leaver-back',
          payload: { member: member.id },
        });
    } catch (error) {
      // The daily check (reconcile-owners) finds a leaver whose event was lost.
      logger.error('Could not hand a user_change over', { errorName: (error as Error)?.name });
    }
  });
}
