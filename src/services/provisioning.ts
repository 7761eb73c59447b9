/**
 * The IAM side of creating a user for an access request: create, and undo. Knows nothing of Slack or of the
 * request store; src/services/provision-request.ts runs it for a request.
 */
import {
  AddUserToGroupCommand,
  CreateAccessKeyCommand,
  CreateLoginProfileCommand,
  CreateUserCommand,
  DeleteAccessKeyCommand,
  DeleteLoginProfileCommand,
  DeleteUserCommand,
  GetGroupCommand,
  GetUserCommand,
  ListAccessKeysCommand,
  ListGroupsForUserCommand,
  ListUserTagsCommand,
  RemoveUserFromGroupCommand,
  UpdateLoginProfileCommand,
} from '@aws-sdk/client-iam';
import { ProvisioningError } from '../errors.js';
import type { CreatedResources } from '../store/requests.js';
import { accountPasswordRules, generatePassword, type PasswordRules } from './password.js';

/** The one IAM client method provisioning uses; tests pass a stub to cover what moto gets wrong. */
export interface IamSender {
  // biome-ignore lint/suspicious/noExplicitAny: the SDK's send is overloaded per command; callers narrow the output
  send(command: any): Promise<any>;
}

/** What to create for one request. */
export interface UserPlan {
  requestId: string;
  userName: string;
  path: string;
  groups: string[];
  console: boolean;
  accessKey: boolean;
  /** Every tag of the user, the request-id tag among them. */
  tags: { Key: string; Value: string }[];
}

/** Secrets of the new user: for credential delivery only, never stored, logged or shown. */
export interface NewCredentials {
  accessKey?: { accessKeyId: string; secretAccessKey: string };
  password?: string;
}

export interface ProvisionOptions {
  /** Waits between retries of IAM's eventual consistency errors. */
  retryDelaysMs?: number[];
  sleep?: (ms: number) => Promise<void>;
  password?: (rules: PasswordRules) => string;
}

/** The tag that marks a user as created by a request: provisioning continues only users that carry its own id. */
export const REQUEST_ID_TAG = 'request-id';

/** A step of provisioning failed. `created` is what exists for this request (to undo); the message is safe to show. */
export class ProvisioningStepError extends ProvisioningError {
  readonly step: string;
  readonly created: CreatedResources;
  constructor(step: string, summary: string, created: CreatedResources, cause?: unknown) {
    super(summary, { cause });
    this.name = 'ProvisioningStepError';
    this.step = step;
    this.created = created;
  }
}

const DEFAULT_DELAYS = [200, 400, 800, 1600, 3200];
const sleepMs = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export const errorName = (error: unknown): string => {
  const name = (error as { name?: string } | null)?.name ?? 'Error';
  return name === 'NoSuchEntityException' ? 'NoSuchEntity' : name.replace(/Exception$/, '');
};
const isNoSuchEntity = (error: unknown) => errorName(error) === 'NoSuchEntity';

/**
 * Makes one command run with a single attempt. The SDK classifies LimitExceededException (e.g. IAM's 2-key limit)
 * as throttling and retries it for seconds; for CreateAccessKey that only delays the same answer. Replaces the
 * client's retry middleware for this command only (same name, step and priority, `override`), so the client's other
 * middleware still applies.
 */
export function withoutRetries<C extends { middlewareStack: { add: (...args: never[]) => void } }>(command: C): C {
  (command.middlewareStack as unknown as MiddlewareStackLike).add((next) => (args) => next(args), {
    name: 'retryMiddleware',
    step: 'finalizeRequest',
    priority: 'high',
    tags: ['RETRY'],
    override: true,
  });
  return command;
}
interface MiddlewareStackLike {
  add(
    middleware: (next: (args: unknown) => Promise<unknown>) => (args: unknown) => Promise<unknown>,
    options: { name: string; step: string; priority: string; tags: string[]; override: boolean },
  ): void;
}

/**
 * Creates the IAM user of `plan`: CreateUser (path, tags), AddUserToGroup for each group, a login profile with a
 * generated password and PasswordResetRequired, an access key; each as asked. Retries NoSuchEntity while a new user
 * is not visible yet (IAM is eventually consistent). Idempotent per request: a user tagged with this request's id
 * (left by an earlier run that stopped) is continued, and a password or key that run made is replaced, since its
 * secret is lost. A user of the same name not tagged with this request is never touched. Undoes nothing: on failure
 * it throws ProvisioningStepError with what exists for this request; pass that to `rollbackUser`.
 */
export async function provisionUser(
  iam: IamSender,
  plan: UserPlan,
  options: ProvisionOptions = {},
): Promise<{ created: CreatedResources; credentials: NewCredentials }> {
  const created: CreatedResources = { user: false, groups: [], loginProfile: false, accessKey: false };
  const delays = options.retryDelaysMs ?? DEFAULT_DELAYS;
  const sleep = options.sleep ?? sleepMs;
  const fail = (step: string, summary: string, cause?: unknown): never => {
    throw new ProvisioningStepError(step, summary, structuredClone(created), cause);
  };
  /** Runs `fn`, retrying while IAM does not see the new user yet. */
  const eventually = async <T>(fn: () => Promise<T>, retryable: (e: unknown) => Promise<boolean>): Promise<T> => {
    for (let attempt = 0; ; attempt++) {
      try {
        return await fn();
      } catch (error) {
        const delay = delays[attempt];
        if (delay === undefined || !(await retryable(error))) throw error;
        await sleep(delay);
      }
    }
  };
  const userNotVisibleYet = async (e: unknown) => isNoSuchEntity(e);

  // 1. The user: ours from an earlier run, someone else's, or new.
  const step1 = 'CreateUser';
  try {
    if (await userExists(iam, plan.userName)) {
      if (!(await taggedWithRequest(iam, plan))) {
        fail(step1, `An IAM user named ${plan.userName} already exists and was not created by this request`);
      }
    } else {
      try {
        await iam.send(new CreateUserCommand({ UserName: plan.userName, Path: plan.path, Tags: plan.tags }));
      } catch (error) {
        if (errorName(error) !== 'EntityAlreadyExists' || !(await taggedWithRequest(iam, plan))) throw error;
      }
    }
    created.user = true;
  } catch (error) {
    if (error instanceof ProvisioningStepError) throw error;
    fail(step1, `${step1} failed (${errorName(error)})`, error);
  }

  // 2. Group memberships (adding a member twice is harmless).
  for (const group of plan.groups) {
    let groupMissing = false;
    try {
      await eventually(
        () => iam.send(new AddUserToGroupCommand({ UserName: plan.userName, GroupName: group })),
        async (e) => {
          if (!isNoSuchEntity(e)) return false;
          groupMissing = !(await groupExists(iam, group));
          return !groupMissing;
        },
      );
      created.groups.push(group);
    } catch (error) {
      const why = groupMissing ? `group ${group} does not exist` : errorName(error);
      fail('AddUserToGroup', `AddUserToGroup ${group} failed (${why})`, error);
    }
  }

  const credentials: NewCredentials = {};

  // 3. Console password, which the user must change at first sign-in.
  if (plan.console) {
    try {
      const rules = await accountPasswordRules(iam);
      const password = (options.password ?? generatePassword)(rules);
      const input = { UserName: plan.userName, Password: password, PasswordResetRequired: true };
      // A profile already there was made by an earlier run of this request, whose password is lost: replace it.
      // (Create first, not GetLoginProfile first: one call fewer, and no read permission needed.)
      try {
        await eventually(() => iam.send(new CreateLoginProfileCommand(input)), userNotVisibleYet);
      } catch (error) {
        if (errorName(error) !== 'EntityAlreadyExists') throw error;
        await iam.send(new UpdateLoginProfileCommand(input));
      }
      created.loginProfile = true;
      credentials.password = password;
    } catch (error) {
      fail('CreateLoginProfile', `CreateLoginProfile failed (${errorName(error)})`, error);
    }
  }

  // 4. One access key. A key already there was made by an earlier run whose secret is lost: replace it.
  if (plan.accessKey) {
    try {
      const existing = await eventually(
        () => iam.send(new ListAccessKeysCommand({ UserName: plan.userName })),
        userNotVisibleYet,
      );
      for (const key of existing.AccessKeyMetadata ?? []) {
        if (key.AccessKeyId)
          await iam.send(new DeleteAccessKeyCommand({ UserName: plan.userName, AccessKeyId: key.AccessKeyId }));
      }
      const out = await eventually(
        () => iam.send(withoutRetries(new CreateAccessKeyCommand({ UserName: plan.userName }))),
        userNotVisibleYet,
      );
      const key = out.AccessKey;
      if (!key?.AccessKeyId || !key.SecretAccessKey) throw new Error('CreateAccessKey returned no key');
      created.accessKey = true;
      credentials.accessKey = { accessKeyId: key.AccessKeyId, secretAccessKey: key.SecretAccessKey };
    } catch (error) {
      fail('CreateAccessKey', `CreateAccessKey failed (${errorName(error)})`, error);
    }
  }

  return { created, credentials };
}

/**
 * Undoes what `created` says this request made, in the order real IAM requires before DeleteUser (access keys,
 * login profile, group memberships, then the user; moto would accept any order). Only for a user this request
 * created. Never throws: returns what it removed and, where a step failed, exactly what still exists.
 */
export async function rollbackUser(
  iam: IamSender,
  userName: string,
  created: CreatedResources,
): Promise<{ removed: string[]; remaining: string[] }> {
  const removed: string[] = [];
  const remaining: string[] = [];
  if (!created.user) return { removed, remaining };

  try {
    const keys = await iam.send(new ListAccessKeysCommand({ UserName: userName }));
    for (const key of keys.AccessKeyMetadata ?? []) {
      const label = `access key ending ${String(key.AccessKeyId).slice(-4)} of ${userName}`;
      try {
        await iam.send(new DeleteAccessKeyCommand({ UserName: userName, AccessKeyId: key.AccessKeyId }));
        removed.push(label);
      } catch (error) {
        if (!isNoSuchEntity(error)) remaining.push(`${label} (DeleteAccessKey: ${errorName(error)})`);
      }
    }
  } catch (error) {
    if (!isNoSuchEntity(error)) remaining.push(`access keys of ${userName} (ListAccessKeys: ${errorName(error)})`);
  }

  try {
    await iam.send(new DeleteLoginProfileCommand({ UserName: userName }));
    removed.push(`console password of ${userName}`);
  } catch (error) {
    if (!isNoSuchEntity(error))
      remaining.push(`console password of ${userName} (DeleteLoginProfile: ${errorName(error)})`);
  }

  const groups = new Set(created.groups);
  try {
    const listed = await iam.send(new ListGroupsForUserCommand({ UserName: userName }));
    for (const g of listed.Groups ?? []) if (g.GroupName) groups.add(g.GroupName);
  } catch (error) {
    if (!isNoSuchEntity(error))
      remaining.push(`group memberships of ${userName} (ListGroupsForUser: ${errorName(error)})`);
  }
  for (const group of groups) {
    try {
      await iam.send(new RemoveUserFromGroupCommand({ UserName: userName, GroupName: group }));
      removed.push(`membership of ${userName} in ${group}`);
    } catch (error) {
      if (!isNoSuchEntity(error))
        remaining.push(`membership of ${userName} in ${group} (RemoveUserFromGroup: ${errorName(error)})`);
    }
  }

  try {
    await iam.send(new DeleteUserCommand({ UserName: userName }));
    removed.push(`IAM user ${userName}`);
  } catch (error) {
    if (!isNoSuchEntity(error)) remaining.push(`IAM user ${userName} (DeleteUser: ${errorName(error)})`);
  }
  return { removed, remaining };
}

async function userExists(iam: IamSender, userName: string): Promise<boolean> {
  try {
    await iam.send(new GetUserCommand({ UserName: userName }));
    return true;
  } catch (error) {
    if (isNoSuchEntity(error)) return false;
    throw error;
  }
}

async function groupExists(iam: IamSender, group: string): Promise<boolean> {
  try {
    await iam.send(new GetGroupCommand({ GroupName: group, MaxItems: 1 }));
    return true;
  } catch (error) {
    if (isNoSuchEntity(error)) return false;
    throw error;
  }
}

async function taggedWithRequest(iam: IamSender, plan: UserPlan): Promise<boolean> {
  const out = await iam.send(new ListUserTagsCommand({ UserName: plan.userName }));
  return (out.Tags ?? []).some(
    (t: { Key?: string; Value?: string }) => t.Key === REQUEST_ID_TAG && t.Value === plan.requestId,
  );
}
