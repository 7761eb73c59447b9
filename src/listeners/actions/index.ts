import type { App } from '@slack/bolt';
import type { Deps } from '../../deps.js';
import { registerTemporaryMembershipActions } from '../../kinds/temporary-membership/listener.js';
import { registerAccessReviewActions } from './access-review.js';
import { registerAuditMoreAction } from './audit-more.js';
import { registerCredentialLinkActions } from './credential-link.js';
import { registerDeleteUserActions } from './delete-user.js';
import { registerJobRerunAction } from './job-rerun.js';
import { registerKeyReminderActions } from './key-reminders.js';
import { registerOffboardActions } from './offboard.js';
import { registerAbandonAction } from './request-abandon.js';
import { registerApproveAction } from './request-approve.js';
import { registerDenyAction } from './request-deny.js';
import { registerRetryAction } from './request-retry.js';
import { registerRotationActions } from './rotation.js';

/** Registers every button listener; one file per feature, one line here each. */
export function registerActions(app: App, deps: Deps): void {
  registerCredentialLinkActions(app, deps);
  registerApproveAction(app, deps);
  registerDenyAction(app, deps);
  registerRetryAction(app, deps);
  registerAbandonAction(app, deps);
  registerRotationActions(app, deps);
  registerOffboardActions(app, deps);
  registerKeyReminderActions(app, deps);
  registerJobRerunAction(app, deps);
  registerAuditMoreAction(app, deps);
  registerTemporaryMembershipActions(app, deps);
  registerDeleteUserActions(app, deps);
  registerAccessReviewActions(app, deps);
}
