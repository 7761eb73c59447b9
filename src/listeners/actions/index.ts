import type { App } from '@slack/bolt';
import type { Deps } from '../../deps.js';
import { registerCredentialLinkActions } from './credential-link.js';

/** Registers every button listener; one file per feature, one line here each. */
export function registerActions(app: App, deps: Deps): void {
  registerCredentialLinkActions(app, deps);
}
