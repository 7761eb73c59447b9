import dynamoose from 'dynamoose';
import type { Item } from 'dynamoose/dist/Item.js';
import { epochSeconds, isConditionFailed, type StoreOptions, tableOptions, transact } from './dynamo.js';
import type { TransactionItem } from './requests.js';

interface JobItem extends Item {
  id: string;
  type: string;
  status: 'running' | 'done' | 'failed';
  leaseUntil: number;
  attempts: number;
  updatedAt: string;
  error?: string;
  ttl: number;
  /** Set while the job sits among the failed jobs (`/iam jobs`): Lambda gave up on it. The sparse index's key. */
  failedJobs?: string;
  /** When Lambda's failure record says it gave up (ISO); the index's range key. */
  gaveUpAt?: string;
  /** The job's payload, kept while it is a failed job so that an approver can re-run it. Holds no secret. */
  payload?: Record<string, unknown>;
  /** Who re-ran it and when: one re-run at a time. */
  rerunBy?: string;
  rerunAt?: string;
  /** The failure (its `gaveUpAt`) whose notice the approval channel was given: a redelivered record posts it once. */
  noticedFor?: string;
}

/** A job Lambda gave up on: it failed on every attempt. */
export interface FailedJob {
  id: string;
  type: string;
  payload: Record<string, unknown>;
  attempts: number;
  /** The error's name only (never its message: it could quote a value). */
  error: string;
  gaveUpAt: string;
  rerunBy?: string;
  rerunAt?: string;
}

/** Constant partition of the sparse failed-jobs index: only failed jobs not yet re-run to success carry it. */
const FAILED = 'failed';
export const FAILED_JOBS_INDEX = 'failedJobs';

const DONE_FOREVER = Number.MAX_SAFE_INTEGER;

/** Job claims: how a job delivered twice (Lambda async retries, double clicks) runs once. */
export class JobStore {
  readonly model;
  constructor(options: StoreOptions) {
    this.model = dynamoose.model<JobItem>(
      'jobs',
      new dynamoose.Schema(
        {
          id: { type: String, hashKey: true },
          type: String,
          status: String,
          leaseUntil: Number,
          attempts: Number,
          updatedAt: String,
          error: String,
          ttl: Number,
          failedJobs: {
            type: String,
            index: { name: FAILED_JOBS_INDEX, type: 'global', rangeKey: 'gaveUpAt', project: true },
          },
          gaveUpAt: String,
          payload: Object,
          rerunBy: String,
          rerunAt: String,
          noticedFor: String,
        },
        { saveUnknown: ['payload.**'] },
      ),
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

  /**
   * Marks the job done: every later delivery is skipped. A failed job that a re-run completed leaves the failed
   * jobs (resolved by whoever re-ran it).
   */
  async complete(id: string, now: Date): Promise<void> {
    await this.model.update(
      { id },
      { $SET: { status: 'done', leaseUntil: DONE_FOREVER, updatedAt: now.toISOString() }, $REMOVE: ['failedJobs'] },
    );
  }

  /**
   * Records that Lambda gave up on a job (its on-failure record): status failed, attempts, the error's name, and the
   * payload for a re-run, listed among the failed jobs. Returns false for a record already taken (the queue
   * delivered it twice) or a job that has completed since. A new failure after a re-run replaces the re-run mark.
   */
  async recordGaveUp(
    job: { id: string; type: string; payload: Record<string, unknown> },
    failure: { attempts: number; error: string; at: Date },
  ): Promise<boolean> {
    const at = failure.at.toISOString();
    try {
      await this.model.update(
        { id: job.id },
        {
          $SET: {
            type: job.type,
            status: FAILED,
            leaseUntil: 0,
            attempts: failure.attempts,
            error: failure.error,
            updatedAt: at,
            failedJobs: FAILED,
            gaveUpAt: at,
            payload: job.payload,
            ttl: epochSeconds(failure.at) + 30 * 86_400,
          },
          $REMOVE: ['rerunBy', 'rerunAt'],
        },
        {
          // (no item at all: the job failed before its claim was written, e.g. DynamoDB refused the claim)
          condition: new dynamoose.Condition()
            .parenthesis((c) => c.where('status').not().exists().or().where('status').not().eq('done'))
            .and()
            .parenthesis((c) => c.where('gaveUpAt').not().exists().or().where('gaveUpAt').not().eq(at)),
        },
      );
      return true;
    } catch (error) {
      if (isConditionFailed(error)) return false;
      throw error;
    }
  }

  /**
   * Whether the approval channel still has to be told that Lambda gave up on the job at `at` (ISO): the failure
   * recorded is that one (`gaveUpAt`) and its notice was not marked posted. Read consistently.
   */
  async noticeDue(id: string, at: string): Promise<boolean> {
    const item = await this.model.get({ id }, { consistent: true });
    return item?.gaveUpAt === at && item.noticedFor !== at;
  }

  /** Marks the notice of the failure at `at` (ISO) posted, unless the job has failed again since (or re-run). */
  async markNoticed(id: string, at: string): Promise<void> {
    try {
      await this.model.update({ id }, { $SET: { noticedFor: at } } as never, {
        condition: new dynamoose.Condition('gaveUpAt').eq(at),
      });
    } catch (error) {
      if (!isConditionFailed(error)) throw error;
    }
  }

  /** Failed jobs, newest first: `limit` of them after skipping `skip` (paging), and whether there are more. */
  async listFailed(skip: number, limit: number): Promise<{ jobs: FailedJob[]; more: boolean }> {
    const items = await this.model
      .query('failedJobs')
      .eq(FAILED)
      .using(FAILED_JOBS_INDEX)
      .sort('descending')
      .limit(skip + limit + 1)
      .exec();
    const jobs = items.map(toFailedJob);
    return { jobs: jobs.slice(skip, skip + limit), more: jobs.length > skip + limit };
  }

  /** A failed job (Lambda gave up on it and no re-run has completed it), read consistently; else undefined. */
  async failedJob(id: string): Promise<FailedJob | undefined> {
    const item = await this.model.get({ id }, { consistent: true });
    return item?.failedJobs === FAILED && item.status === FAILED ? toFailedJob(item) : undefined;
  }

  /**
   * Marks a failed job as re-run by `user`, in one transaction with `alsoWrite` (its audit event): false when it is
   * not a failed job any more or a re-run of it is already under way (a double click re-runs once).
   */
  async markRerun(id: string, user: string, now: Date, alsoWrite: TransactionItem[] = []): Promise<boolean> {
    try {
      await transact([
        this.model.transaction.update(
          { id },
          { $SET: { rerunBy: user, rerunAt: now.toISOString(), updatedAt: now.toISOString() } } as never,
          {
            condition: new dynamoose.Condition('failedJobs')
              .eq(FAILED)
              .and()
              .where('status')
              .eq(FAILED)
              .and()
              .where('rerunAt')
              .not()
              .exists(),
          },
        ),
        ...alsoWrite,
      ]);
      return true;
    } catch (error) {
      if (isConditionFailed(error)) return false;
      throw error;
    }
  }

  /** Marks the job failed and releases its claim so a retry may run it. `error` must hold no secret. */
  async fail(id: string, now: Date, error: string): Promise<void> {
    await this.model.update({ id }, { status: 'failed', leaseUntil: 0, updatedAt: now.toISOString(), error });
  }

  /**
   * Keeps a list of ids under `key` (not a job id: e.g. the owners a day's owner check has not seen yet, for its next
   * part) for 7 days, as one string. Overwrites: a retried part writes the same list again.
   */
  async putIds(key: string, ids: readonly string[], now: Date): Promise<void> {
    await this.model.update({ id: key }, {
      $SET: {
        type: 'ids',
        status: 'done',
        leaseUntil: DONE_FOREVER,
        updatedAt: now.toISOString(),
        ttl: epochSeconds(now) + 7 * 86_400,
        payload: { ids: ids.join(',') },
      },
    } as never);
  }

  /** The ids kept under `key` (putIds), read consistently; undefined when there is no such list (or it expired). */
  async getIds(key: string): Promise<string[] | undefined> {
    const item = await this.model.get({ id: key }, { consistent: true });
    const ids = item?.payload?.ids;
    if (typeof ids !== 'string') return undefined;
    return ids ? ids.split(',') : [];
  }

  /** The job's claim, read consistently (a stale read could show a claim that was since released or completed). */
  async get(id: string): Promise<JobItem | undefined> {
    return (await this.model.get({ id }, { consistent: true })) ?? undefined;
  }
}

function toFailedJob(item: JobItem): FailedJob {
  return {
    id: item.id,
    type: item.type,
    payload: item.payload ?? {},
    attempts: item.attempts,
    error: item.error ?? 'Error',
    gaveUpAt: item.gaveUpAt ?? item.updatedAt,
    ...(item.rerunBy ? { rerunBy: item.rerunBy } : {}),
    ...(item.rerunAt ? { rerunAt: item.rerunAt } : {}),
  };
}
