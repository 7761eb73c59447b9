/**
 * The shape of a kind's permission declaration: data only, no imports, so that the role builder (src/deploy/roles.ts,
 * run by the build and scripts/role.mjs) reads what the kinds declare without loading their rendering or Slack code.
 */

/** The Lambda functions (src/handlers/<name>.ts). */
export type FunctionName = 'slack' | 'web' | 'worker' | 'schedule';

/** The state tables (src/store/*: `<TABLE_PREFIX><table>`). */
export type TableName = 'requests' | 'links' | 'jobs' | 'audit' | 'users' | 'reminders';

/** What one function calls for one kind (actions without their service prefix, e.g. `CreateAccessKey`). */
export interface Permissions {
  /** IAM actions on users under the managed paths. */
  managedUsers?: readonly string[];
  /** IAM actions on any user (only GetUser: a name not taken yet is authorized against `user/<name>`, no path). */
  anyUser?: readonly string[];
  /** IAM actions on the policy's groups. */
  policyGroups?: readonly string[];
  /** IAM actions without a resource type (IAM accepts only `*`). */
  iamAccount?: readonly string[];
  /** IAM actions on virtual MFA devices (any: `mfa/*`; IAM refuses to delete one still assigned to a user). */
  virtualMfa?: readonly string[];
  /** DynamoDB actions per table. */
  tables?: Partial<Record<TableName, readonly string[]>>;
}

/**
 * What a kind's code calls, per function, beyond the base every kind shares (src/deploy/roles.ts BASE_NEEDS: the
 * request life cycle, the projection refresh, credential delivery, ...). The roles are the union of the base and every
 * kind's declaration, so removing a kind removes exactly the actions only it declared.
 */
export type KindPermissions = Readonly<Partial<Record<FunctionName, Permissions>>>;
