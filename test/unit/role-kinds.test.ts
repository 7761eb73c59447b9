/**
 * The roles as the union of a base and what each kind of request declares (src/deploy/roles.ts, src/kinds/permissions/):
 * no looser than the hand-written per-function lists they replaced, and a kind's removal takes away exactly its own
 * actions.
 */
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { loadConfig, type Policy } from '../../src/config.js';
import {
  BASE_NEEDS,
  FUNCTIONS,
  type FunctionName,
  type FunctionNeeds,
  functionNeeds,
  functionPolicy,
  type PolicyDocument,
} from '../../src/deploy/roles.js';
import { KIND_PERMISSIONS } from '../../src/kinds/permissions/index.js';
import type { KindPermissions } from '../../src/kinds/permissions/types.js';
import { KINDS } from '../../src/kinds/registry.js';
import { REQUEST_KINDS } from '../../src/services/plans/types.js';
import { testPolicy } from '../support/policy.js';

const policy: Policy = loadConfig({ SLACK_SIGNING_SECRET: 'unit-test-secret', SLACK_BOT_TOKEN: 'xoxb-unit' }, () =>
  stringify(
    testPolicy({ accounts: [{ name: 'staging', roleArn: 'arn:aws:iam::111111111111:role/iam-slack-bot-staging' }] }),
  ),
).policy;
const target = {
  partition: 'aws',
  region: 'us-east-1',
  accountId: '123456789012',
  tablePrefix: 'p-',
  secretPrefix: 's/',
  workerFunctionName: 'w',
  functionNames: { slack: 'fs', web: 'fw', worker: 'fk', schedule: 'fh' },
  failedJobsQueueArn: 'arn:aws:sqs:us-east-1:123456789012:q',
};

/** Each statement's actions, sorted, by Sid: what the role grants (the resources follow from the Sid and the policy). */
const actionsBySid = (doc: PolicyDocument) =>
  Object.fromEntries(doc.Statement.map((s) => [s.Sid, [...s.Action].sort()]));

/**
 * The statements of each function's role as main generated them from the hand-written FUNCTION_NEEDS, before the kinds
 * declared their permissions (same policy and target as above), actions sorted.
 */
const TODAY: Record<FunctionName, Record<string, string[]>> = {
  slack: {
    ManagedUsers: ['iam:ListAccessKeys', 'iam:ListGroupsForUser', 'iam:ListUserTags'],
    LookUpAnyUserName: ['iam:GetUser'],
    PolicyGroups: ['iam:GetGroup'],
    AccountReads: ['iam:GetAccountPasswordPolicy'],
    AssumeAccountRoles: ['sts:AssumeRole'],
    // ConditionCheckItem (issue 19): storing a rotation of a user rotated before checks, in its one transaction, that
    // the earlier rotation has ended (kinds/rotate-key/reserve.ts), instead of reading it before the answer
    TableRequests: [
      'dynamodb:BatchGetItem',
      'dynamodb:ConditionCheckItem',
      'dynamodb:DeleteItem',
      'dynamodb:GetItem',
      'dynamodb:PutItem',
      'dynamodb:UpdateItem',
    ],
    TableLinks: ['dynamodb:GetItem'],
    TableJobs: ['dynamodb:GetItem', 'dynamodb:Query', 'dynamodb:UpdateItem'],
    TableAudit: ['dynamodb:PutItem', 'dynamodb:Query'],
    TableUsers: ['dynamodb:GetItem', 'dynamodb:Query'],
    TableReminders: ['dynamodb:GetItem', 'dynamodb:UpdateItem'],
    InvokeWorker: ['lambda:InvokeFunction'],
    Logs: ['logs:CreateLogStream', 'logs:PutLogEvents'],
  },
  web: {
    CredentialSecrets: ['secretsmanager:DeleteSecret', 'secretsmanager:GetSecretValue'],
    TableRequests: ['dynamodb:UpdateItem'],
    TableLinks: ['dynamodb:GetItem', 'dynamodb:UpdateItem'],
    TableAudit: ['dynamodb:PutItem'],
    Logs: ['logs:CreateLogStream', 'logs:PutLogEvents'],
  },
  worker: {
    ManagedUsers: [
      'iam:CreateAccessKey',
      'iam:CreateLoginProfile',
      'iam:CreateUser',
      'iam:DeactivateMFADevice', // delete-user (issue 22), from here …
      'iam:DeleteAccessKey',
      'iam:DeleteLoginProfile',
      'iam:DeleteSSHPublicKey',
      'iam:DeleteServiceSpecificCredential',
      'iam:DeleteSigningCertificate',
      'iam:DeleteUser',
      'iam:DeleteUserPolicy',
      'iam:DetachUserPolicy',
      'iam:GenerateServiceLastAccessedDetails', // the access review (issue 22): a user's job
      'iam:GetAccessKeyLastUsed',
      'iam:GetLoginProfile',
      'iam:ListAccessKeys',
      'iam:ListAttachedUserPolicies',
      'iam:ListGroupsForUser',
      'iam:ListMFADevices', // issue 22: a console user's MFA (live read), and delete-user's MFA step
      'iam:ListSSHPublicKeys',
      'iam:ListServiceSpecificCredentials',
      'iam:ListSigningCertificates',
      'iam:ListUserPolicies',
      'iam:ListUserTags',
      'iam:TagUser',
      'iam:UpdateAccessKey',
      'iam:UpdateLoginProfile',
    ],
    LookUpAnyUserName: ['iam:GetUser'],
    // the access review (issue 22): a group's job
    PolicyGroups: [
      'iam:AddUserToGroup',
      'iam:GenerateServiceLastAccessedDetails',
      'iam:GetGroup',
      'iam:RemoveUserFromGroup',
    ],
    AccountReads: [
      'iam:GenerateCredentialReport',
      'iam:GetAccountAuthorizationDetails',
      'iam:GetAccountPasswordPolicy',
      'iam:GetCredentialReport',
      'iam:GetServiceLastAccessedDetails', // the access review collects its jobs (no resource type)
      'iam:ListAccountAliases',
    ],
    // delete-user (issue 22): a virtual MFA device is deleted once deactivated (its ARN is mfa/<name>, no user path)
    VirtualMfaDevices: ['iam:DeleteVirtualMFADevice'],
    AssumeAccountRoles: ['sts:AssumeRole'],
    CredentialSecrets: ['secretsmanager:CreateSecret', 'secretsmanager:DeleteSecret', 'secretsmanager:TagResource'],
    // ConditionCheckItem (issue 19): "Rotate now" stores its rotation as the command does (kinds/rotate-key/reserve.ts)
    TableRequests: [
      'dynamodb:BatchGetItem',
      'dynamodb:ConditionCheckItem',
      'dynamodb:DeleteItem',
      'dynamodb:GetItem',
      'dynamodb:PutItem',
      'dynamodb:Query',
      'dynamodb:UpdateItem',
    ],
    TableLinks: ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem'],
    // GetItem since issue 20: a failed job's notice still due when SQS delivers its record again (failed-jobs.ts)
    TableJobs: ['dynamodb:GetItem', 'dynamodb:UpdateItem'],
    TableAudit: ['dynamodb:PutItem', 'dynamodb:Query'], // a legacy rotation's link audit trail (kinds/rotate-key/rotation.ts newKeyFate)
    TableUsers: [
      'dynamodb:DeleteItem',
      'dynamodb:GetItem',
      'dynamodb:PutItem',
      'dynamodb:Query',
      'dynamodb:UpdateItem',
    ],
    TableReminders: ['dynamodb:BatchGetItem', 'dynamodb:GetItem', 'dynamodb:UpdateItem'],
    InvokeWorker: ['lambda:InvokeFunction'],
    FailedJobsQueue: ['sqs:DeleteMessage', 'sqs:GetQueueAttributes', 'sqs:ReceiveMessage', 'sqs:SendMessage'],
    Logs: ['logs:CreateLogStream', 'logs:PutLogEvents'],
  },
  // narrower than main's since a rotation's life runs in the worker (its run's steps, woken by the sweep): no
  // DeleteAccessKey, ListGroupsForUser, GetUser nor audit Query here any more
  // issue 20: the projection refresh moved to the worker (one part per account): its IAM reads and its writes of the
  // users table left the schedule's role
  schedule: {
    ManagedUsers: ['iam:DeleteLoginProfile', 'iam:UpdateAccessKey'],
    AssumeAccountRoles: ['sts:AssumeRole'],
    CredentialSecrets: ['secretsmanager:DeleteSecret'],
    ListCredentialSecrets: ['secretsmanager:ListSecrets'],
    // BatchGetItem: the daily check reads every owner's offboarding 100 a call (issue 19), not one GetItem each
    TableRequests: [
      'dynamodb:BatchGetItem',
      'dynamodb:DeleteItem',
      'dynamodb:GetItem',
      'dynamodb:Query',
      'dynamodb:UpdateItem',
    ],
    TableLinks: ['dynamodb:GetItem', 'dynamodb:Query', 'dynamodb:UpdateItem'],
    TableAudit: ['dynamodb:PutItem'],
    TableUsers: ['dynamodb:Query'],
    InvokeWorker: ['lambda:InvokeFunction'],
    Logs: ['logs:CreateLogStream', 'logs:PutLogEvents'],
  },
};

/** Every action a function's needs grant, as `<list>:<action>` (tables as `table.<name>:<action>`). */
const grants = (needs: FunctionNeeds): Set<string> =>
  new Set([
    ...(['managedUsers', 'anyUser', 'policyGroups', 'iamAccount', 'virtualMfa'] as const).flatMap((list) =>
      needs[list].map((a) => `${list}:${a}`),
    ),
    ...Object.entries(needs.tables).flatMap(([table, actions]) => (actions ?? []).map((a) => `table.${table}:${a}`)),
  ]);

/** What a kind declares for a function, in the same notation. */
const declared = (kind: (typeof REQUEST_KINDS)[number], fn: FunctionName): Set<string> => {
  const p = KIND_PERMISSIONS[kind][fn] ?? {};
  return new Set([
    ...(['managedUsers', 'anyUser', 'policyGroups', 'iamAccount', 'virtualMfa'] as const).flatMap((list) =>
      (p[list] ?? []).map((a) => `${list}:${a}`),
    ),
    ...Object.entries(p.tables ?? {}).flatMap(([table, actions]) => (actions ?? []).map((a) => `table.${table}:${a}`)),
  ]);
};
type Kinds = Readonly<Record<string, KindPermissions>>;
const minus = (a: Set<string>, b: Set<string>) => new Set([...a].filter((x) => !b.has(x)));
const without = (kind: string): Kinds =>
  Object.fromEntries(Object.entries(KIND_PERMISSIONS).filter(([id]) => id !== kind));

describe('the roles derived from the kinds’ declarations', () => {
  it('grant each function exactly the statements main granted by hand before the kinds declared theirs', () => {
    for (const fn of FUNCTIONS) expect(actionsBySid(functionPolicy(policy, fn, target)), fn).toEqual(TODAY[fn]);
  });

  it('take away exactly a kind’s own actions when that kind is removed, and nothing another kind or the base needs', () => {
    for (const kind of REQUEST_KINDS) {
      for (const fn of FUNCTIONS) {
        // Act
        const all = grants(functionNeeds(fn));
        const rest = grants(functionNeeds(fn, without(kind)));

        // Assess
        const ownOnly = minus(declared(kind, fn), rest);
        expect(minus(all, rest), `${kind} ${fn}`).toEqual(ownOnly);
        expect(minus(rest, all), `${kind} ${fn}`).toEqual(new Set());
      }
    }
  });

  it('lose create-user’s CreateUser and password rules, offboard’s account listing, rotation’s audit reads without them', () => {
    // Act
    const worker = (kinds: Kinds = KIND_PERMISSIONS) => actionsBySid(functionPolicy(policy, 'worker', target, kinds));
    const slack = (kinds: Kinds = KIND_PERMISSIONS) => actionsBySid(functionPolicy(policy, 'slack', target, kinds));
    const schedule = (kinds: Kinds = KIND_PERMISSIONS) =>
      actionsBySid(functionPolicy(policy, 'schedule', target, kinds));

    // Assess
    expect(worker(without('create-user')).ManagedUsers).not.toContain('iam:CreateUser');
    expect(worker(without('create-user')).ManagedUsers).not.toContain('iam:CreateLoginProfile');
    expect(worker(without('create-user')).ManagedUsers).toContain('iam:CreateAccessKey'); // rotation's too
    expect(slack(without('create-user')).AccountReads).toBeUndefined(); // the form's password warning only
    // offboard's account listing is also the projection refresh's, which the worker runs since issue 20's fan-out
    expect(worker(without('offboard')).AccountReads).toContain('iam:GetAccountAuthorizationDetails');
    expect(schedule(without('rotate-key')).TableAudit).toEqual(['dynamodb:PutItem']);
    expect(schedule(without('rotate-key')).ManagedUsers).not.toContain('iam:DeleteAccessKey');
    expect(schedule(without('rotate-key')).LookUpAnyUserName).toBeUndefined(); // only a rotation step reads a user
  });

  it('grant a function with no kind only its base, and the web function nothing from any kind', () => {
    for (const fn of FUNCTIONS) expect(grants(functionNeeds(fn, {})), fn).toEqual(grants(BASE_NEEDS[fn]));
    expect(grants(functionNeeds('web'))).toEqual(grants(BASE_NEEDS.web));
  });

  it('have a declaration for every kind the registry lists', () => {
    expect(Object.keys(KIND_PERMISSIONS).sort()).toEqual(Object.keys(KINDS).sort());
  });
});
