/**
 * Every kind's permission declaration, by kind id: what src/deploy/roles.ts unions into the functions' roles. Data
 * only (type imports aside), so the build and scripts/role.mjs load no kind code, and the kind modules (loaded by the
 * Slack function) do not carry it: a second, data-only registry beside src/kinds/registry.ts (a kind missing here
 * does not compile).
 */
import type { RequestKind } from '../../services/plans/types.js';
import { temporaryMembershipPermissions } from '../temporary-membership/permissions.js';
import { addToGroupPermissions } from './add-to-group.js';
import { createUserPermissions } from './create-user.js';
import { deleteUserPermissions } from './delete-user.js';
import { offboardPermissions } from './offboard.js';
import { removeFromGroupPermissions } from './remove-from-group.js';
import { rotateKeyPermissions } from './rotate-key.js';
import { setOwnerPermissions } from './set-owner.js';
import type { KindPermissions } from './types.js';

export const KIND_PERMISSIONS: Readonly<Record<RequestKind, KindPermissions>> = {
  'create-user': createUserPermissions,
  'add-to-group': addToGroupPermissions,
  'remove-from-group': removeFromGroupPermissions,
  'set-owner': setOwnerPermissions,
  'rotate-key': rotateKeyPermissions,
  offboard: offboardPermissions,
  'temporary-membership': temporaryMembershipPermissions,
  'delete-user': deleteUserPermissions,
};
