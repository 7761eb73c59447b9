/** temporary-membership's IAM actions (see types.ts). Data only. */
import type { KindPermissions } from './types.js';

export const temporaryMembershipPermissions: KindPermissions = {
  // the request's checks, as add-to-group's: the user under a managed path, its owner and groups, the groups exist
  // (services/kinds/change-requests.ts)
  slack: { anyUser: ['GetUser'], managedUsers: ['ListUserTags', 'ListGroupsForUser'], policyGroups: ['GetGroup'] },
  // its run (kinds/temporary-membership/run.ts): the user's state read again, one AddUserToGroup per group (undone by
  // RemoveUserFromGroup on a failure), and at the end one RemoveUserFromGroup per group it added (a removal IAM says
  // is gone is checked with ListGroupsForUser)
  worker: {
    managedUsers: ['ListUserTags', 'ListGroupsForUser'],
    policyGroups: ['AddUserToGroup', 'RemoveUserFromGroup'],
  },
};
