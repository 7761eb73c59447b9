/** create-user's IAM and table actions (see types.ts). Data only. */
import type { KindPermissions } from './types.js';

export const createUserPermissions: KindPermissions = {
  // the form's checks: is the name free (GetUser of a name with no path yet), do the groups exist, can a new console
  // user change their password (the form and the command warn) (services/request-validation.ts,
  // services/console-password.ts); the inline command leaves the first two to the worker
  // /iam reissue reads the request's link (services/kinds/reissue.ts)
  slack: {
    anyUser: ['GetUser'],
    policyGroups: ['GetGroup'],
    iamAccount: ['GetAccountPasswordPolicy'],
    tables: { links: ['GetItem'] },
  },
  // provisioning and its undo (kinds/create-user-run.ts, services/provisioning.ts), and Reissue of its key (services/kinds/reissue-run.ts);
  // GetUser and GetGroup also check an inline command's request before it is posted (kinds/create-user.ts verify)
  worker: {
    managedUsers: [
      'CreateUser',
      'TagUser', // CreateUser with tags needs it
      'ListUserTags',
      'DeleteUser',
      'ListGroupsForUser',
      'CreateLoginProfile',
      'UpdateLoginProfile',
      'DeleteLoginProfile',
      'CreateAccessKey',
      'DeleteAccessKey',
      'ListAccessKeys',
    ],
    anyUser: ['GetUser'],
    policyGroups: ['AddUserToGroup', 'RemoveUserFromGroup', 'GetGroup'],
    iamAccount: ['GetAccountPasswordPolicy'], // the password is generated to the account's password policy
  },
};
