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
