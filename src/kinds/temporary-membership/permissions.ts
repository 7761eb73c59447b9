/** temporary-membership's IAM actions (see src/kinds/permissions/types.ts). Data only. */
import { addToGroupPermissions } from '../permissions/add-to-group.js';
import type { KindPermissions } from '../permissions/types.js';

// add-to-group's checks and run; its end removes with the RemoveUserFromGroup that add-to-group's undo already needs
// (a removal IAM says is gone is checked with ListGroupsForUser) (./run.ts)
export const temporaryMembershipPermissions: KindPermissions = addToGroupPermissions;
