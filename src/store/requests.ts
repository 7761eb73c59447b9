import dynamoose from 'dynamoose';
import type { Item } from 'dynamoose/dist/Item.js';
import { epochSeconds, isConditionFailed, type StoreOptions, tableOptions } from './dynamo.js';

/**
 * Life cycle of an access request:
 * pending -> approved | denied | expired; approved -> provisioning -> done | failed; failed -> approved (Retry).
 */
export type RequestStatus = 'pending' | 'approved' | 'denied' | 'expired' | 'provisioning' | 'done' | 'failed';

/** What the new user gets: an access key, a console password, or both. */
export type AccessType = 'keys' | 'console' | 'both';

export interface Approval {
  /** Slack user id of the approver. */
  user: string;
  at: string;
}

/** Who ended a request's pending state other than by approval (deny, expiry) and why. */
export interface Decision {
  /** Slack user id, or `system` for expiry. */
  by: string;
  at: string;
  reason?: string;
}

/** What provisioning created in IAM for this request; what a rollback undoes and a report lists. */
export interface CreatedResources {
  user: boolean;
  groups: string[];
  loginProfile: boolean;
  accessKey: boolean;
}

export interface UserTag {
  key: string;
  value: string;
}

/** One request for a new IAM user, as stored. Holds ids, names and decisions only: never a credential. */
export interface AccessRequest {
  id: string;
  status: RequestStatus;
  /** Slack user id of who asked. */
  requester: string;
  /** Slack user id of who receives the credentials. */
  recipient: string;
  /** Account name from the policy (`home` or a named account). */
  account: string;
  /** 12-digit account id, from STS at submission. */
  accountId: string;
  userName: string;
  path: string;
  groups: string[];
  accessType: AccessType;
  tags: UserTag[];
  justification: string;
  approvals: Approval[];
  decision?: Decision;
  /** The approval message in the policy's channel. */
  message?: { channel: string; ts: string };
  /** Provisioning attempt: 1 for the first, +1 for each Retry. The job id of attempt n > 1 is `provision:<id>:<n>`. */
  attempt: number;
  /** How many times provisioning minted fresh credentials (part of the delivery key). */
  credentialIssue: number;
  created?: CreatedResources;
  /** Safe summary of the last failure: step and AWS error name, never a message that could hold a secret. */
  error?: string;
  /** What still exists after a failed rollback, e.g. `membership of build-bot in ci-deployers`. */
  remaining?: string[];
  /** The one-time link that delivered the credentials. */
  linkId?: string;
  createdAt: string;
  expiresAt: string;
  updatedAt: string;
  /** Optimistic concurrency: every write requires the version it read and increments it. */
  version: number;
}

interface RequestItem extends Item, AccessRequest {
  ttl: number;
}

/** Stored requests are kept this long after creation (the audit table keeps the history). */
const KEEP_SECONDS = 400 * 86_400;

const FIELDS = [
  'id',
  'status',
  'requester',
  'recipient',
  'account',
  'accountId',
  'userName',
  'path',
  'groups',
  'accessType',
  'tags',
  'justification',
  'approvals',
  'decision',
  'message',
  'attempt',
  'credentialIssue',
  'created',
  'error',
  'remaining',
  'linkId',
  'createdAt',
  'expiresAt',
  'updatedAt',
  'version',
] as const satisfies readonly (keyof AccessRequest)[];

type Changes = Partial<Omit<AccessRequest, 'id' | 'version' | 'updatedAt' | 'createdAt'>>;

const stringList = { type: Array, schema: [String] };

/** Requests for new IAM users, with a conditional write for every transition. */
export class RequestStore {
  readonly model;
  constructor(options: StoreOptions) {
    this.model = dynamoose.model<RequestItem>(
      'requests',
      new dynamoose.Schema({
        id: { type: String, hashKey: true },
        status: String,
        requester: String,
        recipient: String,
        account: String,
        accountId: String,
        userName: String,
        path: String,
        groups: stringList,
        accessType: String,
        tags: { type: Array, schema: [{ type: Object, schema: { key: String, value: String } }] },
        justification: String,
        approvals: { type: Array, schema: [{ type: Object, schema: { user: String, at: String } }] },
        decision: { type: Object, schema: { by: String, at: String, reason: String } },
        message: { type: Object, schema: { channel: String, ts: String } },
        attempt: Number,
        credentialIssue: Number,
        created: {
          type: Object,
          schema: { user: Boolean, groups: stringList, loginProfile: Boolean, accessKey: Boolean },
        },
        error: String,
        remaining: stringList,
        linkId: String,
        createdAt: String,
        expiresAt: String,
        updatedAt: String,
        version: Number,
        ttl: Number,
      }),
      tableOptions(options),
    );
  }

  /** Stores a new request; refuses to overwrite one with the same id. */
  async create(request: AccessRequest): Promise<void> {
    await this.model.create(
      { ...request, ttl: epochSeconds(new Date(request.createdAt)) + KEEP_SECONDS },
      { overwrite: false },
    );
  }

  async get(id: string): Promise<AccessRequest | undefined> {
    const item = await this.model.get({ id });
    return item ? toRequest(item) : undefined;
  }

  /**
   * Writes `changes` only if the stored request is still the version `current` was read at (so still in its
   * status). Returns the new state, or undefined when someone else changed the request first (re-read and decide
   * again). `remove` deletes optional fields.
   */
  async update(
    current: AccessRequest,
    changes: Changes,
    now: Date,
    remove: (keyof Changes)[] = [],
  ): Promise<AccessRequest | undefined> {
    try {
      const item = await this.model.update(
        { id: current.id },
        {
          $SET: { ...changes, version: current.version + 1, updatedAt: now.toISOString() },
          ...(remove.length ? { $REMOVE: remove } : {}),
        } as never,
        {
          condition: new dynamoose.Condition('version').eq(current.version).and().where('status').eq(current.status),
        },
      );
      return toRequest(item);
    } catch (error) {
      if (isConditionFailed(error)) return undefined;
      throw error;
    }
  }

  /** Requests in provisioning whose last change is older than `cutoff` (their worker stopped). A scan. */
  async provisioningSince(cutoff: Date): Promise<AccessRequest[]> {
    const items = await this.model
      .scan('status')
      .eq('provisioning')
      .and()
      .where('updatedAt')
      .lt(cutoff.toISOString())
      .all()
      .exec();
    return items.map(toRequest);
  }

  /** Pending requests whose lifetime ended at or before `now`. A scan: the table holds few items. */
  async pendingExpiredAt(now: Date): Promise<AccessRequest[]> {
    const items = await this.model
      .scan('status')
      .eq('pending')
      .and()
      .where('expiresAt')
      .le(now.toISOString())
      .all()
      .exec();
    return items.map(toRequest);
  }
}

function toRequest(item: RequestItem): AccessRequest {
  const out: Record<string, unknown> = {};
  for (const key of FIELDS) if (item[key] !== undefined) out[key] = structuredClone(item[key]);
  const request = out as unknown as AccessRequest;
  request.groups ??= [];
  request.tags ??= [];
  request.approvals ??= [];
  return request;
}
