import type { LambdaClient, LambdaClientConfig } from '@aws-sdk/client-lambda';
import { logger } from '../logger.js';
import type { Job, JobDispatcher } from './types.js';

/**
 * On Lambda: invokes the worker function asynchronously (`InvocationType: 'Event'`), so the Slack function can
 * answer within Slack's 3 seconds. Lambda may deliver an event more than once; the worker dedupes by job id.
 *
 * The Lambda client is loaded on the first dispatch, not at cold start: `/iam help` and the other answers that
 * start no job never pay for it (about 70 KB of the Slack bundle, kept out of module initialisation).
 */
export class LambdaJobDispatcher implements JobDispatcher {
  #lambda: LambdaClient | undefined;

  /** `lambda`: a client, or the configuration to build one with on first use. */
  constructor(
    private readonly lambda: LambdaClient | LambdaClientConfig,
    private readonly functionName: string,
  ) {}

  async dispatch(job: Job): Promise<void> {
    const sdk = await import('./lambda-sdk.js');
    this.#lambda ??= 'send' in this.lambda ? (this.lambda as LambdaClient) : new sdk.LambdaClient(this.lambda);
    await this.#lambda.send(
      new sdk.InvokeCommand({
        FunctionName: this.functionName,
        InvocationType: 'Event',
        Payload: new TextEncoder().encode(JSON.stringify(job)),
      }),
    );
  }
}

/**
 * Locally and in tests: runs the job in this process once the current request has been answered.
 * `drain()` waits for every job started so far (and those they start).
 */
export class InProcessJobDispatcher implements JobDispatcher {
  readonly #pending = new Set<Promise<unknown>>();
  #run: ((job: Job) => Promise<unknown>) | undefined;

  /** Sets what runs a job (the worker), which itself needs this dispatcher: hence set after construction. */
  setRunner(run: (job: Job) => Promise<unknown>): void {
    this.#run = run;
  }

  async dispatch(job: Job): Promise<void> {
    const run = this.#run;
    if (!run) throw new Error('InProcessJobDispatcher has no runner');
    const p = new Promise<void>((resolve) => setImmediate(resolve))
      .then(() => run(job))
      .catch((error) => logger.error('In-process job failed', { jobId: job.id, type: job.type, error: String(error) }))
      .finally(() => this.#pending.delete(p));
    this.#pending.add(p);
  }

  async drain(): Promise<void> {
    while (this.#pending.size > 0) await Promise.allSettled([...this.#pending]);
  }
}
