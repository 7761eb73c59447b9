/** temporary-membership's IAM actions (see types.ts). Data only. */
import { addToGroupPermissions } from './add-to-group.js';
import type { KindPermissions } from './types.js';

// add-to-group's checks and run; its end removes with the RemoveUserFromGroup that add-to-group's undo already needs
// (a removal IAM says is gone is checked with ListGroupsForUser) (kinds/temporary-membership/run.ts)
export const temporaryMembershipPermissions: KindPermissions = addToGroupPermissions;
