/**
 * The IAM side of creating a user for an access request, one runner step at a time (create the user, add it to a
 * group, mint its credentials) and the undo. Knows nothing of Slack or of the request store; create-user's run
 * (src/kinds/create-user-run.ts) runs it for a request.
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

/**
 * The tag that marks a user as created by a request (its value: the request's id): provisioning continues only users
 * that carry its own id, and the projection finds from it the request that created a user (the one name for both).
 */
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

/** Runs `fn`, retrying (after `options`' delays) while `retryable` says the error is IAM's eventual consistency. */
async function eventually<T>(
  options: ProvisionOptions,
  fn: () => Promise<T>,
  retryable: (e: unknown) => Promise<boolean>,
): Promise<T> {
  const delays = options.retryDelaysMs ?? DEFAULT_DELAYS;
  const sleep = options.sleep ?? sleepMs;
  for (let attempt = 0; ; attempt++) {
    try {
      return await fn();
    } catch (error) {
      const delay = delays[attempt];
      if (delay === undefined || !(await retryable(error))) throw error;
      await sleep(delay);
    }
  }
}
const userNotVisibleYet = async (e: unknown) => isNoSuchEntity(e);
const NOTHING_YET = (): CreatedResources => ({ user: false, groups: [], loginProfile: false, accessKey: false });

/**
 * CreateUser of `plan` (path, tags). Idempotent per request: a user of that name tagged with this request's id (an
 * earlier run of the same request made it) is `ours` and left as it is; a user of the same name not tagged with
 * this request is never touched (ProvisioningStepError, safe to show). Any other error: ProvisioningStepError with
 * the AWS error name.
 */
export async function createIamUser(iam: IamSender, plan: UserPlan): Promise<'created' | 'ours'> {
  const step = 'CreateUser';
  try {
    // CreateUser first, not GetUser first: one IAM call fewer on the fast path (the link waits for it). A user of
    // that name already there is read only then (its tags say whether this request made it).
    try {
      await iam.send(new CreateUserCommand({ UserName: plan.userName, Path: plan.path, Tags: plan.tags }));
      return 'created';
    } catch (error) {
      if (errorName(error) !== 'EntityAlreadyExists') throw error;
    }
    if (await taggedWithRequest(iam, plan)) return 'ours';
    throw new ProvisioningStepError(
      step,
      `An IAM user named ${plan.userName} already exists and was not created by this request`,
      NOTHING_YET(),
    );
  } catch (error) {
    if (error instanceof ProvisioningStepError) throw error;
    throw new ProvisioningStepError(step, `${step} failed (${errorName(error)})`, NOTHING_YET(), error);
  }
}

/**
 * AddUserToGroup (adding a member twice is harmless, so it is idempotent as it is), retrying while IAM does not see
 * a new user yet. A group that does not exist fails at once: ProvisioningStepError `AddUserToGroup <group> failed
 * (group <group> does not exist)`, or with the AWS error name.
 */
export async function addUserToGroup(
  iam: IamSender,
  userName: string,
  group: string,
  options: ProvisionOptions = {},
): Promise<void> {
  let groupMissing = false;
  try {
    await eventually(
      options,
      () => iam.send(new AddUserToGroupCommand({ UserName: userName, GroupName: group })),
      async (e) => {
        if (!isNoSuchEntity(e)) return false;
        groupMissing = !(await groupExists(iam, group));
        return !groupMissing;
      },
    );
  } catch (error) {
    const why = groupMissing ? `group ${group} does not exist` : errorName(error);
    throw new ProvisioningStepError('AddUserToGroup', `AddUserToGroup ${group} failed (${why})`, NOTHING_YET(), error);
  }
}

/**
 * Mints the credentials of `plan`'s user, as asked: a console password (generated to the account's password policy)
 * that must be changed at first sign-in, and one access key. The secrets are returned, never stored. Run again, it
 * replaces what an earlier run of the same request made, whose secrets are lost: the login profile's password is
 * reset, and every access key of the user (one created but never delivered) is deleted before the new one is
 * created. Only for a user this request created (see createIamUser). Retries NoSuchEntity while a new user is not
 * visible yet. On failure: ProvisioningStepError whose `created` says what it made (to undo).
 */
export async function mintCredentials(
  iam: IamSender,
  plan: Pick<UserPlan, 'userName' | 'console' | 'accessKey'>,
  options: ProvisionOptions = {},
): Promise<NewCredentials> {
  const created = NOTHING_YET();
  created.user = true;
  const credentials: NewCredentials = {};
  if (plan.console) {
    try {
      const rules = await accountPasswordRules(iam);
      const password = (options.password ?? generatePassword)(rules);
      const input = { UserName: plan.userName, Password: password, PasswordResetRequired: true };
      // A profile already there was made by an earlier run of this request, whose password is lost: replace it.
      // (Create first, not GetLoginProfile first: one call fewer, and no read permission needed.)
      try {
        await eventually(options, () => iam.send(new CreateLoginProfileCommand(input)), userNotVisibleYet);
      } catch (error) {
        if (errorName(error) !== 'EntityAlreadyExists') throw error;
        await iam.send(new UpdateLoginProfileCommand(input));
      }
      created.loginProfile = true;
      credentials.password = password;
    } catch (error) {
      throw new ProvisioningStepError(
        'CreateLoginProfile',
        `CreateLoginProfile failed (${errorName(error)})`,
        structuredClone(created),
        error,
      );
    }
  }
  if (plan.accessKey) {
    try {
      const existing = await eventually(
        options,
        () => iam.send(new ListAccessKeysCommand({ UserName: plan.userName })),
        userNotVisibleYet,
      );
      for (const key of existing.AccessKeyMetadata ?? []) {
        if (key.AccessKeyId)
          await iam.send(new DeleteAccessKeyCommand({ UserName: plan.userName, AccessKeyId: key.AccessKeyId }));
      }
      const out = await eventually(
        options,
        () => iam.send(withoutRetries(new CreateAccessKeyCommand({ UserName: plan.userName }))),
        userNotVisibleYet,
      );
      const key = out.AccessKey;
      if (!key?.AccessKeyId || !key.SecretAccessKey) throw new Error('CreateAccessKey returned no key');
      created.accessKey = true;
      credentials.accessKey = { accessKeyId: key.AccessKeyId, secretAccessKey: key.SecretAccessKey };
    } catch (error) {
      throw new ProvisioningStepError(
        'CreateAccessKey',
        `CreateAccessKey failed (${errorName(error)})`,
        structuredClone(created),
        error,
      );
    }
  }
  return credentials;
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
