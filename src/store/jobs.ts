import dynamoose from 'dynamoose';
import type { Item } from 'dynamoose/dist/Item.js';
import { epochSeconds, isConditionFailed, type StoreOptions, tableOptions } from './dynamo.js';

interface JobItem extends Item {
  id: string;
  type: string;
  status: 'running' | 'done' | 'failed';
  leaseUntil: number;
  attempts: number;
  updatedAt: string;
  error?: string;
  ttl: number;
}

const DONE_FOREVER = Number.MAX_SAFE_INTEGER;

/** Job claims: how a job delivered twice (Lambda async retries, double clicks) runs once. */
export class JobStore {
  readonly model;
  constructor(options: StoreOptions) {
    this.model = dynamoose.model<JobItem>(
      'jobs',
      new dynamoose.Schema({
        id: { type: String, hashKey: true },
        type: String,
        status: String,
        leaseUntil: Number,
        attempts: Number,
        updatedAt: String,
        error: String,
        ttl: Number,
      }),
      tableOptions(options),
    );
  }

  /**
   * Claims a job for one run. Returns false when the job is done, or running under another claim whose lease
   * has not run out. A failed job, or one whose worker died (lease over), can be claimed again.
   */
  async claim(id: string, type: string, now: Date, leaseMs: number): Promise<boolean> {
    try {
      await this.model.update(
        { id },
        {
          $SET: {
            type,
            status: 'running',
            leaseUntil: now.getTime() + leaseMs,
            updatedAt: now.toISOString(),
            ttl: epochSeconds(now) + 30 * 86_400,
          },
          $ADD: { attempts: 1 },
        },
        { condition: new dynamoose.Condition('id').not().exists().or().where('leaseUntil').lt(now.getTime()) },
      );
      return true;
    } catch (error) {
      if (isConditionFailed(error)) return false;
      throw error;
    }
  }

  /** Marks the job done: every later delivery is skipped. */
  async complete(id: string, now: Date): Promise<void> {
    await this.model.update({ id }, { status: 'done', leaseUntil: DONE_FOREVER, updatedAt: now.toISOString() });
  }

  /** Marks the job failed and releases its claim so a retry may run it. `error` must hold no secret. */
  async fail(id: string, now: Date, error: string): Promise<void> {
    await this.model.update({ id }, { status: 'failed', leaseUntil: 0, updatedAt: now.toISOString(), error });
  }

  /** The job's claim, read consistently (a stale read could show a claim that was since released or completed). */
  async get(id: string): Promise<JobItem | undefined> {
    return (await this.model.get({ id }, { consistent: true })) ?? undefined;
  }
}
