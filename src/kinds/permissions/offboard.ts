/** offboard's IAM and table actions (see types.ts). Data only. */
import type { KindPermissions } from './types.js';

export const offboardPermissions: KindPermissions = {
  // the run and Reactivate (services/kinds/offboard.ts): the leaver's users (their owner tag), their keys deactivated
  // and reactivated, console passwords read and removed; the IAM users the leaver owns outside the managed paths,
  // listed (never touched); an offboarding is stored by the worker (PutItem), and a leaver's pending requests found
  // through the sweep index (Query)
  worker: {
    managedUsers: ['ListUserTags', 'ListAccessKeys', 'UpdateAccessKey', 'GetLoginProfile', 'DeleteLoginProfile'],
    iamAccount: ['GetAccountAuthorizationDetails'],
    tables: { requests: ['PutItem', 'Query'] },
  },
};
