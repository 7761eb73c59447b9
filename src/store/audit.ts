import { randomBytes } from 'node:crypto';
import dynamoose from 'dynamoose';
import type { Item } from 'dynamoose/dist/Item.js';
import { type StoreOptions, tableOptions } from './dynamo.js';

/** What may go in an audit record: ids, names and decisions, never a credential. */
export type AuditDetail = Record<string, string | number | boolean | string[] | null>;

export interface AuditEvent {
  /** What the event is about, e.g. `request#<id>` or `link#<id>`. */
  subject: string;
  /**
   * ISO time, then a counter that orders the events this process records in one millisecond, then a random
   * suffix so that two processes never collide. (Two processes' events in one millisecond have no defined order.)
   */
  at: string;
  /** Slack user id, or `system` for the bot's own scheduled work. */
  actor: string;
  action: string;
  detail: AuditDetail;
}

interface AuditItem extends Item, AuditEvent {}

/** An event to record, at a time the store turns into a unique, ordered `at`. */
export type NewAuditEvent = Omit<AuditEvent, 'at'> & { at: Date };

/** Index of every event by its actor (`/iam audit @someone`), newest first by `at`. */
export const ACTOR_INDEX = 'actor';

/** Append-only audit trail: who did what, when. */
export class AuditStore {
  readonly model;
  #seq = 0;
  constructor(options: StoreOptions) {
    this.model = dynamoose.model<AuditItem>(
      'audit',
      new dynamoose.Schema(
        {
          subject: { type: String, hashKey: true },
          at: { type: String, rangeKey: true },
          actor: { type: String, index: { name: ACTOR_INDEX, type: 'global', rangeKey: 'at', project: true } },
          action: String,
          detail: { type: Object },
        },
        { saveUnknown: ['detail.**'] },
      ),
      tableOptions(options),
    );
  }

  /** Records an event. Never overwrites an earlier one. */
  async record(event: NewAuditEvent): Promise<void> {
    await this.model.create(this.#stamped(event), { overwrite: false });
  }

  /** The event as one item of a DynamoDB transaction (see RequestStore.update), recorded only if it commits. */
  transactionItem(event: NewAuditEvent) {
    return this.model.transaction.create(this.#stamped(event), { overwrite: false });
  }

  #stamped(event: NewAuditEvent): AuditEvent {
    // A counter that only grows in this process: events of the same millisecond sort in the order recorded.
    this.#seq++;
    const at = `${event.at.toISOString()}#${String(this.#seq).padStart(12, '0')}#${randomBytes(4).toString('hex')}`;
    return { ...event, at };
  }

  /**
   * Events newest first, `limit` of them after skipping `skip` (paging): about a subject, or by an actor (index).
   * `more`: there are older ones.
   */
  async newest(
    by: { subject: string } | { actor: string },
    skip: number,
    limit: number,
  ): Promise<{ events: AuditEvent[]; more: boolean }> {
    const query =
      'subject' in by
        ? this.model.query('subject').eq(by.subject)
        : this.model.query('actor').eq(by.actor).using(ACTOR_INDEX);
    const items = await query
      .sort('descending')
      .limit(skip + limit + 1)
      .exec();
    const events = items.map((i) => ({
      subject: i.subject,
      at: i.at,
      actor: i.actor,
      action: i.action,
      detail: i.detail,
    }));
    return { events: events.slice(skip, skip + limit), more: events.length > skip + limit };
  }

  /** Every event about a subject, oldest first. */
  async list(subject: string, options: { consistent?: boolean } = {}): Promise<AuditEvent[]> {
    const query = this.model.query('subject').eq(subject).sort('ascending');
    const items = await (options.consistent ? query.consistent() : query).exec();
    return items.map((i) => ({ subject: i.subject, at: i.at, actor: i.actor, action: i.action, detail: i.detail }));
  }
}
