/** rotate-key's IAM and table actions (see types.ts). Data only. */
import type { KindPermissions } from './types.js';

/** A rotation's key steps (its delivery: kinds/rotate-key/rotation-delivery.ts; its life: rotation-run.ts): create,
 * deactivate, reactivate and delete keys. */
const rotationSteps = {
  managedUsers: ['CreateAccessKey', 'UpdateAccessKey', 'DeleteAccessKey', 'ListAccessKeys', 'GetAccessKeyLastUsed'],
  // each step first checks that the user still exists (a deleted user's ARN has no path)
  anyUser: ['GetUser'],
} as const;

export const rotateKeyPermissions: KindPermissions = {
  // /iam rotate-key's checks: the user, its owner, its keys (kinds/rotate-key/rotation.ts); "I've switched" and
  // /iam reissue read the new key's link
  slack: { anyUser: ['GetUser'], managedUsers: ['ListUserTags', 'ListAccessKeys'], tables: { links: ['GetItem'] } },
  // the first run and Reissue of the new key (services/kinds/reissue-run.ts); "Rotate now" from a key reminder runs
  // /iam rotate-key's checks (checkRotation: GetUser, ListUserTags, ListAccessKeys) and stores the rotation (PutItem)
  worker: {
    managedUsers: [...rotationSteps.managedUsers, 'ListUserTags'],
    anyUser: rotationSteps.anyUser,
    tables: { requests: ['PutItem'] },
  },
  // the scheduled steps (advanceKeyRotations): the grace period's end, deactivation, deletion, each followed by a
  // refresh of the user in the projection (userChanged: GetUser, ListGroupsForUser, its keys and console); Query:
  // whether the link of a rotation stored before requests recorded their link was opened (its audit events)
  schedule: {
    managedUsers: [
      'UpdateAccessKey',
      'DeleteAccessKey',
      'ListAccessKeys',
      'GetAccessKeyLastUsed',
      'ListGroupsForUser',
      'GetLoginProfile',
    ],
    anyUser: ['GetUser'],
    tables: { audit: ['Query'] },
  },
};
