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
  /**
   * Whether the user has an MFA device in use (the credential report's `mfa_active`, or ListMFADevices on a live
   * read). Absent: not known yet (projected before the bot read it).
   */
  mfa?: boolean;
  /** ISO time the console password was set (GetLoginProfile's CreateDate, or the report's `password_last_changed`). */
  consoleSince?: string;
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

/**
 * Two items per user, neither of which grows with the number of users: the user item (`pk` = `account#<account>`,
 * `sk` = the lower-case name: IAM user names are unique regardless of case) and its copy under its owner (`pk` =
 * `owner#<owner or UNOWNED>`, `sk` = `<account>#<lower-case name>`), so that both "every user of an account" and
 * "every user someone owns" are one Query of one partition (ConsistentRead where it decides a change), without a
 * secondary index (a GSI is eventually consistent). A write of a user writes those two small items only: nothing is
 * shared by the users of one owner, so no item is rewritten whole for every user's change and none can outgrow
 * DynamoDB's 400 KB (issue 20: the per-owner index item this replaces was rewritten at every write of any of its
 * users, and the unowned users' one overflowed at about 1,000 users).
 *
 * Projections written before this layout hold one more item per owner, `owner#<owner>` / LEGACY_INDEX_SK: never read
 * nor written any more (the owner query starts after it).
 */
interface UserItem extends Item {
  pk: string;
  sk: string;
  account: string;
  userName: string;
  path: string;
  owner?: string;
  groups?: string[];
  console: boolean;
  mfa?: boolean;
  consoleSince?: string;
  keys?: ProjectedKey[];
  keysObservedAt: string;
  refreshedAt: string;
  /** On the user item only. */
  requestIds?: Set<string>;
}

/** The owner partition of users without an owner tag (never a Slack user id: those start with U or W). */
export const UNOWNED = '-';

/** The IAM state a write sets (everything but the request ids, which only grow). */
export type ProjectedState = Omit<ProjectedUser, 'requestIds'>;

/**
 * The sort key of the per-owner index item of projections written before issue 20 (one attribute per user): no
 * longer written or read. An owner's copies sort after it (they start with an account name, and `#` sorts first).
 */
export const LEGACY_INDEX_SK = '#index';

const userKey = (account: string, userName: string) => ({ pk: `account#${account}`, sk: userName.toLowerCase() });
const ownerKey = (owner: string | undefined, account: string, userName: string) => ({
  pk: `owner#${owner ?? UNOWNED}`,
  sk: `${account}#${userName.toLowerCase()}`,
});

/**
 * The ownership projection: who owns which IAM user, with its groups, console access and keys, per account. Written
 * from IAM (the scheduled refresh and the bot's own changes); read by `/iam users` and `/iam user` without any IAM
 * call. Holds ids, names and dates only: never a credential.
 */
export class UserStore {
  readonly model;
  readonly #table: string;
  constructor(options: StoreOptions) {
    this.#table = `${options.prefix}users`;
    this.model = dynamoose.model<UserItem>(
      'users',
      new dynamoose.Schema({
        pk: { type: String, hashKey: true },
        sk: { type: String, rangeKey: true },
        account: String,
        userName: String,
        path: String,
        owner: String,
        groups: { type: Array, schema: [String] },
        console: Boolean,
        mfa: Boolean,
        consoleSince: String,
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
   * Writes a user's IAM state, then its owner's copy (and removes the copy under `previousOwner` when the owner
   * changed), adding `requestIds` to the requests that changed it: two small writes (three when the owner changed),
   * whatever the number of users. With `ifRefreshedAt`, only if the stored item is still the one read at that time
   * (`null`: only if there is none): a refresh never overwrites what a newer write stored meanwhile. Returns false when
   * that condition did not hold (and writes nothing). An owner's copy is written only over an older one (by
   * `refreshedAt`), so of two writers of one user the newer one's copy stays.
   *
   * Not one transaction, on purpose: moto copies the whole table for every transaction (a refresh of 5,000 users
   * took over 15 minutes). The user item is written first and is the truth; a copy left stale by a run that died
   * between the writes is rewritten by the next write of that user (the scheduled refresh rewrites every user at
   * least daily, see refreshAccount).
   */
  async put(
    state: ProjectedState,
    options: { requestIds?: string[]; ifRefreshedAt?: string | null; previousOwner?: string | null } = {},
  ): Promise<boolean> {
    const { account, userName, owner } = state;
    const fields: Record<string, unknown> = Object.fromEntries(
      Object.entries(state).filter(([, v]) => v !== undefined),
    );
    const update: Record<string, unknown> = { $SET: fields };
    // What the state does not hold any more: no owner tag, no console password (so no date for it).
    const removed = [...(owner ? [] : ['owner']), ...(state.consoleSince ? [] : ['consoleSince'])];
    if (removed.length) update.$REMOVE = removed;
    if (options.requestIds?.length) update.$ADD = { requestIds: new Set(options.requestIds) };
    const condition =
      options.ifRefreshedAt === undefined
        ? undefined
        : options.ifRefreshedAt === null
          ? new dynamoose.Condition('pk').not().exists()
          : new dynamoose.Condition('refreshedAt').eq(options.ifRefreshedAt);
    try {
      await this.model.update(userKey(account, userName), update as never, condition ? { condition } : {});
    } catch (error) {
      if (isConditionFailed(error)) return false;
      throw error;
    }
    await this.#putCopy(state);
    if (options.previousOwner !== undefined && (options.previousOwner ?? undefined) !== owner)
      await this.#removeCopy(options.previousOwner ?? undefined, account, userName, state.refreshedAt);
    return true;
  }

  /**
   * Forgets a user (gone from IAM, or no longer under the managed paths), then its owner's copy; with
   * `ifRefreshedAt` as in `put`.
   */
  async remove(
    user: Pick<ProjectedUser, 'account' | 'userName' | 'owner'>,
    options: { ifRefreshedAt?: string } = {},
  ): Promise<boolean> {
    try {
      await this.model.delete(
        userKey(user.account, user.userName),
        options.ifRefreshedAt ? { condition: new dynamoose.Condition('refreshedAt').eq(options.ifRefreshedAt) } : {},
      );
    } catch (error) {
      if (isConditionFailed(error)) return false;
      throw error;
    }
    await this.#removeCopy(user.owner, user.account, user.userName);
    return true;
  }

  /** Writes a user's copy under its owner, unless the copy there holds a newer write already (`refreshedAt`). */
  async #putCopy(state: ProjectedState): Promise<void> {
    const { marshall } = dynamoose.aws.converter();
    try {
      await dynamoose.aws.ddb().putItem({
        TableName: this.#table,
        Item: marshall(
          { ...ownerKey(state.owner, state.account, state.userName), ...state },
          { removeUndefinedValues: true },
        ),
        ConditionExpression: 'attribute_not_exists(pk) OR refreshedAt <= :at',
        ExpressionAttributeValues: marshall({ ':at': state.refreshedAt }),
      });
    } catch (error) {
      if (!isConditionFailed(error)) throw error; // a newer write of this user wrote its copy
    }
  }

  /** Removes a user's copy under an owner; with `ifNotAfter`, unless a newer write of it wrote that copy. */
  async #removeCopy(owner: string | undefined, account: string, userName: string, ifNotAfter?: string) {
    const { marshall } = dynamoose.aws.converter();
    try {
      await dynamoose.aws.ddb().deleteItem({
        TableName: this.#table,
        Key: marshall(ownerKey(owner, account, userName)),
        ...(ifNotAfter
          ? { ConditionExpression: 'refreshedAt <= :at', ExpressionAttributeValues: marshall({ ':at': ifNotAfter }) }
          : {}),
      });
    } catch (error) {
      if (!isConditionFailed(error)) throw error; // gone already, or a newer write of the user wrote it
    }
  }

  /** One user, as last projected; `consistent` where the read decides a write. */
  async get(account: string, userName: string, options: { consistent?: boolean } = {}) {
    const item = await this.model.get(userKey(account, userName), { consistent: options.consistent ?? false });
    return item ? toUser(item) : undefined;
  }

  /** Every projected user of an account, read consistently (the refresh decides writes and deletions from it). */
  async ofAccount(account: string): Promise<ProjectedUser[]> {
    const items = await this.model.query('pk').eq(`account#${account}`).consistent().all().exec();
    return items.map(toUser);
  }

  /**
   * The users a Slack user owns (no owner: those nobody owns), in every account, by account and name: one Query of
   * the owner's partition (every page: an owner's copies are small items, some 3,000 to a page). Request ids are not
   * included. `consistent` where the read decides IAM changes (offboarding). `more` is false: every page is read
   * (kept for the callers that show "and more").
   */
  async ownedBy(
    owner: string | undefined,
    options: { consistent?: boolean } = {},
  ): Promise<{ users: ProjectedUser[]; more: boolean }> {
    let query = this.model
      .query('pk')
      .eq(`owner#${owner ?? UNOWNED}`)
      .where('sk')
      .gt(LEGACY_INDEX_SK); // the owner copies only (`<account>#…`: account names sort after '#')
    if (options.consistent) query = query.consistent();
    const items = await query.all().exec();
    return { users: items.map(toUser), more: false };
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
    ...(item.mfa === undefined ? {} : { mfa: Boolean(item.mfa) }),
    ...(item.consoleSince ? { consoleSince: item.consoleSince } : {}),
    keys: (item.keys ?? []).map((k) => ({ ...k })),
    keysObservedAt: item.keysObservedAt,
    refreshedAt: item.refreshedAt,
    requestIds: [...(item.requestIds ?? [])],
  };
}
