/** set-owner's IAM actions (see types.ts). Data only. */
import type { KindPermissions } from './types.js';

export const setOwnerPermissions: KindPermissions = {
  // the request's checks: the user exists under a managed path, its owner (services/kinds/change-requests.ts)
  slack: { anyUser: ['GetUser'], managedUsers: ['ListUserTags', 'ListGroupsForUser'] },
  // its run: the user's state read again, then the owner tag (kinds/change/run.ts)
  worker: { managedUsers: ['ListUserTags', 'ListGroupsForUser', 'TagUser'] },
};
