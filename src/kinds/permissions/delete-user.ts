/** delete-user's IAM actions (see types.ts). Data only. */
import type { KindPermissions } from './types.js';

export const deleteUserPermissions: KindPermissions = {
  // /iam delete-user's checks: the user exists under a managed path, its owner (kinds/delete-user/submit.ts)
  slack: { anyUser: ['GetUser'], managedUsers: ['ListUserTags', 'ListGroupsForUser'] },
  // its run (kinds/delete-user/run.ts): the re-checks, the disabling (active keys deactivated, the console password
  // deleted), Cancel's reactivation of those keys, then after the window everything IAM requires removed before
  // DeleteUser, each listed first; only the policy's groups are left (RemoveUserFromGroup is granted on them alone)
  worker: {
    managedUsers: [
      'ListUserTags',
      'ListGroupsForUser',
      'ListAccessKeys',
      'UpdateAccessKey',
      'DeleteAccessKey',
      'GetLoginProfile',
      'DeleteLoginProfile',
      'ListSigningCertificates',
      'DeleteSigningCertificate',
      'ListSSHPublicKeys',
      'DeleteSSHPublicKey',
      'ListServiceSpecificCredentials',
      'DeleteServiceSpecificCredential',
      'ListMFADevices',
      'DeactivateMFADevice',
      'ListUserPolicies',
      'DeleteUserPolicy',
      'ListAttachedUserPolicies',
      'DetachUserPolicy',
      'DeleteUser',
    ],
    anyUser: ['GetUser'],
    policyGroups: ['RemoveUserFromGroup'],
    // a virtual MFA device, once deactivated, is deleted (its ARN is `mfa/<its name>`, not under the user's path)
    virtualMfa: ['DeleteVirtualMFADevice'],
  },
};
