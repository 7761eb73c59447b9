import dynamoose from 'dynamoose';
import type { Item } from 'dynamoose/dist/Item.js';
import { epochSeconds, isConditionFailed, type StoreOptions, tableOptions, transact } from './dynamo.js';

/**
 * One item of the key-age reminders table:
 * - `step#<account>#<key id>#<step>`: a ladder step of one access key (a reminder, an overdue notice, the escalation,
 *   the deactivation, an idle suggestion), claimed before it is sent: `claimed` (with a lease), then `sent`, or
 *   `deferred` when the send failed (the next run claims it again);
 * - `snooze#<account>#<key id>`: the key's snooze (until when, and the days snoozed in all);
 * - `unowned#<account>#<day>`: the day's list of unowned keys was claimed (posted once a day per account);
 * - access reviews (src/services/access-review.ts): `review-round#<account>` (the current round: the day it started,
 *   `collecting` or `sent`), `review-job#<account>#<round>#<user|group>#<name>` (a service last accessed job: its id,
 *   `started` or `done`, and what it found), `review-answer#<account>#<round>#<user>#<group, or * for the user>`
 *   (Keep, Remove or Delete, once), and the owners' DMs as claimed steps (`review-dm#<account>#<round>#<owner>`).
 */
interface ReminderItem extends Item {
  id: string;
  status?: 'claimed' | 'sent' | 'deferred';
  leaseUntil?: number;
  at: string;
  runId?: string;
  /** Snooze: ISO time the key's DMs resume, days snoozed in all, by whom last. */
  until?: string;
  days?: number;
  by?: string;
  /** Access reviews: the round (day it started), the item's state, a job's id and what it found (JSON). */
  round?: string;
  state?: string;
  jobId?: string;
  data?: string;
  /** A review round's counts: memberships and users asked about in the DMs sent, and the answers. */
  asked?: number;
  kept?: number;
  removed?: number;
  deleted?: number;
  ttl: number;
}

/** An access review's stored item (see ReminderStore). */
export interface ReviewItem {
  id: string;
  /** A review DM's claim: claimed, sent or deferred (see claim). */
  status?: string;
  round?: string;
  state?: string;
  jobId?: string;
  data?: string;
  by?: string;
  at: string;
  asked?: number;
  kept?: number;
  removed?: number;
  deleted?: number;
}

/** The id of a step's claim. */
export const stepId = (account: string, keyId: string, step: string) => `step#${account}#${keyId}#${step}`;
const snoozeId = (account: string, keyId: string) => `snooze#${account}#${keyId}`;

/** How long a claim whose send never finished (the run died) holds before another run may claim the step again. */
export const CLAIM_LEASE_MS = 15 * 60_000;
/** Steps are remembered for a little over a year (a key older than that has long been escalated). */
const KEEP_DAYS = 400;

/** A key's snooze. */
export interface KeySnooze {
  until: string;
  /** Days snoozed in all (the policy's `keys.snooze.maxDaysPerKey` caps it). */
  days: number;
}

/**
 * The ladder's memory (`<prefix>reminders`): which step of which key was sent, snoozes, and the daily list of unowned
 * keys. Every write that decides whether something is sent is conditional, so reruns, retries and overlapping runs
 * send each step once.
 */
export class ReminderStore {
  readonly model;
  constructor(options: StoreOptions) {
    this.model = dynamoose.model<ReminderItem>(
      'reminders',
      new dynamoose.Schema({
        id: { type: String, hashKey: true },
        status: String,
        leaseUntil: Number,
        at: String,
        runId: String,
        until: String,
        days: Number,
        by: String,
        round: String,
        state: String,
        jobId: String,
        data: String,
        asked: Number,
        kept: Number,
        removed: Number,
        deleted: Number,
        ttl: Number,
      }),
      tableOptions(options),
    );
  }

  /**
   * Claims a step before it is sent: true only for the one run that gets it. A step already sent is never claimed
   * again; a deferred one (its send failed) or one whose claim's lease ran out (its run died before sending) is.
   */
  async claim(id: string, runId: string, now: Date): Promise<boolean> {
    try {
      await this.model.update(
        { id },
        {
          $SET: {
            status: 'claimed',
            leaseUntil: now.getTime() + CLAIM_LEASE_MS,
            at: now.toISOString(),
            runId,
            ttl: epochSeconds(now) + KEEP_DAYS * 86_400,
          },
        },
        {
          condition: new dynamoose.Condition('id')
            .not()
            .exists()
            .or()
            .where('status')
            .eq('deferred')
            .or()
            .group((c) => c.where('status').eq('claimed').and().where('leaseUntil').lt(now.getTime())),
        },
      );
      return true;
    } catch (error) {
      if (isConditionFailed(error)) return false;
      throw error;
    }
  }

  /** Marks claimed steps sent (for good). */
  async markSent(ids: readonly string[], runId: string, now: Date): Promise<void> {
    await Promise.all(ids.map((id) => this.#settle(id, runId, now, 'sent')));
  }

  /** Gives claimed steps back after a failed send: the next run sends them. */
  async defer(ids: readonly string[], runId: string, now: Date): Promise<void> {
    await Promise.all(ids.map((id) => this.#settle(id, runId, now, 'deferred')));
  }

  async #settle(id: string, runId: string, now: Date, status: 'sent' | 'deferred') {
    try {
      await this.model.update(
        { id },
        { $SET: { status, at: now.toISOString() }, $REMOVE: ['leaseUntil'] },
        { condition: new dynamoose.Condition('runId').eq(runId).and().where('status').eq('claimed') },
      );
    } catch (error) {
      if (!isConditionFailed(error)) throw error; // another run took the step over (our lease ran out)
    }
  }

  /** A key's snooze, read consistently (it decides what is sent). */
  async snoozeOf(account: string, keyId: string): Promise<KeySnooze | undefined> {
    const item = await this.model.get({ id: snoozeId(account, keyId) }, { consistent: true });
    return item?.until ? { until: item.until, days: item.days ?? 0 } : undefined;
  }

  /**
   * Snoozes a key, in one transaction with `audit` (its audit event): sets when its DMs resume and adds `days` to the
   * days snoozed in all, only if the key is not snoozed now and that total stays within `maxDays`. False when that
   * condition did not hold (nothing written).
   */
  async snooze(
    account: string,
    keyId: string,
    options: { until: string; days: number; maxDays: number; by: string; now: Date },
    audit: Parameters<typeof dynamoose.transaction>[0][number],
  ): Promise<boolean> {
    const { until, days, maxDays, by, now } = options;
    const item = this.model.transaction.update(
      { id: snoozeId(account, keyId) },
      { $SET: { until, at: now.toISOString(), by, ttl: epochSeconds(now) + KEEP_DAYS * 86_400 }, $ADD: { days } },
      {
        condition: new dynamoose.Condition('id')
          .not()
          .exists()
          .or()
          .group((c) =>
            c
              .where('until')
              .le(now.toISOString())
              .and()
              .where('days')
              .le(maxDays - days),
          ),
      },
    );
    try {
      await transact([item, audit]);
      return true;
    } catch (error) {
      if (isConditionFailed(error)) return false;
      throw error;
    }
  }

  /** An access review's item, read consistently (it decides what is called, sent or changed). */
  async review(id: string): Promise<ReviewItem | undefined> {
    const item = await this.model.get({ id }, { consistent: true });
    return item ? this.#toReview(item) : undefined;
  }

  /**
   * Access review items, read consistently in BatchGetItem calls of 100 (a round of 5,000 users read one GetItem at a
   * time took 30 s of a part): those that exist, by id.
   */
  async reviews(ids: readonly string[]): Promise<Map<string, ReviewItem>> {
    const out = new Map<string, ReviewItem>();
    const all = [...new Set(ids)];
    for (let at = 0; at < all.length; at += 100) {
      let batch = all.slice(at, at + 100);
      // keys DynamoDB leaves unprocessed are asked again (twice), then read one at a time
      for (let attempt = 0; batch.length && attempt < 3; attempt++) {
        const items = await this.model.batchGet(
          batch.map((id) => ({ id })),
          { consistent: true },
        );
        for (const item of items) out.set(item.id, this.#toReview(item));
        const unprocessed = new Set(items.unprocessedKeys.map((k) => String((k as { id?: unknown }).id)));
        batch = batch.filter((id) => unprocessed.has(id) && !out.has(id));
      }
      for (const id of batch) {
        const item = await this.review(id);
        if (item) out.set(id, item);
      }
    }
    return out;
  }

  #toReview(item: ReminderItem): ReviewItem {
    const out: ReviewItem = { id: item.id, at: item.at };
    for (const k of ['status', 'round', 'state', 'jobId', 'data', 'by'] as const) if (item[k]) out[k] = item[k];
    for (const k of ['asked', 'kept', 'removed', 'deleted'] as const) if (item[k] !== undefined) out[k] = item[k];
    return out;
  }

  /** Adds to a review round's count of what its DMs asked about. */
  async countAsked(roundId: string, asked: number, now: Date): Promise<void> {
    await this.model.update({ id: roundId }, { $ADD: { asked }, $SET: { at: now.toISOString() } });
  }

  /** Sets an access review item's fields (a round started or sent, a job started or done). */
  async setReview(
    id: string,
    fields: { round?: string; state?: string; jobId?: string; data?: string },
    now: Date,
  ): Promise<void> {
    await this.model.update(
      { id },
      { $SET: { ...fields, at: now.toISOString(), ttl: epochSeconds(now) + KEEP_DAYS * 86_400 } },
    );
  }

  /**
   * Records an answer to an access review (Keep, Remove, Delete) once, and counts it on its round (one transaction):
   * false when the item was answered already (a double click, or another owner's click) or the round is no longer
   * `round`; nothing written then.
   */
  async answerReview(
    id: string,
    answer: { roundId: string; round: string; state: 'kept' | 'removed' | 'deleted'; by: string; now: Date },
  ): Promise<boolean> {
    const { roundId, round, state, by, now } = answer;
    try {
      await transact([
        this.model.transaction.update(
          { id },
          { $SET: { state, by, at: now.toISOString(), ttl: epochSeconds(now) + KEEP_DAYS * 86_400 } },
          { condition: new dynamoose.Condition('id').not().exists() },
        ),
        this.model.transaction.update(
          { id: roundId },
          { $ADD: { [state]: 1 } },
          { condition: new dynamoose.Condition('round').eq(round) },
        ),
      ]);
      return true;
    } catch (error) {
      if (isConditionFailed(error)) return false;
      throw error;
    }
  }
}
