/**
 * The IAM permissions of the bot, derived from the access policy and from what each function's code calls. Used at
 * build time (scripts/build.mjs writes the Lambda roles for serverless.yml; scripts/role.mjs prints the role another
 * account needs) and by the tests, which evaluate every AWS call the suite makes against these same documents
 * (test/support/role-checker.ts). Never part of a Lambda bundle.
 *
 * Least privilege, by construction:
 * - user actions only on users under the managed paths (`users.path` and `users.managedPaths`), except `GetUser` on
 *   any user: IAM authorizes it for a user that does not exist against `user/<name>`, without a path, so a
 *   path-scoped grant answers AccessDenied where the name check needs NoSuchEntity;
 * - group membership only on the ARNs of the groups policy.yml lists (`AddUserToGroup` is authorized on the group
 *   alone: `group/*` would let the bot put any user in any group);
 * - `sts:AssumeRole` only on the named accounts' role ARNs;
 * - `*` only for actions that have no resource type;
 * - per function, only the actions its code calls (the test suite fails on a granted action no test exercises): a base
 *   every kind shares (BASE_NEEDS) and the union of what each kind of request declares it calls
 *   (src/kinds/permissions/, data only: this file loads no kind code).
 */
import type { Policy } from '../config.js';

import { KIND_PERMISSIONS } from '../kinds/permissions/index.js';
import type {
  FunctionName as FunctionNameOf,
  KindPermissions,
  Permissions,
  TableName as TableNameOf,
} from '../kinds/permissions/types.js';

/** The Lambda functions (src/handlers/<name>.ts). */
export const FUNCTIONS = ['slack', 'web', 'worker', 'schedule'] as const satisfies readonly FunctionNameOf[];
export type FunctionName = FunctionNameOf;

/** The state tables (src/store/*: `<TABLE_PREFIX><table>`). */
export const TABLES = [
  'requests',
  'links',
  'jobs',
  'audit',
  'users',
  'reminders',
] as const satisfies readonly TableNameOf[];
export type TableName = TableNameOf;

/** What one function's code calls. Each list is checked by the test suite against the calls it really makes. */
export interface FunctionNeeds {
  /** IAM actions on users under the managed paths. */
  managedUsers: string[];
  /** IAM actions on any user (only GetUser: see above). */
  anyUser: string[];
  /** IAM actions on the policy's groups. */
  policyGroups: string[];
  /** IAM actions without a resource type (IAM accepts only `*`). */
  iamAccount: string[];
  /** IAM actions on virtual MFA devices (`mfa/*`: a device's name and path are its user's choice, not the bot's). */
  virtualMfa: string[];
  /** Whether it assumes the named accounts' roles. */
  assumeRoles: boolean;
  /** Secrets Manager actions on the bot's one-time credential secrets (SECRET_PREFIX). */
  secrets: string[];
  /** Secrets Manager actions without a resource type. */
  secretsAccount: string[];
  /** DynamoDB actions per table (`index/*` included where Query is granted). */
  tables: Partial<Record<TableName, string[]>>;
  /** Whether it invokes the worker (asynchronous job hand-off). */
  invokeWorker: boolean;
}

const none: FunctionNeeds = {
  managedUsers: [],
  anyUser: [],
  policyGroups: [],
  iamAccount: [],
  virtualMfa: [],
  assumeRoles: false,
  secrets: [],
  secretsAccount: [],
  tables: {},
  invokeWorker: false,
};

/**
 * What each function's code calls whatever kinds of request exist, in the home account: the request life cycle, the
 * ownership projection and its refresh, the key scan, credential delivery and expiry, failed jobs, App Home. What a
 * kind's own code calls (its checks, its run, its signals) is declared by the kind (src/kinds/permissions/) and
 * unioned in by `functionNeeds`. Keep both in step with the code: the test suite's role checker fails on a call the
 * roles do not grant, and on a grant no test exercises.
 */
export const BASE_NEEDS: Record<FunctionName, FunctionNeeds> = {
  // Slash commands, clicks and form submissions: the requests' own state (requests and their name reservations, the
  // audit trail), the hand-off to the worker. No IAM write; the IAM reads are the kinds' checks.
  slack: {
    ...none,
    assumeRoles: true,
    tables: {
      // BatchGetItem: the requests that changed a user (/iam user); users: the ownership projection (/iam users)
      requests: ['GetItem', 'PutItem', 'UpdateItem', 'DeleteItem', 'BatchGetItem'],
      audit: ['PutItem', 'Query'], // Query: /iam audit (a subject's events, or the actor index)
      users: ['GetItem', 'Query'],
      // key reminders: "Snooze" reads the key's snooze and writes it (with its audit event, one transaction)
      reminders: ['GetItem', 'UpdateItem'],
      // /iam jobs: the failed jobs (index), Re-run's check and its one conditional write
      jobs: ['GetItem', 'UpdateItem', 'Query'],
    },
    invokeWorker: true,
  },
  // The public credential page: its links, the audit trail, and reading then deleting one secret. No IAM at all.
  // requests: one unconditional-on-version UpdateItem recording that the request's link was opened (a durable fact)
  web: {
    ...none,
    secrets: ['GetSecretValue', 'DeleteSecret'],
    tables: { links: ['GetItem', 'UpdateItem'], audit: ['PutItem'], requests: ['UpdateItem'] },
  },
  // Jobs: the approved requests' runs (their IAM actions are the kinds'), credential delivery, "This wasn't me",
  // whoami, the key scan, App Home.
  worker: {
    ...none,
    managedUsers: [
      // the ownership projection after a change (userChanged: services/user-projection.ts readUser), and its
      // refresh (refresh-projection parts): key ids where they changed, a user the report does not know yet
      'ListGroupsForUser',
      'ListAccessKeys',
      'GetAccessKeyLastUsed',
      'GetLoginProfile',
      'ListMFADevices', // a console user's MFA (only when it has a console password)
      // the key scan deactivates an overdue key; "This wasn't me" deactivates the key and removes the password
      'UpdateAccessKey',
      'DeleteLoginProfile',
      // the access review: which services each owned user used (a job on the user's ARN; services/access-review.ts)
      'GenerateServiceLastAccessedDetails',
    ],
    anyUser: ['GetUser'], // userChanged reads the user (a deleted user's ARN has no path)
    // the access review: which services each policy group grants (a job on the group's ARN, from GetGroup)
    policyGroups: ['GetGroup', 'GenerateServiceLastAccessedDetails'],
    iamAccount: [
      // whoami: each account's alias and password policy
      'GetAccountPasswordPolicy',
      'ListAccountAliases',
      // the daily key-age scan (key-scan jobs) and the projection refresh read every key from the credential report
      'GenerateCredentialReport',
      'GetCredentialReport',
      // the projection refresh (refresh-projection parts): every user with its tags and groups
      'GetAccountAuthorizationDetails',
      // the access review collects its jobs (IAM allows no resource but `*` for it)
      'GetServiceLastAccessedDetails',
    ],
    assumeRoles: true,
    secrets: ['CreateSecret', 'TagResource', 'DeleteSecret'], // CreateSecret with tags needs TagResource
    tables: {
      // Query + BatchGetItem: the requests waiting for an approver (App Home), from the sparse sweep index
      requests: ['GetItem', 'UpdateItem', 'DeleteItem', 'Query', 'BatchGetItem'],
      links: ['GetItem', 'PutItem', 'UpdateItem'],
      // GetItem: whether a failed job's notice is still due when SQS delivers its record again (failed-jobs.ts)
      jobs: ['GetItem', 'UpdateItem'],
      // Query: whether the link of a rotation stored before requests recorded their link was opened (its audit
      // events: kinds/rotate-key/rotation.ts newKeyFate, in a rotation's grace step)
      audit: ['PutItem', 'Query'],
      // Query: an account's users (key scan, the compliance report), an owner's users (App Home, offboarding)
      users: ['GetItem', 'PutItem', 'UpdateItem', 'DeleteItem', 'Query'],
      // key scan: claims of ladder steps, snoozes; BatchGetItem: the access review's job and answer items, 100 a call
      reminders: ['GetItem', 'UpdateItem', 'BatchGetItem'],
    },
    // a key scan that runs out of time hands the rest to a continuation job; "Rotate now" may start provisioning;
    // App Home refreshes of the people a change concerns (publish-home jobs)
    invokeWorker: true,
  },
  // Expiry of requests and links: deletes unopened secrets and orphaned ones, disables undelivered keys and passwords.
  // The refresh of the ownership projection is the worker's (one refresh-projection part per account): the schedule
  // only dispatches it.
  schedule: {
    ...none,
    managedUsers: [
      // credential expiry: an undelivered key deactivated, an undelivered console password removed
      'UpdateAccessKey',
      'DeleteLoginProfile',
    ],
    assumeRoles: true,
    secrets: ['DeleteSecret'],
    secretsAccount: ['ListSecrets'],
    // the projection refresh: one refresh-projection part per account; the daily key scan: one key-scan job per
    // account; the daily check of owners hands each leaver to the worker,
    // as the user_change event does; App Home refreshes after a rotation step or an expiry (publish-home jobs)
    invokeWorker: true,
    tables: {
      // BatchGetItem: the daily check reads every owner's offboarding, 100 a call (services/owner-check.ts)
      requests: ['GetItem', 'BatchGetItem', 'UpdateItem', 'DeleteItem', 'Query'],
      links: ['GetItem', 'UpdateItem', 'Query'],
      audit: ['PutItem'],
      users: ['Query'], // the daily check of owners: every owner in the projection
    },
  },
};

const union = (a: readonly string[], b: readonly string[] = []): string[] => [...new Set([...a, ...b])];

/** A function's needs plus one kind's declaration for it. */
function withKind(needs: FunctionNeeds, declared: Permissions | undefined): FunctionNeeds {
  if (!declared) return needs;
  const tables: FunctionNeeds['tables'] = { ...needs.tables };
  for (const table of TABLES) {
    const actions = declared.tables?.[table];
    if (actions?.length) tables[table] = union(tables[table] ?? [], actions);
  }
  return {
    ...needs,
    managedUsers: union(needs.managedUsers, declared.managedUsers),
    anyUser: union(needs.anyUser, declared.anyUser),
    policyGroups: union(needs.policyGroups, declared.policyGroups),
    iamAccount: union(needs.iamAccount, declared.iamAccount),
    virtualMfa: union(needs.virtualMfa, declared.virtualMfa),
    tables,
  };
}

/**
 * What a function's code calls: the base (BASE_NEEDS) and the union of what every kind declares for it (`kinds`: the
 * kinds' declarations, all of them unless a test says otherwise).
 */
export function functionNeeds(
  fn: FunctionName,
  kinds: Readonly<Record<string, KindPermissions>> = KIND_PERMISSIONS,
): FunctionNeeds {
  return Object.values(kinds).reduce((needs, kind) => withKind(needs, kind[fn]), BASE_NEEDS[fn]);
}

/** What each function's code calls, the kinds' declarations included. */
export const FUNCTION_NEEDS: Record<FunctionName, FunctionNeeds> = {
  slack: functionNeeds('slack'),
  web: functionNeeds('web'),
  worker: functionNeeds('worker'),
  schedule: functionNeeds('schedule'),
};

/** An IAM policy document. */
export interface PolicyDocument {
  Version: '2012-10-17';
  Statement: Statement[];
}
export interface Statement {
  Sid: string;
  Effect: 'Allow' | 'Deny';
  Action: string[];
  Resource: string[];
  Principal?: Record<string, string | string[]>;
  Condition?: Record<string, Record<string, string | string[]>>;
}

/**
 * Where the roles apply. Plain values for tests; for CloudFormation, expressions such as `${AWS::AccountId}` (every
 * resource is then wrapped in Fn::Sub by `toCloudFormation`).
 */
export interface RoleTarget {
  partition: string;
  region: string;
  accountId: string;
  /** TABLE_PREFIX */
  tablePrefix: string;
  /** SECRET_PREFIX */
  secretPrefix: string;
  workerFunctionName: string;
  /** Function name of each function, for its log group. Omit to leave out the logging statement (tests). */
  functionNames?: Record<FunctionName, string>;
  /**
   * ARN of the failed-jobs queue. What the worker's role must allow Lambda itself (not the bot's code) to do with
   * it: send the on-failure record, and read and delete it for the worker's `sqs` event. Omit in tests: no code of
   * the bot calls SQS.
   */
  failedJobsQueueArn?: string;
}

/** Every IAM path the bot manages users under: `users.path` and `users.managedPaths`, without repeats. */
export function managedPaths(policy: Policy): string[] {
  return [...new Set([policy.users.path, ...(policy.users.managedPaths ?? [])])];
}

const iamArn = (t: Pick<RoleTarget, 'partition'>, accountId: string, resource: string) =>
  `arn:${t.partition}:iam::${accountId}:${resource}`;

/** ARNs of the policy's groups in an account, whatever IAM path each group was created under. */
export function groupArns(policy: Policy, partition: string, accountId: string): string[] {
  return policy.groups.flatMap((g) => [
    iamArn({ partition }, accountId, `group/${g.name}`),
    iamArn({ partition }, accountId, `group/*/${g.name}`),
  ]);
}

/** IAM statements of one function in one account (its own, or a named account through that account's role). */
function iamStatements(policy: Policy, needs: FunctionNeeds, partition: string, accountId: string): Statement[] {
  const statements: Statement[] = [];
  const iam = (actions: string[]) => actions.map((a) => `iam:${a}`);
  if (needs.managedUsers.length)
    statements.push({
      Sid: 'ManagedUsers',
      Effect: 'Allow',
      Action: iam(needs.managedUsers),
      Resource: managedPaths(policy).map((p) => iamArn({ partition }, accountId, `user${p}*`)),
    });
  if (needs.anyUser.length)
    statements.push({
      Sid: 'LookUpAnyUserName',
      Effect: 'Allow',
      Action: iam(needs.anyUser),
      Resource: [iamArn({ partition }, accountId, 'user/*')],
    });
  if (needs.policyGroups.length && policy.groups.length)
    statements.push({
      Sid: 'PolicyGroups',
      Effect: 'Allow',
      Action: iam(needs.policyGroups),
      Resource: groupArns(policy, partition, accountId),
    });
  if (needs.iamAccount.length)
    statements.push({ Sid: 'AccountReads', Effect: 'Allow', Action: iam(needs.iamAccount), Resource: ['*'] });
  if (needs.virtualMfa.length)
    statements.push({
      Sid: 'VirtualMfaDevices',
      Effect: 'Allow',
      Action: iam(needs.virtualMfa),
      Resource: [iamArn({ partition }, accountId, 'mfa/*')],
    });
  return statements;
}

/**
 * The permissions policy of one function's role in the home account (`kinds`: the kinds whose declarations it unions,
 * all of them unless a test says otherwise).
 */
export function functionPolicy(
  policy: Policy,
  fn: FunctionName,
  t: RoleTarget,
  kinds: Readonly<Record<string, KindPermissions>> = KIND_PERMISSIONS,
): PolicyDocument {
  const needs = kinds === KIND_PERMISSIONS ? FUNCTION_NEEDS[fn] : functionNeeds(fn, kinds);
  const statements = iamStatements(policy, needs, t.partition, t.accountId);
  if (needs.assumeRoles && policy.accounts.length)
    statements.push({
      Sid: 'AssumeAccountRoles',
      Effect: 'Allow',
      Action: ['sts:AssumeRole'],
      Resource: policy.accounts.map((a) => a.roleArn.replace(/^arn:aws:/, `arn:${t.partition}:`)),
    });
  const secretArn = `arn:${t.partition}:secretsmanager:${t.region}:${t.accountId}:secret:${t.secretPrefix}*`;
  if (needs.secrets.length)
    statements.push({
      Sid: 'CredentialSecrets',
      Effect: 'Allow',
      Action: needs.secrets.map((a) => `secretsmanager:${a}`),
      Resource: [secretArn],
    });
  if (needs.secretsAccount.length)
    statements.push({
      Sid: 'ListCredentialSecrets',
      Effect: 'Allow',
      Action: needs.secretsAccount.map((a) => `secretsmanager:${a}`),
      Resource: ['*'],
    });
  const tableArn = (table: string) =>
    `arn:${t.partition}:dynamodb:${t.region}:${t.accountId}:table/${t.tablePrefix}${table}`;
  for (const table of TABLES) {
    const actions = needs.tables[table];
    if (!actions?.length) continue;
    statements.push({
      Sid: `Table${table[0]?.toUpperCase()}${table.slice(1)}`,
      Effect: 'Allow',
      Action: actions.map((a) => `dynamodb:${a}`),
      Resource: actions.includes('Query') ? [tableArn(table), `${tableArn(table)}/index/*`] : [tableArn(table)],
    });
  }
  if (needs.invokeWorker)
    statements.push({
      Sid: 'InvokeWorker',
      Effect: 'Allow',
      Action: ['lambda:InvokeFunction'],
      Resource: [`arn:${t.partition}:lambda:${t.region}:${t.accountId}:function:${t.workerFunctionName}`],
    });
  if (fn === 'worker' && t.failedJobsQueueArn)
    statements.push({
      Sid: 'FailedJobsQueue',
      Effect: 'Allow',
      Action: ['sqs:SendMessage', 'sqs:ReceiveMessage', 'sqs:DeleteMessage', 'sqs:GetQueueAttributes'],
      Resource: [t.failedJobsQueueArn],
    });
  if (t.functionNames)
    statements.push({
      Sid: 'Logs',
      Effect: 'Allow',
      Action: ['logs:CreateLogStream', 'logs:PutLogEvents'],
      Resource: [`arn:${t.partition}:logs:${t.region}:${t.accountId}:log-group:/aws/lambda/${t.functionNames[fn]}:*`],
    });
  return { Version: '2012-10-17', Statement: statements };
}

/** The functions that act in the named accounts (through AssumeRole). */
export const CROSS_ACCOUNT_FUNCTIONS = FUNCTIONS.filter((fn) => FUNCTION_NEEDS[fn].assumeRoles);

/**
 * The permissions policy the role of a named account needs: the IAM actions of every function that acts there, on
 * that account's users under the managed paths and the policy's groups.
 */
export function accountRolePolicy(policy: Policy, accountName: string, partition = 'aws'): PolicyDocument {
  const account = policy.accounts.find((a) => a.name === accountName);
  if (!account) throw new Error(`policy.yml names no account ${accountName}`);
  const accountId = account.roleArn.split(':')[4] ?? '';
  const merged: FunctionNeeds = { ...none };
  for (const fn of CROSS_ACCOUNT_FUNCTIONS) {
    const n = FUNCTION_NEEDS[fn];
    merged.managedUsers = [...new Set([...merged.managedUsers, ...n.managedUsers])];
    merged.anyUser = [...new Set([...merged.anyUser, ...n.anyUser])];
    merged.policyGroups = [...new Set([...merged.policyGroups, ...n.policyGroups])];
    merged.iamAccount = [...new Set([...merged.iamAccount, ...n.iamAccount])];
    merged.virtualMfa = [...new Set([...merged.virtualMfa, ...n.virtualMfa])];
  }
  return { Version: '2012-10-17', Statement: iamStatements(policy, merged, partition, accountId) };
}

/** Name of a function's role (set in serverless.yml), e.g. `iam-slack-bot-prod-worker`. */
export const roleName = (service: string, stage: string, fn: FunctionName) => `${service}-${stage}-${fn}`;

/**
 * The trust policy of a named account's role: only the bot's roles that act there, in the home account, may assume
 * it (with the ExternalId when the policy sets one).
 */
export function accountTrustPolicy(
  policy: Policy,
  accountName: string,
  home: { accountId: string; service: string; stage: string; partition?: string },
): PolicyDocument {
  const account = policy.accounts.find((a) => a.name === accountName);
  if (!account) throw new Error(`policy.yml names no account ${accountName}`);
  const partition = home.partition ?? 'aws';
  const roles = CROSS_ACCOUNT_FUNCTIONS.map((fn) =>
    iamArn({ partition }, home.accountId, `role/${roleName(home.service, home.stage, fn)}`),
  );
  // A trust policy's statement has a Principal and no Resource.
  const trust: Omit<Statement, 'Resource'> = {
    Sid: 'IamSlackBotFunctions',
    Effect: 'Allow',
    Principal: { AWS: iamArn({ partition }, home.accountId, 'root') },
    Action: ['sts:AssumeRole'],
    Condition: {
      ArnEquals: { 'aws:PrincipalArn': roles },
      ...(account.externalId ? { StringEquals: { 'sts:ExternalId': account.externalId } } : {}),
    },
  };
  return { Version: '2012-10-17', Statement: [trust as Statement] };
}

/** `${expr}`: a CloudFormation Fn::Sub or osls variable reference. */
const ref = (expr: string) => `\${${expr}}`;

/** The deployment's values as CloudFormation pseudo parameters and osls variables (resolved by osls and CloudFormation). */
export const CLOUDFORMATION_TARGET: RoleTarget = {
  partition: ref('AWS::Partition'),
  region: ref('AWS::Region'),
  accountId: ref('AWS::AccountId'),
  tablePrefix: ref('self:custom.tablePrefix'),
  secretPrefix: ref('self:custom.secretPrefix'),
  workerFunctionName: ref('self:custom.workerFunctionName'),
  failedJobsQueueArn: `arn:${ref('AWS::Partition')}:sqs:${ref('AWS::Region')}:${ref('AWS::AccountId')}:${ref('self:custom.failedJobsQueueName')}`,
  functionNames: Object.fromEntries(
    FUNCTIONS.map((fn) => [fn, `${ref('self:service')}-${ref('sls:stage')}-${fn}`]),
  ) as Record<FunctionName, string>,
};

/** Logical id of a function's role in the template, e.g. `SlackRole`. */
export const roleLogicalId = (fn: FunctionName) => `${fn[0]?.toUpperCase()}${fn.slice(1)}Role`;

/**
 * One AWS::IAM::Role per function, for serverless.yml's `resources` (`role: <Fn>Role` on each function). Every ARN
 * that refers to a pseudo parameter is wrapped in Fn::Sub.
 */
export function cloudFormationRoles(
  policy: Policy,
  functions: readonly FunctionName[] = FUNCTIONS,
  policyOf: typeof functionPolicy = functionPolicy,
): { Resources: Record<string, unknown> } {
  const sub = (value: string) => (value.includes(ref('AWS::').slice(0, -1)) ? { 'Fn::Sub': value } : value);
  const Resources: Record<string, unknown> = {};
  for (const fn of functions) {
    const doc = policyOf(policy, fn, CLOUDFORMATION_TARGET);
    Resources[roleLogicalId(fn)] = {
      Type: 'AWS::IAM::Role',
      Properties: {
        RoleName: CLOUDFORMATION_TARGET.functionNames?.[fn],
        Description: `iam-slack-bot ${fn} function: derived from policy.yml by npm run build (src/deploy/roles.ts)`,
        AssumeRolePolicyDocument: {
          Version: '2012-10-17',
          Statement: [{ Effect: 'Allow', Principal: { Service: 'lambda.amazonaws.com' }, Action: 'sts:AssumeRole' }],
        },
        Policies: [
          {
            PolicyName: fn,
            PolicyDocument: {
              Version: doc.Version,
              Statement: doc.Statement.map((s) => ({ ...s, Resource: s.Resource.map(sub) })),
            },
          },
        ],
      },
    };
  }
  return { Resources };
}
