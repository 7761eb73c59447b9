import type { App } from '@slack/bolt';
import type { Deps } from '../../deps.js';
import { logger } from '../../logger.js';

/**
 * App Home tab: the worker publishes it (the viewer's IAM users, their key rotations, how to use the bot), so that
 * opening the tab costs the Slack function one hand-off and no read.
 */
export function registerAppHome(app: App, deps: Deps): void {
  app.event('app_home_opened', async ({ event }) => {
    if (event.tab !== 'home') return;
    await deps.dispatcher
      .dispatch({ id: `home:${event.user}:${event.event_ts}`, type: 'publish-home', payload: { user: event.user } })
      .catch((error: unknown) =>
        logger.error('Could not hand the App Home over', { errorName: (error as Error)?.name }),
      );
  });
}
