import * as z from 'zod/mini';
import type { Deps } from '../deps.js';
import { inInvocation } from '../invocation.js';
import { logger, withLogKeys } from '../logger.js';
import { isSqsEvent, recordFailedJobs } from '../services/failed-jobs.js';
import { jobHandlers } from './registry.js';
import type { Job } from './types.js';

/** The worker function's timeout (serverless.yml): a run still going after this is dead. */
export const WORKER_TIMEOUT_MS = 60_000;
/**
 * How long one run owns a job before another delivery may take it over: a little more than the worker's timeout.
 * Longer would lose jobs: after a run times out, Lambda retries the event about one and three minutes later, and a
 * retry that finds the job still claimed is skipped.
 */
export const LEASE_MS = WORKER_TIMEOUT_MS + 30_000;

const jobSchema = z.object({
  id: z.string().check(z.minLength(1)),
  type: z.string().check(z.minLength(1)),
  payload: z.record(z.string(), z.unknown()),
});

export type JobOutcome = 'done' | 'skipped';

/**
 * Runs a job once: claims it by id in DynamoDB, so a second delivery of the same job (Lambda retry, double click)
 * is skipped. A job that throws is marked failed and rethrown, which lets Lambda's retry run it again.
 */
export async function runJob(deps: Deps, input: unknown): Promise<JobOutcome> {
  const startedAt = deps.clock.now().getTime(); // a part's budget counts from here (see invocation.ts)
  const job: Job = jobSchema.parse(input);
  const requestId = typeof job.payload.requestId === 'string' ? job.payload.requestId : undefined;
  return withLogKeys({ jobId: job.id, jobType: job.type, action: `job:${job.type}`, requestId }, () =>
    inInvocation(startedAt, () => runClaimed(deps, job)),
  );
}

async function runClaimed(deps: Deps, job: Job): Promise<JobOutcome> {
  const handler = jobHandlers[job.type];
  if (!handler) throw new Error(`Unknown job type ${job.type}`);
  if (!(await deps.store.jobs.claim(job.id, job.type, deps.clock.now(), LEASE_MS))) {
    logger.info('Job already claimed; skipping repeated delivery', { outcome: 'skipped' });
    return 'skipped';
  }
  try {
    await handler(deps, job.payload);
  } catch (error) {
    const e = error as Error;
    logger.error('Job failed', { outcome: 'failed', errorName: e?.name });
    await deps.store.jobs.fail(job.id, deps.clock.now(), e?.name ?? 'Error');
    throw error;
  }
  await deps.store.jobs.complete(job.id, deps.clock.now());
  logger.info('Job done', { outcome: 'done' });
  return 'done';
}

/**
 * The worker function's event: a job (an asynchronous invocation), or a batch from the failed-jobs queue, which it
 * records (see recordFailedJobs).
 */
export async function handleWorkerEvent(deps: Deps, event: unknown): Promise<JobOutcome | { recorded: number }> {
  if (isSqsEvent(event)) return withLogKeys({ action: 'failed-jobs-queue' }, () => recordFailedJobs(deps, event));
  return runJob(deps, event);
}
