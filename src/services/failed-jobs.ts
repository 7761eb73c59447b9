import { type FailedJobState, failedJobNotice, failedJobsMessage } from '../blocks/jobs.js';
import type { Deps } from '../deps.js';
import { NotAuthorizedError } from '../errors.js';
import type { Job, LambdaFailureRecord } from '../jobs/types.js';
import { logger } from '../logger.js';
import type { FailedJob } from '../store/jobs.js';
import { isAmong, kindOf } from './requests.js';
import { requireFullMember } from './slack-members.js';

export type { LambdaFailureRecord } from '../jobs/types.js';

/** An SQS event as Lambda's event source mapping delivers it (the fields the worker reads). */
export interface SqsEvent {
  Records: { messageId: string; body: string; eventSource: 'aws:sqs'; eventSourceARN?: string }[];
}

/** True for an event from an SQS event source mapping (the failed-jobs queue), not a job. */
export const isSqsEvent = (event: unknown): event is SqsEvent =>
  Array.isArray((event as SqsEvent | null)?.Records) &&
  (event as SqsEvent).Records.every((r) => r?.eventSource === 'aws:sqs');

const jobOf = (payload: unknown): Job | undefined => {
  const j = payload as Partial<Job> | null;
  return typeof j?.id === 'string' && typeof j.type === 'string' && j.payload && typeof j.payload === 'object'
    ? { id: j.id, type: j.type, payload: j.payload }
    : undefined;
};

/** The request a job is about, and what it says now, for the approvers. */
async function stateOf(deps: Deps, job: Pick<Job, 'payload'>): Promise<FailedJobState> {
  const requestId = typeof job.payload.requestId === 'string' ? job.payload.requestId : undefined;
  if (!requestId) return {};
  const request = await deps.store.requests.get(requestId);
  if (!request) return { requestId };
  return {
    requestId,
    kind: kindOf(request),
    status: request.status,
    userName: request.userName,
    account: request.account,
  };
}

/**
 * The failed-jobs queue's consumer (the worker, through its SQS event source): records each job Lambda gave up on
 * in the jobs table (status failed, attempts, the error's name: never its message, which could quote a value) and
 * tells the approval channel which job failed and what state its request is in now. A record delivered twice is
 * recorded once and announced once; a batch redelivered after the notice failed (Slack down, the worker killed)
 * still announces it (at least once: two deliveries at the same moment may both post).
 */
export async function recordFailedJobs(deps: Deps, event: SqsEvent): Promise<{ recorded: number }> {
  let recorded = 0;
  for (const record of event.Records) {
    const failure = JSON.parse(record.body) as LambdaFailureRecord;
    const job = jobOf(failure.requestPayload);
    if (!job) {
      logger.error('Failed-jobs queue: a record without a job', { messageId: record.messageId });
      continue;
    }
    const failed = {
      attempts: failure.requestContext?.approximateInvokeCount ?? 0,
      error: failure.responsePayload?.errorType ?? failure.requestContext?.condition ?? 'Error',
      at: new Date(failure.timestamp),
    };
    const at = failed.at.toISOString();
    if (await deps.store.jobs.recordGaveUp(job, failed)) {
      recorded++;
      logger.error('Lambda gave up on a job', {
        jobId: job.id,
        jobType: job.type,
        attempts: failed.attempts,
        errorName: failed.error,
        condition: failure.requestContext?.condition,
        outcome: 'failed',
      });
      await deps.store.audit.record({
        subject: `job#${job.id}`,
        at: deps.clock.now(),
        actor: 'system',
        action: 'job-gave-up',
        detail: { type: job.type, attempts: failed.attempts, error: failed.error },
      });
    } else if (!(await deps.store.jobs.noticeDue(job.id, at))) {
      logger.info('Failed job already recorded', { jobId: job.id, jobType: job.type, outcome: 'skipped' });
      continue;
    }
    // The notice is posted until it is marked posted: a batch redelivered because the post (or anything after the
    // record) failed still tells the approval channel, once it goes through.
    const state = await stateOf(deps, job);
    await deps.messenger.post(
      deps.config.policy.approvals.channel,
      failedJobNotice({ id: job.id, type: job.type, attempts: failed.attempts, error: failed.error }, state),
    );
    await deps.store.jobs.markNoticed(job.id, at);
  }
  return { recorded };
}

/** Throws NotAuthorizedError unless `user` is one of the policy's (global) approvers. */
async function mustBeApprover(deps: Deps, user: string, what: string) {
  if (!(await isAmong(deps, deps.config.policy.approvals.approvers, user)))
    throw new NotAuthorizedError(`Only approvers can ${what}.`);
  await requireFullMember(deps, user, what);
}

export const FAILED_JOBS_PAGE = 10;

/** `/iam jobs`: the failed jobs, newest first, one page, with the state each left. Approvers only. */
export async function listFailedJobs(deps: Deps, user: string, page: number) {
  await mustBeApprover(deps, user, 'see failed jobs');
  const { jobs, more } = await deps.store.jobs.listFailed((page - 1) * FAILED_JOBS_PAGE, FAILED_JOBS_PAGE);
  const states = await Promise.all(jobs.map((j) => stateOf(deps, j)));
  return failedJobsMessage(
    jobs.map((job, i) => ({ job, state: states[i] ?? {} })),
    page,
    more,
  );
}

/**
 * Re-runs a failed job, as the approver `user` asked: the same job (same id, so it is idempotent like every
 * delivery of it) handed to the worker again, once however often the button is clicked; the re-run and who asked
 * are audited in the same write. A re-run that succeeds takes the job off the failed jobs; one that fails again
 * comes back through the failed-jobs queue. Returns what to tell the approver.
 */
export async function rerunFailedJob(deps: Deps, jobId: string, user: string): Promise<string> {
  await mustBeApprover(deps, user, 're-run failed jobs');
  const job: FailedJob | undefined = await deps.store.jobs.failedJob(jobId);
  if (!job) return `Job \`${jobId}\` is not a failed job (any more): nothing to re-run.`;
  if (job.rerunBy) return `Job \`${jobId}\` is already being re-run (by <@${job.rerunBy}>).`;
  const now = deps.clock.now();
  const marked = await deps.store.jobs.markRerun(jobId, user, now, [
    deps.store.audit.transactionItem({
      subject: `job#${jobId}`,
      at: now,
      actor: user,
      action: 'job-rerun',
      detail: { type: job.type },
    }),
  ]);
  if (!marked) return `Job \`${jobId}\` is already being re-run.`;
  // A response_url takes five posts within thirty minutes of its command: a re-run, minutes or days later, does not
  // replay the one the job was given (Slack would answer used_url or expired_url); the job answers by DM instead.
  const { responseUrl: _replayed, ...payload } = job.payload;
  await deps.dispatcher.dispatch({ id: job.id, type: job.type, payload });
  return `Re-running job \`${jobId}\` (${job.type}). It leaves \`/iam jobs\` once it succeeds.`;
}
