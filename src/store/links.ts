import dynamoose from 'dynamoose';
import type { Condition } from 'dynamoose/dist/Condition.js';
import type { Item } from 'dynamoose/dist/Item.js';
import { epochSeconds, isConditionFailed, type StoreOptions, tableOptions } from './dynamo.js';

/**
 * - `pending`: delivered, not opened yet.
 * - `opened`: revealed once (the secret is deleted, or the sweep will delete it).
 * - `revoked`: opened, then the recipient said "This wasn't me" (the key was deactivated).
 * - `expired`: never opened before its expiry.
 * - `failed`: claimed, but the secret could not be read (nothing was shown).
 * - `superseded`: a retried delivery replaced it before it was delivered.
 */
export type LinkStatus = 'pending' | 'opened' | 'revoked' | 'expired' | 'failed' | 'superseded';

/** A one-time credential link. Holds ids and names only: the credentials live in Secrets Manager until revealed. */
export interface LinkRecord {
  /** SHA-256 (hex) of the link's token. The token itself is stored nowhere. */
  id: string;
  /** Random id for references (secret name, audit, buttons); unrelated to the token. */
  linkId: string;
  status: LinkStatus;
  deliveryKey: string;
  requestId: string;
  purpose: string;
  recipient: string;
  requester: string;
  approvers: string[];
  account: string;
  accountId: string;
  region: string;
  userName: string;
  /** The delivered access key's id (never its secret). */
  accessKeyId?: string;
  hasConsole: boolean;
  secretName: string;
  secretArn?: string;
  /** Epoch milliseconds. */
  createdAt: number;
  expiresAt: number;
  openedAt?: number;
  /** Where the reveal came from (API Gateway's source IP and the browser's user agent), for the audit trail. */
  openedFromIp?: string;
  openedUserAgent?: string;
  dmChannel?: string;
  dmTs?: string;
  secretDeletedAt?: number;
  keyDeactivatedAt?: number;
  /** When the console password (login profile) this link delivered was removed (expiry or "This wasn't me"). */
  consoleRemovedAt?: number;
  expiredAt?: number;
  expiryNotifiedAt?: number;
  revokedAt?: number;
  revokedBy?: string;
  /** When the approval channel was alerted about the report, and where that alert is (to update it in place). */
  revokeAlertedAt?: number;
  revokeAlertChannel?: string;
  revokeAlertTs?: string;
  /** The alert says something could not be disabled; it is updated once everything is. */
  revokeAlertPartial?: boolean;
  /** When the report was recorded in the audit trail. */
  revokeAuditedAt?: number;
  /** When the recipient's DM was updated to say what the report did (and whether that was only partly done). */
  revokeToldAt?: number;
  revokeToldPartial?: boolean;
  /** The run finishing a report, and until when it owns it (a run that died is taken over after this). */
  reportOwner?: string;
  reportLeaseUntil?: number;
  failedAt?: number;
  /** Why a reveal failed: an AWS error name, never a message that could hold a value. */
  failure?: string;
  /** Set while the scheduled sweep still has work on this link (expire it, delete its secret): `sweepAt` is when. */
  sweepAt?: number;
  /** DynamoDB TTL, epoch seconds: the record is kept 30 days after expiry so a used link still says when. */
  ttl: number;
}

/** Where a delivery (idempotency key) stands. */
export type DeliveryClaim =
  | { state: 'claimed'; attempt: number; previous?: { linkId: string; linkHash: string; attempt?: number } }
  | { state: 'delivered'; linkId: string; linkHash: string; expiresAt: number }
  | { state: 'busy' };

type Kind = 'link' | 'delivery' | 'link-id';

interface LinkItem extends Item, Partial<Omit<LinkRecord, 'id'>> {
  id: string;
  kind: Kind;
  linkHash?: string;
  leaseUntil?: number;
  deliveredAt?: number;
  attempt?: number;
  sweepDue?: string;
}

/**
 * A delivery key's item as read once (consistently): what a caller decides from (delivered? an attempt left
 * unfinished?) and hands to claimDelivery instead of it being read again. `null`: the key was never claimed.
 */
export type DeliveryState = Pick<
  LinkItem,
  'linkId' | 'linkHash' | 'expiresAt' | 'leaseUntil' | 'deliveredAt' | 'attempt'
> | null;

/** Constant partition of the sparse sweep index: only links with work left carry it. */
const SWEEP_DUE = 'due';
export const SWEEP_INDEX = 'sweep';
const KEEP_AFTER_EXPIRY_S = 30 * 86_400;

const deliveryId = (deliveryKey: string) => `delivery#${deliveryKey}`;
const aliasId = (linkId: string) => `link-id#${linkId}`;

const LINK_FIELDS = [
  'linkId',
  'status',
  'deliveryKey',
  'requestId',
  'purpose',
  'recipient',
  'requester',
  'approvers',
  'account',
  'accountId',
  'region',
  'userName',
  'accessKeyId',
  'hasConsole',
  'secretName',
  'secretArn',
  'createdAt',
  'expiresAt',
  'openedAt',
  'openedFromIp',
  'openedUserAgent',
  'dmChannel',
  'dmTs',
  'secretDeletedAt',
  'keyDeactivatedAt',
  'consoleRemovedAt',
  'expiredAt',
  'expiryNotifiedAt',
  'revokedAt',
  'revokedBy',
  'revokeAlertedAt',
  'revokeAlertChannel',
  'revokeAlertTs',
  'revokeAlertPartial',
  'revokeAuditedAt',
  'revokeToldAt',
  'revokeToldPartial',
  'reportOwner',
  'reportLeaseUntil',
  'failedAt',
  'failure',
  'sweepAt',
  'ttl',
] as const;

function toRecord(item: LinkItem | undefined): LinkRecord | undefined {
  if (item?.kind !== 'link') return undefined;
  const out: Record<string, unknown> = { id: item.id };
  for (const f of LINK_FIELDS) if (item[f] !== undefined) out[f] = item[f];
  out.approvers = item.approvers ?? [];
  return out as unknown as LinkRecord;
}

/**
 * One-time links, in one table: the link records (keyed by token hash), a `delivery#<key>` item per delivery key
 * (strongly consistent idempotency, which a GSI could not give) and a `link-id#<linkId>` alias for lookups from
 * Slack buttons, which carry the link id, never the token or its hash.
 */
export class LinkStore {
  readonly model;
  constructor(options: StoreOptions) {
    this.model = dynamoose.model<LinkItem>(
      'links',
      new dynamoose.Schema({
        id: { type: String, hashKey: true },
        kind: String,
        linkId: String,
        status: String,
        deliveryKey: String,
        requestId: String,
        purpose: String,
        recipient: String,
        requester: String,
        approvers: { type: Array, schema: [String] },
        account: String,
        accountId: String,
        region: String,
        userName: String,
        accessKeyId: String,
        hasConsole: Boolean,
        secretName: String,
        secretArn: String,
        createdAt: Number,
        expiresAt: Number,
        openedAt: Number,
        openedFromIp: String,
        openedUserAgent: String,
        dmChannel: String,
        dmTs: String,
        secretDeletedAt: Number,
        keyDeactivatedAt: Number,
        consoleRemovedAt: Number,
        expiredAt: Number,
        expiryNotifiedAt: Number,
        revokedAt: Number,
        revokedBy: String,
        revokeAlertedAt: Number,
        revokeAlertChannel: String,
        revokeAlertTs: String,
        revokeAlertPartial: Boolean,
        revokeAuditedAt: Number,
        revokeToldAt: Number,
        revokeToldPartial: Boolean,
        reportOwner: String,
        reportLeaseUntil: Number,
        failedAt: Number,
        failure: String,
        sweepDue: {
          type: String,
          index: { name: SWEEP_INDEX, type: 'global', rangeKey: 'sweepAt', project: false },
        },
        sweepAt: Number,
        linkHash: String,
        leaseUntil: Number,
        deliveredAt: Number,
        attempt: Number,
        ttl: Number,
      }),
      tableOptions(options),
    );
  }

  /** TTL for a link (and its side items) that expires at `expiresAt` (epoch ms). */
  static ttlFor(expiresAt: number): number {
    return epochSeconds(new Date(expiresAt)) + KEEP_AFTER_EXPIRY_S;
  }

  /**
   * Claims a delivery key for one attempt, numbered 1, 2, ... per key (the number names the attempt's secret, so
   * that what an attempt created can be found from this item alone). `delivered` when an earlier attempt finished;
   * `busy` while another attempt holds an unexpired lease; `claimed` otherwise, with the abandoned or released
   * previous attempt (if any) to clean up.
   */
  async claimDelivery(
    deliveryKey: string,
    next: { linkId: string; linkHash: string; expiresAt: number },
    now: Date,
    leaseMs: number,
    known?: DeliveryState,
  ): Promise<DeliveryClaim> {
    const id = deliveryId(deliveryKey);
    // A state read earlier is as good as a read now: the conditional write below checks that it still holds (when it
    // does not, the item is read again).
    const existing = known !== undefined ? known : await this.model.get({ id }, { consistent: true });
    const settled = this.#settled(existing);
    if (settled) return settled;
    if (existing && (existing.leaseUntil ?? 0) >= now.getTime()) return { state: 'busy' };
    const attempt = existing ? (existing.attempt ?? 1) + 1 : 1;
    const condition = existing
      ? new dynamoose.Condition('linkId').eq(existing.linkId).and().where('deliveredAt').not().exists()
      : new dynamoose.Condition('id').not().exists();
    try {
      await this.model.update(
        { id },
        {
          $SET: {
            kind: 'delivery',
            linkId: next.linkId,
            linkHash: next.linkHash,
            expiresAt: next.expiresAt,
            attempt,
            leaseUntil: now.getTime() + leaseMs,
            ttl: LinkStore.ttlFor(next.expiresAt),
          },
        },
        { condition },
      );
    } catch (error) {
      if (!isConditionFailed(error)) throw error;
      return this.#settled(await this.model.get({ id }, { consistent: true })) ?? { state: 'busy' };
    }
    const previous =
      existing?.linkId && existing.linkHash
        ? {
            linkId: existing.linkId,
            linkHash: existing.linkHash,
            ...(existing.attempt !== undefined ? { attempt: existing.attempt } : {}),
          }
        : undefined;
    return { state: 'claimed', attempt, ...(previous ? { previous } : {}) };
  }

  /** A delivery key's item, read consistently (see DeliveryState). */
  async deliveryState(deliveryKey: string): Promise<DeliveryState> {
    const item = await this.model.get({ id: deliveryId(deliveryKey) }, { consistent: true });
    if (!item) return null;
    const { linkId, linkHash, expiresAt, leaseUntil, deliveredAt, attempt } = item;
    return { linkId, linkHash, expiresAt, leaseUntil, deliveredAt, attempt };
  }

  /** The link of a delivery that completed, from its state; undefined otherwise. */
  static deliveredOf(state: DeliveryState): { linkId: string; linkHash: string; expiresAt: number } | undefined {
    if (!state?.deliveredAt || !state.linkId || !state.linkHash || !state.expiresAt) return undefined;
    return { linkId: state.linkId, linkHash: state.linkHash, expiresAt: state.expiresAt };
  }

  /** The link a delivery key delivered, if it completed (read consistently); undefined otherwise. */
  async deliveredLink(
    deliveryKey: string,
  ): Promise<{ linkId: string; linkHash: string; expiresAt: number } | undefined> {
    const settled = this.#settled(await this.model.get({ id: deliveryId(deliveryKey) }, { consistent: true }));
    return settled?.state === 'delivered'
      ? { linkId: settled.linkId, linkHash: settled.linkHash, expiresAt: settled.expiresAt }
      : undefined;
  }

  /**
   * The attempt of a delivery key that claimed it and never finished (read consistently): its link, the number that
   * names its secret, and until when it holds the key. Undefined when the key was never claimed, or delivered.
   */
  async unfinishedDelivery(
    deliveryKey: string,
  ): Promise<{ linkId: string; linkHash: string; attempt?: number; leaseUntil: number } | undefined> {
    const item = await this.model.get({ id: deliveryId(deliveryKey) }, { consistent: true });
    if (!item || this.#settled(item) || !item.linkId || !item.linkHash) return undefined;
    return {
      linkId: item.linkId,
      linkHash: item.linkHash,
      ...(item.attempt !== undefined ? { attempt: item.attempt } : {}),
      leaseUntil: item.leaseUntil ?? 0,
    };
  }

  #settled(item: DeliveryState | undefined): DeliveryClaim | undefined {
    if (!item?.deliveredAt || !item.linkId || !item.linkHash || !item.expiresAt) return undefined;
    return { state: 'delivered', linkId: item.linkId, linkHash: item.linkHash, expiresAt: item.expiresAt };
  }

  /**
   * Marks the delivery key's current attempt (`linkId`) delivered: later calls with the key return its link, or
   * `instead` (an earlier attempt's link that turned out to be delivered after all).
   */
  async completeDelivery(
    deliveryKey: string,
    linkId: string,
    now: Date,
    instead?: { linkId: string; linkHash: string; expiresAt: number },
  ): Promise<void> {
    await this.model.update(
      { id: deliveryId(deliveryKey) },
      { $SET: { deliveredAt: now.getTime(), ...(instead ?? {}) } },
      { condition: new dynamoose.Condition('linkId').eq(linkId) },
    );
  }

  /**
   * Gives a failed attempt's claim back, so that a retry may start at once. The item stays (lease over): the next
   * attempt takes the next number, so no secret name is ever used twice (Secrets Manager refuses, for a while, to
   * create a secret under the name of one it is still force-deleting).
   */
  async releaseDelivery(deliveryKey: string, linkId: string): Promise<void> {
    try {
      await this.model.update(
        { id: deliveryId(deliveryKey) },
        { $SET: { leaseUntil: 0 } },
        { condition: new dynamoose.Condition('linkId').eq(linkId).and().where('deliveredAt').not().exists() },
      );
    } catch (error) {
      if (!isConditionFailed(error)) throw error;
    }
  }

  /** Stores a new link and its link-id alias. Refuses to overwrite either. */
  async create(link: LinkRecord): Promise<void> {
    const { id, ...rest } = link;
    await this.model.create(
      { id, kind: 'link', ...rest, ...(link.sweepAt !== undefined ? { sweepDue: SWEEP_DUE } : {}) },
      { overwrite: false },
    );
    await this.model.create(
      { id: aliasId(link.linkId), kind: 'link-id', linkHash: id, ttl: link.ttl },
      { overwrite: false },
    );
  }

  /** The link whose token hashes to `hash` (strongly consistent). */
  async get(hash: string): Promise<LinkRecord | undefined> {
    return toRecord((await this.model.get({ id: hash }, { consistent: true })) ?? undefined);
  }

  /** The link with this link id. */
  async getByLinkId(linkId: string): Promise<LinkRecord | undefined> {
    const alias = await this.model.get({ id: aliasId(linkId) }, { consistent: true });
    return alias?.linkHash ? this.get(alias.linkHash) : undefined;
  }

  /**
   * Changes a link's fields only if its status is one of `from` (and `extra` holds): the conditional write that
   * makes each transition happen once. Returns the updated record, or undefined when the condition failed.
   * A field set to `null` is removed; `sweepAt: null` takes the link out of the sweep index, a number puts it in.
   */
  async transition(
    hash: string,
    from: LinkStatus[],
    set: { [K in keyof Omit<LinkRecord, 'id'>]?: LinkRecord[K] | null },
    extra?: (condition: Condition) => Condition,
  ): Promise<LinkRecord | undefined> {
    const $SET: Record<string, unknown> = {};
    const $REMOVE: string[] = [];
    for (const [field, value] of Object.entries(set)) {
      if (value === undefined) continue;
      if (value === null) $REMOVE.push(field);
      else $SET[field] = value;
    }
    if (set.sweepAt === null) $REMOVE.push('sweepDue');
    else if (set.sweepAt !== undefined) $SET.sweepDue = SWEEP_DUE;
    let condition = new dynamoose.Condition('kind').eq('link').and().where('status').in(from);
    if (extra) condition = extra(condition.and());
    try {
      const item = await this.model.update(
        { id: hash },
        { $SET, ...($REMOVE.length > 0 ? { $REMOVE } : {}) } as never,
        { condition },
      );
      return toRecord(item);
    } catch (error) {
      if (isConditionFailed(error)) return undefined;
      throw error;
    }
  }

  /**
   * Claims a pending, unexpired link for its one reveal: exactly one of any number of concurrent claims wins.
   * Returns the claimed record, or undefined for everyone else.
   */
  async claim(
    hash: string,
    now: Date,
    opener: { sourceIp?: string; userAgent?: string } = {},
  ): Promise<LinkRecord | undefined> {
    const from = {
      ...(opener.sourceIp ? { openedFromIp: opener.sourceIp.slice(0, 64) } : {}),
      ...(opener.userAgent ? { openedUserAgent: opener.userAgent.slice(0, 256) } : {}),
    };
    return this.transition(hash, ['pending'], { status: 'opened', openedAt: now.getTime(), ...from }, (c) =>
      c.where('expiresAt').gt(now.getTime()),
    );
  }

  /** Hashes of the links the sweep has work on at `now` (from the sparse index; eventually consistent). */
  async dueForSweep(now: Date): Promise<string[]> {
    const items = await this.model
      .query('sweepDue')
      .eq(SWEEP_DUE)
      .where('sweepAt')
      .le(now.getTime())
      .using(SWEEP_INDEX)
      .all()
      .exec();
    return items.map((i) => i.id);
  }
}

/**
 * The link of a delivery key's latest attempt if that attempt has not completed (read consistently): a retry looks
 * at it before minting credentials again, since the dead attempt may have sent its link, and its recipient opened
 * it, before it could record the delivery. (A function, not a method: only the worker needs it, and the Slack
 * function's bundle keeps every method of the store.)
 */
export async function unfinishedAttempt(
  links: Pick<LinkStore, 'model'>,
  deliveryKey: string,
  known?: DeliveryState,
): Promise<{ linkId: string; linkHash: string } | undefined> {
  const item =
    known !== undefined ? known : await links.model.get({ id: deliveryId(deliveryKey) }, { consistent: true });
  if (!item || item.deliveredAt || !item.linkId || !item.linkHash) return undefined;
  return { linkId: item.linkId, linkHash: item.linkHash };
}
