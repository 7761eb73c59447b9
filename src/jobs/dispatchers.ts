import { logger } from '../logger.js';
import { type LambdaInvokeConfig, LambdaInvoker } from './lambda-invoke.js';
import type { Job, JobDispatcher, LambdaFailureRecord } from './types.js';

/** What invokes the worker: LambdaInvoker, or a test's stand-in. */
export interface WorkerInvoker {
  invokeEvent(functionName: string, payload: string): Promise<void>;
}

/**
 * On Lambda: invokes the worker function asynchronously (`InvocationType: 'Event'`), so the Slack function can
 * answer within Slack's 3 seconds. Lambda may deliver an event more than once; the worker dedupes by job id.
 *
 * The Invoke is one signed HTTPS request (src/jobs/lambda-invoke.ts), not @aws-sdk/client-lambda: that client was
 * ~100 KB of the Slack bundle for this one call.
 */
export class LambdaJobDispatcher implements JobDispatcher {
  readonly #invoker: WorkerInvoker;

  /** `lambda`: an invoker, or the configuration to build one with (region, endpoint, credentials). */
  constructor(
    lambda: WorkerInvoker | LambdaInvokeConfig,
    private readonly functionName: string,
  ) {
    this.#invoker = 'invokeEvent' in lambda ? lambda : new LambdaInvoker(lambda);
  }

  async dispatch(job: Job): Promise<void> {
    await this.#invoker.invokeEvent(this.functionName, JSON.stringify(job));
  }
}

/**
 * Lambda's handling of a failed asynchronous invocation, as the in-process dispatcher models it: the first attempt
 * and `maximumRetryAttempts` retries (serverless.yml says 2), then the record Lambda sends to the on-failure
 * destination (the failed-jobs queue). Lambda waits about one and two minutes between attempts; the model does not.
 */
export interface AsyncFailureModel {
  maximumRetryAttempts: number;
  /** Where the on-failure record goes (the test harness sends it to the emulator's SQS queue). */
  onFailure(record: LambdaFailureRecord): Promise<void>;
}

/** The record Lambda sends to an on-failure destination after the last failed attempt of `job`. */
export function lambdaFailureRecord(job: Job, error: unknown, attempts: number, now: Date): LambdaFailureRecord {
  const e = error as Error | undefined;
  return {
    version: '1.0',
    timestamp: now.toISOString(),
    requestContext: {
      requestId: `local-${job.id}-${now.getTime()}`,
      functionArn: 'arn:aws:lambda:us-east-1:123456789012:function:local-worker:$LATEST',
      condition: 'RetriesExhausted',
      approximateInvokeCount: attempts,
    },
    requestPayload: job,
    responseContext: { statusCode: 200, executedVersion: '$LATEST', functionError: 'Unhandled' },
    // Lambda puts the error's message here too; the consumer reads only its type.
    responsePayload: { errorType: e?.name ?? 'Error', errorMessage: e?.message ?? String(error) },
  };
}

/**
 * Locally and in tests: runs the job in this process once the current request has been answered.
 * `drain()` waits for every job started so far (and those they start). With a failure model it also retries a job
 * that throws and reports the one that failed every attempt, as Lambda does (see AsyncFailureModel).
 */
export class InProcessJobDispatcher implements JobDispatcher {
  readonly #pending = new Set<Promise<unknown>>();
  #run: ((job: Job) => Promise<unknown>) | undefined;

  constructor(private readonly failures?: AsyncFailureModel) {}

  /** Sets what runs a job (the worker), which itself needs this dispatcher: hence set after construction. */
  setRunner(run: (job: Job) => Promise<unknown>): void {
    this.#run = run;
  }

  async dispatch(job: Job): Promise<void> {
    const run = this.#run;
    if (!run) throw new Error('InProcessJobDispatcher has no runner');
    const attempts = 1 + (this.failures?.maximumRetryAttempts ?? 0);
    const runWithRetries = async () => {
      for (let attempt = 1; ; attempt++) {
        try {
          return await run(job);
        } catch (error) {
          if (attempt < attempts) continue;
          if (!this.failures) throw error;
          await this.failures.onFailure(lambdaFailureRecord(job, error, attempt, new Date()));
          return undefined;
        }
      }
    };
    const p = new Promise<void>((resolve) => setImmediate(resolve))
      .then(runWithRetries)
      .catch((error) =>
        logger.error('In-process job failed', { jobId: job.id, jobType: job.type, errorName: (error as Error)?.name }),
      )
      .finally(() => this.#pending.delete(p));
    this.#pending.add(p);
  }

  async drain(): Promise<void> {
    while (this.#pending.size > 0) await Promise.allSettled([...this.#pending]);
  }
}
