/**
 * Provisioning against a STUB of IAM (test/support/fake-iam.ts) that behaves as real IAM does where moto does not:
 * moto gap 2 (CreateLoginProfile ignores PasswordResetRequired) and gap 3 (DeleteUser succeeds while keys, a login
 * profile or memberships remain). The moto-backed integration tests cannot see either, so these tests pin the
 * request parameters and the order of the undo steps.
 */
import { CreateAccessKeyCommand, IAMClient } from '@aws-sdk/client-iam';
import { describe, expect, it } from 'vitest';
import { satisfiesPasswordRules } from '../../src/services/password.js';
import {
  addUserToGroup,
  createIamUser,
  mintCredentials,
  ProvisioningStepError,
  rollbackUser,
  type UserPlan,
  withoutRetries,
} from '../../src/services/provisioning.js';
import { FakeIam } from '../support/fake-iam.js';

const noWait = { retryDelaysMs: [0, 0, 0, 0], sleep: async () => {} };

function plan(overrides: Partial<UserPlan> = {}): UserPlan {
  return {
    requestId: 'req-unit1',
    userName: 'build-bot',
    path: '/iam-slack-bot/',
    groups: ['ci-deployers', 'read-only'],
    console: true,
    accessKey: true,
    tags: [
      { Key: 'requested-by', Value: 'U0REQUESTER' },
      { Key: 'request-id', Value: 'req-unit1' },
    ],
    ...overrides,
  };
}

/**
 * The IAM steps of a create-user run, in its plan's order (src/kinds/create-user-run.ts runs each as a step of the
 * runner): the user, its groups, its credentials.
 */
async function provision(iam: FakeIam, p: UserPlan) {
  const user = await createIamUser(iam, p);
  for (const group of p.groups) await addUserToGroup(iam, p.userName, group, noWait);
  const credentials = await mintCredentials(iam, p, noWait);
  return { user, credentials };
}

const ALL = { user: true, groups: ['ci-deployers', 'read-only'], loginProfile: true, accessKey: true };

async function failing(promise: Promise<unknown>): Promise<ProvisioningStepError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof ProvisioningStepError) return error;
    throw error;
  }
  throw new Error('expected a ProvisioningStepError');
}

describe('the IAM steps of create-user', () => {
  it('creates the user under the path with its tags, adds the groups, sets a password and makes one key', async () => {
    const iam = new FakeIam(['ci-deployers', 'read-only']);

    const { user: made, credentials } = await provision(iam, plan());

    const user = iam.users.get('build-bot');
    expect(made).toBe('created');
    expect(user?.path).toBe('/iam-slack-bot/');
    expect(user?.tags).toEqual(plan().tags);
    expect([...(user?.groups ?? [])]).toEqual(['ci-deployers', 'read-only']);
    expect(user?.keys).toEqual([credentials.accessKey?.accessKeyId]);
    expect(user?.loginProfile?.password).toBe(credentials.password);
  });

  // moto gap 2: moto ignores PasswordResetRequired on CreateLoginProfile, so only a stub can show the request asks for it.
  it('creates the login profile with PasswordResetRequired and a password the account policy accepts', async () => {
    const iam = new FakeIam(['ci-deployers', 'read-only']);
    iam.passwordPolicy = {
      MinimumPasswordLength: 32,
      RequireSymbols: true,
      RequireNumbers: true,
      RequireUppercaseCharacters: true,
      RequireLowercaseCharacters: true,
    };

    const { credentials } = await provision(iam, plan());

    const create = iam.sent.find((c) => c.name === 'CreateLoginProfile');
    expect(create?.input.PasswordResetRequired).toBe(true);
    expect(create?.input.Password).toBe(credentials.password);
    expect(iam.users.get('build-bot')?.loginProfile?.passwordResetRequired).toBe(true);
    const rules = {
      minLength: 32,
      requireSymbols: true,
      requireNumbers: true,
      requireUppercase: true,
      requireLowercase: true,
    };
    expect(satisfiesPasswordRules(credentials.password ?? '', rules)).toBe(true);
  });

  it('lists the keys before creating one', async () => {
    const iam = new FakeIam(['ci-deployers', 'read-only']);

    await provision(iam, plan({ console: false }));

    const names = iam.names();
    expect(names.indexOf('ListAccessKeys')).toBeLessThan(names.indexOf('CreateAccessKey'));
  });

  it('retries while IAM does not see the new user yet (eventual consistency)', async () => {
    const iam = new FakeIam(['ci-deployers', 'read-only']);
    iam.invisibleCalls = 2;

    await provision(iam, plan());

    expect([...(iam.users.get('build-bot')?.groups ?? [])]).toEqual(['ci-deployers', 'read-only']);
    expect(iam.names().filter((n) => n === 'AddUserToGroup').length).toBeGreaterThan(2);
  });

  it('fails at once, without retrying, when a group does not exist', async () => {
    const iam = new FakeIam(['ci-deployers']);

    const error = await failing(provision(iam, plan()));

    expect(error.step).toBe('AddUserToGroup');
    expect(error.message).toBe('AddUserToGroup read-only failed (group read-only does not exist)');
    expect([...(iam.users.get('build-bot')?.groups ?? [])]).toEqual(['ci-deployers']);
    expect(iam.names().filter((n) => n === 'AddUserToGroup')).toHaveLength(2);
  });

  it('never touches a user of the same name that another request or a person created', async () => {
    const iam = new FakeIam(['ci-deployers', 'read-only']);
    await iam.send(
      Object.assign({ input: { UserName: 'build-bot', Path: '/' } }, { constructor: { name: 'CreateUserCommand' } }),
    );

    const error = await failing(provision(iam, plan()));

    expect(error.step).toBe('CreateUser');
    expect(error.message).toBe('An IAM user named build-bot already exists and was not created by this request');
    expect(iam.users.get('build-bot')?.groups.size).toBe(0);
    expect(iam.users.get('build-bot')?.tags).toEqual([]);
    // the setup's, then the run's, which IAM refused (EntityAlreadyExists: CreateUser first, its tags read only then)
    expect(iam.names().filter((n) => n.startsWith('Create'))).toEqual(['CreateUser', 'CreateUser']);
  });

  it('continues a user an earlier run of the same request left, replacing the key whose secret that run lost', async () => {
    const iam = new FakeIam(['ci-deployers', 'read-only']);
    await provision(iam, plan({ console: false }));
    const lostKey = iam.users.get('build-bot')?.keys[0];

    const { user, credentials } = await provision(iam, plan({ console: false }));

    expect(user).toBe('ours');
    const keys = iam.users.get('build-bot')?.keys ?? [];
    expect(keys).toHaveLength(1);
    expect(keys[0]).toBe(credentials.accessKey?.accessKeyId);
    expect(keys[0]).not.toBe(lostKey);
  });

  it('resets the password of a login profile an earlier run of the same request left (its password is lost)', async () => {
    const iam = new FakeIam(['ci-deployers', 'read-only']);
    const first = await provision(iam, plan({ accessKey: false }));

    const second = await provision(iam, plan({ accessKey: false }));

    const update = iam.sent.find((c) => c.name === 'UpdateLoginProfile');
    expect(update?.input.PasswordResetRequired).toBe(true);
    expect(second.credentials.password).not.toBe(first.credentials.password);
    expect(iam.users.get('build-bot')?.loginProfile?.password).toBe(second.credentials.password);
  });
});

describe('withoutRetries', () => {
  /** A real SDK client whose every HTTP request gets IAM's answer to a third access key (409 LimitExceeded). */
  function limitExceededClient(maxAttempts: number) {
    const requests: unknown[] = [];
    const body = Buffer.from(
      '<ErrorResponse><Error><Type>Sender</Type><Code>LimitExceeded</Code><Message>Cannot exceed quota for AccessKeysPerUser: 2</Message></Error><RequestId>test</RequestId></ErrorResponse>',
    );
    const iam = new IAMClient({
      region: 'us-east-1',
      maxAttempts,
      credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' },
      requestHandler: {
        handle: async (request: unknown) => {
          requests.push(request);
          return { response: { statusCode: 409, headers: { 'content-type': 'text/xml' }, body } };
        },
      } as never,
    });
    return { iam, requests };
  }

  // STUB: the HTTP handler plays IAM. The SDK classifies LimitExceededException as throttling and retries it.
  it('sends CreateAccessKey once although the client retries LimitExceeded otherwise', async () => {
    const control = limitExceededClient(2);
    const subject = limitExceededClient(4);

    await expect(control.iam.send(new CreateAccessKeyCommand({ UserName: 'u' }))).rejects.toThrow();
    const error = await subject.iam.send(withoutRetries(new CreateAccessKeyCommand({ UserName: 'u' }))).catch((e) => e);

    expect(control.requests).toHaveLength(2);
    expect(subject.requests).toHaveLength(1);
    expect((error as Error).name).toBe('LimitExceededException');
  });
});

describe('rollbackUser', () => {
  // moto gap 3: moto deletes a user that still has keys, a password or memberships; real IAM answers DeleteConflict.
  it('removes keys, login profile and memberships before DeleteUser, so real IAM accepts the delete', async () => {
    const iam = new FakeIam(['ci-deployers', 'read-only']);
    await provision(iam, plan());
    iam.sent.length = 0;

    const result = await rollbackUser(iam, 'build-bot', ALL);

    expect(result.remaining).toEqual([]);
    expect(iam.users.has('build-bot')).toBe(false);
    expect(iam.names().filter((n) => n.startsWith('Delete') || n.startsWith('Remove'))).toEqual([
      'DeleteAccessKey',
      'DeleteLoginProfile',
      'RemoveUserFromGroup',
      'RemoveUserFromGroup',
      'DeleteUser',
    ]);
  });

  it('says exactly what still exists when an undo step fails', async () => {
    const iam = new FakeIam(['ci-deployers', 'read-only']);
    await provision(iam, plan({ console: false }));
    iam.failNext.set('RemoveUserFromGroup', 'ServiceFailureException');

    const result = await rollbackUser(iam, 'build-bot', { ...ALL, loginProfile: false });

    expect(result.remaining).toEqual([
      'membership of build-bot in ci-deployers (RemoveUserFromGroup: ServiceFailure)',
      'IAM user build-bot (DeleteUser: DeleteConflict)',
    ]);
    expect(iam.users.get('build-bot')?.keys).toEqual([]);
  });

  it('touches nothing when the request created no user', async () => {
    const iam = new FakeIam(['ci-deployers']);

    const result = await rollbackUser(iam, 'build-bot', {
      user: false,
      groups: [],
      loginProfile: false,
      accessKey: false,
    });

    expect(result).toEqual({ removed: [], remaining: [] });
    expect(iam.sent).toEqual([]);
  });
});
