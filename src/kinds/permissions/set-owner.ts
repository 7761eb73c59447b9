/** set-owner's IAM actions (see types.ts). Data only. */
import type { KindPermissions } from './types.js';

export const setOwnerPermissions: KindPermissions = {
  // the request's checks: the user exists under a managed path, its owner (services/kinds/change-requests.ts)
  slack: { anyUser: ['GetUser'], managedUsers: ['ListUserTags', 'ListGroupsForUser'] },
  // the same checks of a request typed inline, made by the worker before it posts (verifyChange in
  // services/kinds/change-checks.ts); its run: the user's state read again, then the owner tag (kinds/change/run.ts)
  worker: { anyUser: ['GetUser'], managedUsers: ['ListUserTags', 'ListGroupsForUser', 'TagUser'] },
};
