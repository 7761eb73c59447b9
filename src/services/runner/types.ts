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

/** A kind of request that runs on the runner. */
export interface RunKind {
  /**
   * The steps of a new run (its first part), from live state: checkpointed at once, so later parts never compute
   * them again; with the kind's changes written in the same write (e.g. what it lists without acting on).
   */
  plan(
    deps: Deps,
    request: AccessRequest,
  ): Promise<{ steps: RunStep[]; changes?: RequestChanges; remove?: (keyof RequestChanges)[] }>;
  /**
   * Runs one step of `request` (as stored at the last checkpoint). Must be idempotent: a killed part's successor
   * runs the step again when its checkpoint was not written. A throw stops the part (the job fails and is retried).
   */
  step(deps: Deps, request: AccessRequest, step: RunStep): Promise<StepOutcome>;
  /** One line for the audit trail, e.g. `UpdateAccessKey build-bot AKIA… Inactive (home)`. */
  describe(step: RunStep): string;
  /**
   * Undo by the runner (optional). A kind that gives it runs all or nothing: when a step before its `commit` fails,
   * the runner skips the steps not yet run up to the commit, and adds, latest first, the steps this returns for each
   * step that ran (done, skipped, or the failed one itself: the kind decides from its recorded result and data what
   * there is to reverse; [] for nothing). They run as any step (marked `undoes`, audited `step-undone`), a failed one
   * does not stop the others, and then the commit ends the request failed. Without it, a failed step does not stop
   * the run (each step decides, e.g. an offboarding's other users go on).
   */
  undo?(step: RunStep): RunStep[];
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
