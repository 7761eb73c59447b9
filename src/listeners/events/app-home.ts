import type { App } from '@slack/bolt';
import { helpMessage } from '../../blocks/help.js';
import { subcommands } from '../commands/index.js';

/** App Home tab: what the bot does and how to use it. */
export function registerAppHome(app: App): void {
  app.event('app_home_opened', async ({ event, client }) => {
    if (event.tab !== 'home') return;
    await client.views.publish({
      user_id: event.user,
      view: { type: 'home', blocks: helpMessage([...subcommands]).blocks as never },
    });
  });
}
