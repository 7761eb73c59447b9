/**
 * The run kind of every kind of request, by `request.kind`: the worker's provision job, its run-part job and the stall
 * sweep look a kind up here, and every kind runs through one entry, runRequest. Worker and scheduled function only:
 * the import-graph test keeps it (and the kinds' run parts it imports) out of the Slack function's bundle.
 */
import type { Deps } from '../../deps.js';
import { changeRun } from '../../kinds/change/run.js';
import { createUserRun } from '../../kinds/create-user-run.js';
import { deleteUserRun } from '../../kinds/delete-user/run.js';
import { KIND_BEFORE_KINDS } from '../../kinds/facts.js';
import { rotationDeliveryRun } from '../../kinds/rotate-key/rotation-delivery.js';
import { temporaryMembershipRun } from '../../kinds/temporary-membership/run.js';
import { offboardRun } from '../kinds/offboard.js';
import { describeReissueStep, isReissueStep, reissueStep } from '../kinds/reissue-run.js';
import type { RequestKind } from '../plans/types.js';
import { type RunOutcome, runAttempt } from './engine.js';
import type { RunKind, RunOptions } from './types.js';

/**
 * A kind's run, plus the steps every kind's run may be signalled with after its end (runNext): a reissue's
 * (reissueSteps), which ask the kind's ReissueHook, never its name.
 */
const withSignals = (kind: RunKind): RunKind => ({
  ...kind,
  step: (deps, request, step) =>
    isReissueStep(step) ? reissueStep(deps, request, step) : kind.step(deps, request, step),
  describe: (step) => (isReissueStep(step) ? describeReissueStep(step) : kind.describe(step)),
});

export const runKinds: Readonly<Record<RequestKind, RunKind>> = {
  'create-user': withSignals(createUserRun),
  'add-to-group': withSignals(changeRun),
  'remove-from-group': withSignals(changeRun),
  'set-owner': withSignals(changeRun),
  'rotate-key': withSignals(rotationDeliveryRun),
  offboard: withSignals(offboardRun),
  'temporary-membership': withSignals(temporaryMembershipRun),
  'delete-user': withSignals(deleteUserRun),
};

/** The run kind of a request (a request stored before kinds existed: create-user). */
export const runKindOf = (request: { kind?: RequestKind }): RunKind | undefined =>
  runKinds[request.kind ?? KIND_BEFORE_KINDS];

/**
 * Worker: runs attempt `attempt` of an approved request of any kind on the resumable runner (see runAttempt): a
 * handled failure does not throw; `announce`: a first approval (the kind may tell the requester), not a Retry.
 */
export const runRequest = (deps: Deps, requestId: string, attempt: number, options: RunOptions = {}) =>
  runAttempt(deps, runKindOf, requestId, attempt, options);

export type { RunOutcome };
