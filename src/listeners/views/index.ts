import type { App } from '@slack/bolt';
import type { Deps } from '../../deps.js';
import { registerCreateUserView } from './create-user.js';
import { registerDenyReasonView } from './deny-reason.js';
import { registerGiveToView } from './give-to.js';
import { registerMembershipView } from './group-membership.js';

/** Registers every form (modal) submission listener; one file per form. */
export function registerViews(app: App, deps: Deps): void {
  registerCreateUserView(app, deps);
  registerDenyReasonView(app, deps);
  registerMembershipView(app, deps);
  registerGiveToView(app, deps);
}
