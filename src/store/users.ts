import dynamoose from 'dynamoose';
import type { Item } from 'dynamoose/dist/Item.js';
import { isConditionFailed, type StoreOptions, tableOptions } from './dynamo.js';

/** One access key of an IAM user, as the projection holds it: its id and dates, never its secret. */
export interface ProjectedKey {
  id: string;
  status: 'Active' | 'Inactive';
  /** ISO time the key was created. */
  createdAt: string;
  /** ISO time, service and region of its last use, when IAM knows one. */
  lastUsedAt?: string;
  lastUsedService?: string;
  lastUsedRegion?: string;
}

/** What the bot knows of one IAM user under the managed paths: what `/iam users` and `/iam user` show. */
export interface ProjectedUser {
  /** Account name from the policy (`home` or a named account). */
  account: string;
  /** As IAM spells it. */
  userName: string;
  path: string;
  /** Slack user id from the user's `slack-user-id` tag; absent: unowned. */
  owner?: string;
  groups: string[];
  /** Whether the user has a console password (a login profile). */
  console: boolean;
  keys: ProjectedKey[];
  /**
   * When the keys and console access were observed in IAM: the time of a live read, or the generation time of the
   * credential report they come from. An older observation never replaces a newer one.
   */
  keysObservedAt: string;
  /** When the item was last written from IAM. */
  refreshedAt: string;
  /** Ids of the requests of the bot that changed this user (unordered). */
  requestIds: string[];
}

interface UserItem extends Item {
  account: string;
  /** IAM user names are unique regardless of case: the key is the lower-case name. */
  name: string;
  userName: string;
  path: string;
  owner?: string;
  /** The owner, or UNOWNED: the partition of the `owner` index, so that unowned users are one query too. */
  ownerKey: string;
  groups?: string[];
  console: boolean;
  keys?: ProjectedKey[];
  keysObservedAt: string;
  refreshedAt: string;
  requestIds?: Set<string>;
}

/** Partition of the owner index for users without an owner tag (never a Slack user id: those are upper case). */
export const UNOWNED = '-';
export const OWNER_INDEX = 'owner';

/** The IAM state a write sets (everything but the request ids, which only grow). */
export type ProjectedState = Omit<ProjectedUser, 'requestIds'>;

const keyOf = (account: string, userName: string) => ({ account, name: userName.toLowerCase() });

/**
 * The ownership projection: who owns which IAM user, with its groups, console access and keys, per account. Written
 * from IAM (the scheduled refresh and the bot's own changes); read by `/iam users` and `/iam user` without any IAM
 * call. Holds ids, names and dates only: never a credential.
 */
export class UserStore {
  readonly model;
  constructor(options: StoreOptions) {
    this.model = dynamoose.model<UserItem>(
      'users',
      new dynamoose.Schema({
        account: { type: String, hashKey: true },
        name: { type: String, rangeKey: true },
        userName: String,
        path: String,
        owner: String,
        ownerKey: { type: String, index: { name: OWNER_INDEX, type: 'global', rangeKey: 'name', project: true } },
        groups: { type: Array, schema: [String] },
        console: Boolean,
        keys: {
          type: Array,
          schema: [
            {
              type: Object,
              schema: {
                id: String,
                status: String,
                createdAt: String,
                lastUsedAt: String,
                lastUsedService: String,
                lastUsedRegion: String,
              },
            },
          ],
        },
        keysObservedAt: String,
        refreshedAt: String,
        requestIds: { type: Set, schema: [String] },
      }),
      tableOptions(options),
    );
  }

  /**
   * Writes a user's IAM state (and adds `requestIds` to the requests that changed it). With `ifRefreshedAt`, only if
   * the stored item is still the one read at that time (`null`: only if there is none): a refresh never overwrites
   * what a newer write stored meanwhile. Returns false when that condition did not hold.
   */
  async put(state: ProjectedState, options: { requestIds?: string[]; ifRefreshedAt?: string | null } = {}) {
    const { account, userName, owner, ...rest } = state;
    const $SET: Record<string, unknown> = { ...rest, userName, ownerKey: owner ?? UNOWNED };
    if (owner) $SET.owner = owner;
    const update: Record<string, unknown> = { $SET };
    if (!owner) update.$REMOVE = ['owner'];
    if (options.requestIds?.length) update.$ADD = { requestIds: new Set(options.requestIds) };
    const condition =
      options.ifRefreshedAt === undefined
        ? undefined
        : options.ifRefreshedAt === null
          ? new dynamoose.Condition('account').not().exists()
          : new dynamoose.Condition('refreshedAt').eq(options.ifRefreshedAt);
    try {
      await this.model.update(keyOf(account, userName), update as never, condition ? { condition } : {});
      return true;
    } catch (error) {
      if (isConditionFailed(error)) return false;
      throw error;
    }
  }

  /** Forgets a user (gone from IAM, or no longer under the managed paths); with `ifRefreshedAt` as in `put`. */
  async remove(account: string, userName: string, options: { ifRefreshedAt?: string } = {}): Promise<boolean> {
    try {
      await this.model.delete(
        keyOf(account, userName),
        options.ifRefreshedAt ? { condition: new dynamoose.Condition('refreshedAt').eq(options.ifRefreshedAt) } : {},
      );
      return true;
    } catch (error) {
      if (isConditionFailed(error)) return false;
      throw error;
    }
  }

  /** One user, as last projected (for display: an eventually consistent read). */
  async get(account: string, userName: string): Promise<ProjectedUser | undefined> {
    const item = await this.model.get(keyOf(account, userName));
    return item ? toUser(item) : undefined;
  }

  /** Every projected user of an account, read consistently (the refresh decides writes and deletions from it). */
  async ofAccount(account: string): Promise<ProjectedUser[]> {
    const items = await this.model.query('account').eq(account).consistent().all().exec();
    return items.map(toUser);
  }

  /**
   * The users a Slack user owns (no owner: those nobody owns), in every account: one query of the owner index, one
   * page (1 MB, thousands of users). `more`: the page did not hold them all.
   */
  async ownedBy(owner: string | undefined): Promise<{ users: ProjectedUser[]; more: boolean }> {
    const page = await this.model
      .query('ownerKey')
      .eq(owner ?? UNOWNED)
      .using(OWNER_INDEX)
      .exec();
    return { users: page.map(toUser), more: page.lastKey !== undefined };
  }
}

function toUser(item: UserItem): ProjectedUser {
  return {
    account: item.account,
    userName: item.userName,
    path: item.path,
    ...(item.owner ? { owner: item.owner } : {}),
    groups: [...(item.groups ?? [])],
    console: Boolean(item.console),
    keys: (item.keys ?? []).map((k) => ({ ...k })),
    keysObservedAt: item.keysObservedAt,
    refreshedAt: item.refreshedAt,
    requestIds: [...(item.requestIds ?? [])],
  };
}
