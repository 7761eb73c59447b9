/**
 * STUB of the IAM API for unit tests of provisioning, covering what moto gets wrong (shared/STACK-NOTES.md):
 * - gap 2: CreateLoginProfile keeps `PasswordResetRequired` here, as real IAM does;
 * - gap 3: DeleteUser answers DeleteConflict while the user still has access keys, a login profile or group
 *   memberships, as real IAM does;
 * plus, on demand, IAM's eventual consistency (a new user unseen for a few calls) and failures of one command.
 * It implements only the commands provisioning sends, and records each one.
 */
import { randomBytes } from 'node:crypto';

export interface FakeUser {
  name: string;
  path: string;
  tags: { Key: string; Value: string }[];
  groups: Set<string>;
  loginProfile?: { passwordResetRequired: boolean; password: string };
  keys: string[];
}

export interface SentCommand {
  name: string;
  input: Record<string, unknown>;
  /** The command object itself (to inspect its middleware). */
  command: unknown;
}

const awsError = (name: string, message = name) => Object.assign(new Error(message), { name, $metadata: {} });

export class FakeIam {
  readonly users = new Map<string, FakeUser>();
  readonly groups = new Set<string>();
  readonly sent: SentCommand[] = [];
  passwordPolicy: Record<string, unknown> | undefined;
  /** A new user stays invisible to this many later calls naming it (eventual consistency). */
  invisibleCalls = 0;
  #hidden = new Map<string, number>();
  /** Makes the next call of a command fail with this error name. */
  readonly failNext = new Map<string, string>();

  constructor(groups: string[] = []) {
    for (const g of groups) this.groups.add(g);
  }

  names(): string[] {
    return this.sent.map((c) => c.name);
  }

  #user(name: unknown): FakeUser {
    const user = this.users.get(String(name));
    const hidden = this.#hidden.get(String(name)) ?? 0;
    if (user && hidden > 0) {
      this.#hidden.set(String(name), hidden - 1);
      throw awsError('NoSuchEntityException', `The user with name ${String(name)} cannot be found.`);
    }
    if (!user) throw awsError('NoSuchEntityException', `The user with name ${String(name)} cannot be found.`);
    return user;
  }

  async send(command: { input: Record<string, unknown>; constructor: { name: string } }): Promise<unknown> {
    const name = command.constructor.name.replace(/Command$/, '');
    const input = command.input;
    this.sent.push({ name, input, command });
    const failure = this.failNext.get(name);
    if (failure) {
      this.failNext.delete(name);
      throw awsError(failure);
    }
    switch (name) {
      case 'GetUser': {
        const u = this.#user(input.UserName);
        return { User: { UserName: u.name, Path: u.path, Tags: u.tags } };
      }
      case 'CreateUser': {
        if (this.users.has(String(input.UserName))) throw awsError('EntityAlreadyExistsException');
        const user: FakeUser = {
          name: String(input.UserName),
          path: String(input.Path ?? '/'),
          tags: (input.Tags as FakeUser['tags']) ?? [],
          groups: new Set(),
          keys: [],
        };
        this.users.set(user.name, user);
        if (this.invisibleCalls > 0) this.#hidden.set(user.name, this.invisibleCalls);
        return { User: { UserName: user.name, Path: user.path } };
      }
      case 'ListUserTags':
        return { Tags: this.#user(input.UserName).tags };
      case 'GetGroup':
        if (!this.groups.has(String(input.GroupName))) throw awsError('NoSuchEntityException');
        return { Group: { GroupName: input.GroupName }, Users: [] };
      case 'AddUserToGroup': {
        const user = this.#user(input.UserName);
        if (!this.groups.has(String(input.GroupName))) throw awsError('NoSuchEntityException');
        user.groups.add(String(input.GroupName));
        return {};
      }
      case 'ListGroupsForUser':
        return { Groups: [...this.#user(input.UserName).groups].map((GroupName) => ({ GroupName })) };
      case 'RemoveUserFromGroup':
        this.#user(input.UserName).groups.delete(String(input.GroupName));
        return {};
      case 'GetAccountPasswordPolicy':
        if (!this.passwordPolicy) throw awsError('NoSuchEntityException');
        return { PasswordPolicy: this.passwordPolicy };
      case 'GetLoginProfile': {
        const user = this.#user(input.UserName);
        if (!user.loginProfile) throw awsError('NoSuchEntityException');
        return {
          LoginProfile: { UserName: user.name, PasswordResetRequired: user.loginProfile.passwordResetRequired },
        };
      }
      case 'CreateLoginProfile':
      case 'UpdateLoginProfile': {
        const user = this.#user(input.UserName);
        if (name === 'CreateLoginProfile' && user.loginProfile) throw awsError('EntityAlreadyExistsException');
        if (name === 'UpdateLoginProfile' && !user.loginProfile) throw awsError('NoSuchEntityException');
        user.loginProfile = {
          password: String(input.Password),
          passwordResetRequired: input.PasswordResetRequired === true,
        };
        return {};
      }
      case 'ListMFADevices':
        this.#user(input.UserName);
        return { MFADevices: [], IsTruncated: false }; // its users have no MFA device
      case 'DeleteLoginProfile': {
        const user = this.#user(input.UserName);
        if (!user.loginProfile) throw awsError('NoSuchEntityException');
        user.loginProfile = undefined;
        return {};
      }
      case 'ListAccessKeys':
        return {
          AccessKeyMetadata: this.#user(input.UserName).keys.map((AccessKeyId) => ({ AccessKeyId, Status: 'Active' })),
        };
      case 'CreateAccessKey': {
        const user = this.#user(input.UserName);
        if (user.keys.length >= 2) throw awsError('LimitExceededException');
        const id = `TESTKEYID${randomBytes(6).toString('hex').toUpperCase()}`;
        user.keys.push(id);
        return { AccessKey: { AccessKeyId: id, SecretAccessKey: `test-secret-${randomBytes(12).toString('hex')}` } };
      }
      case 'DeleteAccessKey': {
        const user = this.#user(input.UserName);
        if (!user.keys.includes(String(input.AccessKeyId))) throw awsError('NoSuchEntityException');
        user.keys = user.keys.filter((k) => k !== input.AccessKeyId);
        return {};
      }
      case 'DeleteUser': {
        const user = this.#user(input.UserName);
        if (user.keys.length || user.loginProfile || user.groups.size)
          throw awsError('DeleteConflictException', 'Cannot delete entity, must delete subordinate entities first.');
        this.users.delete(user.name);
        return {};
      }
      default:
        throw new Error(`FakeIam does not implement ${name}`);
    }
  }
}
