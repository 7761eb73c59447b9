/** rotate-key's IAM and table actions (see types.ts). Data only. */
import type { KindPermissions } from './types.js';

/** A rotation's key steps, all in the worker (its delivery: kinds/rotate-key/rotation-delivery.ts; its life, woken by
 * the runner's sweep: rotation-life.ts): create, deactivate, reactivate and delete keys, the old key's last use. */
const rotationSteps = {
  managedUsers: ['CreateAccessKey', 'UpdateAccessKey', 'DeleteAccessKey', 'ListAccessKeys', 'GetAccessKeyLastUsed'],
  // each step first checks that the user still exists (a deleted user's ARN has no path)
  anyUser: ['GetUser'],
} as const;

export const rotateKeyPermissions: KindPermissions = {
  // the checks of "Delete <key> and rotate" (the offer's button, after its ack): the user, its owner, its keys
  // (kinds/rotate-key/check.ts; /iam rotate-key itself leaves them to the worker); "I've switched" and /iam reissue
  // read the new key's link; ConditionCheckItem: storing a rotation of a user rotated before checks, in the
  // transaction that takes the user's rotation pointer over, that the earlier rotation has ended (kinds/rotate-key/
  // reserve.ts)
  slack: {
    anyUser: ['GetUser'],
    managedUsers: ['ListUserTags', 'ListAccessKeys'],
    tables: { links: ['GetItem'], requests: ['ConditionCheckItem'] },
  },
  // the run: delivery, then the life's steps (grace, deactivation, reactivation, deletion, cancellation), each key
  // change followed by a refresh of the user in the projection (userChanged: GetUser, ListGroupsForUser, its keys
  // and console); Reissue of the new key (services/kinds/reissue-run.ts); /iam rotate-key's checks of the rotation
  // the command stored (verifyRotation) and "Rotate now" from a key reminder (checkRotation, then it stores the
  // rotation: PutItem, and for a user rotated before ConditionCheckItem, as the command): GetUser, ListUserTags,
  // ListAccessKeys
  worker: {
    managedUsers: [...rotationSteps.managedUsers, 'ListUserTags', 'ListGroupsForUser', 'GetLoginProfile'],
    anyUser: rotationSteps.anyUser,
    tables: { requests: ['PutItem', 'ConditionCheckItem'] },
  },
};
