import type { App } from '@slack/bolt';
import type { Deps } from '../deps.js';
import { registerActions } from './actions/index.js';
import { registerCommands } from './commands/index.js';
import { registerAppHome } from './events/app-home.js';
import { registerUserChange } from './events/user-change.js';
import { registerViews } from './views/index.js';

/** Registers every Slack surface the bot answers. */
export function registerListeners(app: App, deps: Deps): void {
  registerCommands(app, deps);
  registerAppHome(app, deps);
  registerUserChange(app, deps);
  registerActions(app, deps);
  registerViews(app, deps);
}
