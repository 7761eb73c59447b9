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

/**
 * Two items per user: the user item (`pk` = `account#<account>`, `sk` = the
 * lower-case name: IAM user names are unique regardless of case) and its copy under its owner (`pk` =
 * `owner#<owner or UNOWNED>`, `sk` = `<account>#<lower-case name>`), so that both "every user of an account" and
 * "every user someone owns" are one query of one partition, without a secondary index (a GSI is eventually
 * consistent, and moto answers a GSI query by scanning the whole table: 350 ms for 5,000 users). Each owner also has
 * an index item (`owner#<owner or UNOWNED>` / INDEX_SK) with every user it owns, so that `/iam users` reads one item
 * (moto answers a query of one partition by scanning the whole table too).
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
  keys?: ProjectedKey[];
  keysObservedAt: string;
  refreshedAt: string;
  /** On the user item only. */
  requestIds?: Set<string>;
  /** On the user item only: written since owners have an index item (see UserStore.put). */
  indexed?: boolean;
}

/** The owner partition of users without an owner tag (never a Slack user id: those start with U or W). */
export const UNOWNED = '-';

/** The IAM state a write sets (everything but the request ids, which only grow). */
export type ProjectedState = Omit<ProjectedUser, 'requestIds'>;

/** The sort key of an owner's index item (no user's owner copy sorts there: those start with an account name). */
export const INDEX_SK = '#index';

/**
 * The attribute of a user's entry in its owner's index item: `u_` and base64url of `<account>#<lower-case name>`
 * (no dots or other characters a document path would split on).
 */
const entryId = (account: string, userName: string) =>
  `u_${Buffer.from(`${account}#${userName.toLowerCase()}`).toString('base64url')}`;

/** DynamoDB's refusal of a write that would make an item larger than 400 KB. */
const isItemTooLarge = (error: unknown) =>
  (error as { name?: string })?.name === 'ValidationException' &&
  /exceeded the maximum allowed size/i.test((error as Error).message ?? '');

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
        indexed: Boolean,
      }),
      tableOptions(options),
    );
  }

  /**
   * Writes a user's IAM state, then its owner's copy and index entry (and removes those of `previousOwner` when the
   * owner changed), adding `requestIds` to the requests that changed it. With `ifRefreshedAt`, only if the stored item is
   * still the one read at that time (`null`: only if there is none): a refresh never overwrites what a newer write
   * stored meanwhile. Returns false when that condition did not hold (and writes nothing).
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
    const fields: Record<string, unknown> = { ...state };
    if (!owner) delete fields.owner;
    // The user item says it is in its owner's index (which a projection written before there were indexes is not):
    // the refresh rewrites a user whose item does not (see refreshAccount).
    const update: Record<string, unknown> = { $SET: { ...fields, indexed: true } };
    if (!owner) update.$REMOVE = ['owner'];
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
    await this.model.create({ ...ownerKey(owner, account, userName), ...fields } as never, { overwrite: true });
    await this.#setEntry(state);
    if (options.previousOwner !== undefined && (options.previousOwner ?? undefined) !== owner) {
      await this.model.delete(ownerKey(options.previousOwner ?? undefined, account, userName));
      await this.#removeEntry(options.previousOwner ?? undefined, account, userName, state.refreshedAt);
    }
    return true;
  }

  /**
   * Forgets a user (gone from IAM, or no longer under the managed paths), then its owner's copy and index entry; with
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
    await this.model.delete(ownerKey(user.owner, user.account, user.userName));
    await this.#removeEntry(user.owner, user.account, user.userName);
    return true;
  }

  /**
   * Sets a user's entry in its owner's index item (`pk` = `owner#<owner>`, `sk` = INDEX_SK; one attribute per user,
   * named by entryId, holding the user's state): one UpdateItem of that attribute alone, so that writers of other
   * users of the same owner never undo each other; unless the entry holds a newer write already (`refreshedAt`). An
   * index that would pass DynamoDB's 400 KB item limit is marked `overflow` instead (for good: the owner's users are
   * then read with the query of the owner copies, see ownedBy).
   */
  async #setEntry(state: ProjectedState): Promise<void> {
    const { marshall } = dynamoose.aws.converter();
    const fields = Object.fromEntries(Object.entries(state).filter(([, v]) => v !== undefined));
    const Key = marshall({ pk: `owner#${state.owner ?? UNOWNED}`, sk: INDEX_SK });
    try {
      await dynamoose.aws.ddb().updateItem({
        TableName: this.#table,
        Key,
        UpdateExpression: 'SET #k = :entry',
        ConditionExpression: 'attribute_not_exists(#k) OR #k.#r <= :at',
        ExpressionAttributeNames: { '#k': entryId(state.account, state.userName), '#r': 'refreshedAt' },
        ExpressionAttributeValues: marshall(
          { ':entry': fields, ':at': state.refreshedAt },
          { removeUndefinedValues: true },
        ),
      });
    } catch (error) {
      if (isConditionFailed(error)) return; // a newer write of this user set its entry
      if (!isItemTooLarge(error)) throw error;
      await dynamoose.aws.ddb().updateItem({
        TableName: this.#table,
        Key,
        UpdateExpression: 'SET overflow = :yes',
        ExpressionAttributeValues: marshall({ ':yes': true }),
      });
    }
  }

  /** Removes a user's entry from an owner's index; with `ifNotAfter`, unless a newer write of it set the entry. */
  async #removeEntry(owner: string | undefined, account: string, userName: string, ifNotAfter?: string) {
    const { marshall } = dynamoose.aws.converter();
    try {
      await dynamoose.aws.ddb().updateItem({
        TableName: this.#table,
        Key: marshall({ pk: `owner#${owner ?? UNOWNED}`, sk: INDEX_SK }),
        UpdateExpression: 'REMOVE #k',
        // Never creates an index item: an owner without one is read with the query of the owner copies.
        ConditionExpression: ifNotAfter
          ? 'attribute_exists(pk) AND (attribute_not_exists(#k) OR #k.#r <= :at)'
          : 'attribute_exists(pk)',
        ExpressionAttributeNames: { '#k': entryId(account, userName), ...(ifNotAfter ? { '#r': 'refreshedAt' } : {}) },
        ...(ifNotAfter ? { ExpressionAttributeValues: marshall({ ':at': ifNotAfter }) } : {}),
      });
    } catch (error) {
      if (!isConditionFailed(error)) throw error; // no index (nothing to remove), or a newer write of the user
    }
  }

  /** One user, as last projected; `consistent` where the read decides a write. */
  async get(account: string, userName: string, options: { consistent?: boolean } = {}) {
    const item = await this.model.get(userKey(account, userName), { consistent: options.consistent ?? false });
    return item ? toUser(item) : undefined;
  }

  /**
   * Every projected user of an account, read consistently (the refresh decides writes and deletions from it);
   * `indexed`: whether the user is in its owner's index item.
   */
  async ofAccount(account: string): Promise<(ProjectedUser & { indexed: boolean })[]> {
    const items = await this.model.query('pk').eq(`account#${account}`).consistent().all().exec();
    return items.map((i) => ({ ...toUser(i), indexed: Boolean(i.indexed) }));
  }

  /**
   * The users a Slack user owns (no owner: those nobody owns), in every account, by account and name: one GetItem of
   * the owner's index item. Request ids are not included. Without an index item (a projection written before there
   * were any) or when the index outgrew DynamoDB's 400 KB item limit (`overflow`: hundreds of users), one query of the
   * owner copies instead, one page (1 MB: thousands of users); `more`: the page did not hold them all. `consistent`
   * where the read decides IAM changes (offboarding).
   */
  async ownedBy(
    owner: string | undefined,
    options: { consistent?: boolean } = {},
  ): Promise<{ users: ProjectedUser[]; more: boolean }> {
    const { marshall, unmarshall } = dynamoose.aws.converter();
    const index = await dynamoose.aws.ddb().getItem({
      TableName: this.#table,
      Key: marshall({ pk: `owner#${owner ?? UNOWNED}`, sk: INDEX_SK }),
      ...(options.consistent ? { ConsistentRead: true } : {}),
    });
    const item = index.Item ? unmarshall(index.Item) : undefined;
    if (item && !item.overflow) {
      const users = Object.entries(item)
        .filter(([name]) => name.startsWith('u_'))
        .map(([, e]) => toUser({ ...(e as UserItem), requestIds: undefined } as UserItem));
      const sortKey = (u: ProjectedUser) => `${u.account}#${u.userName.toLowerCase()}`;
      users.sort((a, b) => (sortKey(a) < sortKey(b) ? -1 : sortKey(a) > sortKey(b) ? 1 : 0));
      return { users, more: false };
    }
    let query = this.model
      .query('pk')
      .eq(`owner#${owner ?? UNOWNED}`)
      .where('sk')
      .gt(INDEX_SK); // the owner copies only (`<account>#…`: account names sort after '#'), not the index item
    if (options.consistent) query = query.consistent();
    const page = await query.exec();
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
