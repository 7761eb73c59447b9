/** add-to-group's IAM actions (see types.ts). Data only. */
import type { KindPermissions } from './types.js';

export const addToGroupPermissions: KindPermissions = {
  // the request's checks: the user exists under a managed path, its owner and groups, the groups exist
  // (services/kinds/change-requests.ts, services/kinds/user-state.ts)
  slack: { anyUser: ['GetUser'], managedUsers: ['ListUserTags', 'ListGroupsForUser'], policyGroups: ['GetGroup'] },
  // the same checks of a request typed inline, made by the worker before it posts (verifyChange in
  // services/kinds/change-checks.ts); its run: the user's state read again, then one AddUserToGroup per group, and on
  // a failure the runner's undo of those it did (RemoveUserFromGroup; a removal IAM says is gone is checked with
  // ListGroupsForUser) (kinds/change/run.ts)
  worker: {
    anyUser: ['GetUser'],
    managedUsers: ['ListUserTags', 'ListGroupsForUser'],
    policyGroups: ['GetGroup', 'AddUserToGroup', 'RemoveUserFromGroup'],
  },
};
