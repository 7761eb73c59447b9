/**
 * A unit of slow work handed from a listener (after its ack) to the worker. `id` is the idempotency key: a job
 * delivered twice with the same id has one effect.
 */
export interface Job {
  id: string;
  type: string;
  payload: Record<string, unknown>;
}

/** Hands jobs to the worker. */
export interface JobDispatcher {
  dispatch(job: Job): Promise<void>;
}

/**
 * What Lambda sends to an asynchronous invocation's on-failure destination once it gave up (the first attempt and
 * `MaximumRetryAttempts` retries all failed): the event it was invoked with, and why it failed.
 * https://docs.aws.amazon.com/lambda/latest/dg/invocation-async-retain-records.html
 */
export interface LambdaFailureRecord {
  version: '1.0';
  timestamp: string;
  requestContext: {
    requestId: string;
    functionArn: string;
    condition: 'RetriesExhausted' | 'EventAgeExceeded' | string;
    approximateInvokeCount: number;
  };
  requestPayload: unknown;
  responseContext?: { statusCode?: number; executedVersion?: string; functionError?: string };
  responsePayload?: { errorType?: string; errorMessage?: string } | null;
}
