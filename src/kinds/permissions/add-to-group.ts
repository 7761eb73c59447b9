/** add-to-group's IAM actions (see types.ts). Data only. */
import type { KindPermissions } from './types.js';

export const addToGroupPermissions: KindPermissions = {
  // the request's checks: the user exists under a managed path, its owner and groups, the groups exist
  // (services/kinds/change-requests.ts, services/kinds/user-state.ts)
  slack: { anyUser: ['GetUser'], managedUsers: ['ListUserTags', 'ListGroupsForUser'], policyGroups: ['GetGroup'] },
  // its plan: the user's state read again, then one AddUserToGroup per group (services/plans/execute.ts)
  worker: { managedUsers: ['ListUserTags', 'ListGroupsForUser'], policyGroups: ['AddUserToGroup'] },
};
