/**
 * The resumable runner's contract with a kind: a kind gives a plan of steps and runs one step at a time; the runner
 * leases the request, checkpoints after every step (with its audit event, in one transaction), continues in a new
 * part before the worker's time runs out and resumes from the checkpoint after a kill. It never asks which kind it
 * runs.
 */
import type { Deps } from '../../deps.js';
import type { AccessRequest, RunStep } from '../../store/requests.js';

export type { RunState, RunStep, RunStepType } from '../../store/requests.js';

/** Changes a kind makes to its own fields of the request, written in a checkpoint. */
export type RequestChanges = Partial<Omit<AccessRequest, 'id' | 'version' | 'updatedAt' | 'createdAt' | 'run'>>;

/** An audit value (what the audit store takes). */
export type AuditDetail = Record<string, string | number | boolean | string[] | null>;

/** What one step did, as the kind reports it. */
export interface StepOutcome {
  result: 'done' | 'skipped' | 'failed';
  /** Safe summary: an AWS error name, `already gone`. */
  detail?: string;
  /** What the step found or did, stored on the step with its result (ids and names only, never a secret). */
  data?: RunStep['data'];
  /** Steps to run right after this one (a gate's decision): checkpointed with its result. */
  then?: RunStep[];
  /**
   * The kind's record of what the step did, built from the request as stored when the checkpoint is written (a
   * checkpoint that loses a race re-reads the request and builds it again).
   */
  changes?: (request: AccessRequest) => RequestChanges;
  /** Instead of the runner's default audit event for the step. */
  audit?: { action: string; detail: AuditDetail };
  /** A `wait` step not yet due: the run sleeps until then, the cursor stays (the sweep wakes it). */
  waitUntil?: Date;
}

/** How a run was started (the worker job's options), for the kind's plan. */
export interface RunOptions {
  /** The run follows a first approval (not a Retry): the kind may tell the requester it was approved. */
  announce?: boolean;
}

/** A kind of request that runs on the runner. */
export interface RunKind {
  /**
   * The steps of a new run (its first part), from live state: checkpointed at once, so later parts never compute
   * them again; with the kind's changes written in the same write (e.g. what it lists without acting on).
   */
  plan(
    deps: Deps,
    request: AccessRequest,
    options: RunOptions,
  ): Promise<{ steps: RunStep[]; changes?: RequestChanges; remove?: (keyof RequestChanges)[] }>;
  /**
   * Runs one step of `request` (as stored at the last checkpoint). Must be idempotent: a killed part's successor
   * runs the step again when its checkpoint was not written. A throw stops the part (the job fails and is retried).
   */
  step(deps: Deps, request: AccessRequest, step: RunStep): Promise<StepOutcome>;
  /** One line for the audit trail, e.g. `UpdateAccessKey build-bot AKIA… Inactive (home)`. */
  describe(step: RunStep): string;
  /**
   * Optional: the step that reverses `step`, a step of this run whose result is `done` (undefined: it has none). A
   * kind that gives it has its run undone by the runner when a step before the commit fails: in that step's
   * checkpoint the steps between it and the commit are recorded as not run (`skipped`), and the undo of every
   * earlier `done` step, newest first, is added before the commit (type `undo`, `args.undoes` the index of the step
   * it reverses). Undo steps run as any step (through `step`, idempotent), and are never undone themselves. Without
   * it, a failed step is only recorded (the kind's later steps decide what to do, e.g. an offboarding goes on).
   */
  undo?(step: RunStep): RunStep | undefined;
  /**
   * Optional: whether `step`'s checkpoint may wait for the next step's, and be written in the same transaction (each
   * step with its own result and audit event). For a step that is harmless to run again when a kill loses both (as
   * every step must be) and whose record nothing reads before then: the fast path (e.g. a one-time link) then waits
   * for one write instead of one per step. The runner defers only an outcome that does not fail, add steps or wait,
   * and only when the next step runs in the same part and is neither a `commit` nor a `wait`.
   */
  deferCheckpoint?(step: RunStep): boolean;
  /**
   * A `commit` step: what the request records when it ends (`failed`: the steps that failed; the runner sets the
   * status, failed when any did) and the audit event of that write.
   */
  commit(
    deps: Deps,
    request: AccessRequest,
    failed: RunStep[],
  ): { changes: RequestChanges; audit: { action: string; detail: AuditDetail } };
  /** The run stopped for good (parts stopped without progress): what the failed request records. */
  stopped(deps: Deps, request: AccessRequest, reason: string): RequestChanges;
  /** After a stopped run was failed: who is told (the approvers, like any failed request). Never throws. */
  tellStopped(deps: Deps, request: AccessRequest): Promise<void>;
}
