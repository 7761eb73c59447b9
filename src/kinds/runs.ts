/**
 * How an approved request of each kind runs: worker only. The Slack function never imports this file (the
 * import-graph test allows it to src/jobs/ only), so the run parts stay out of its bundle.
 */
import type { Deps } from '../deps.js';
import { runOffboard } from '../services/kinds/offboard.js';
import { runRotationDelivery } from '../services/kinds/rotation-delivery.js';
import type { RequestKind } from '../services/plans/types.js';
import type { AccessRequest } from '../store/requests.js';
import { runChange } from './change/run.js';
import { runCreateUser } from './create-user-run.js';
import { kindOf } from './registry.js';

/** Runs attempt `attempt` of an approved request; a handled failure does not throw. */
export type RunRequest = (
  deps: Deps,
  requestId: string,
  attempt: number,
  options: { announce: boolean },
) => Promise<unknown>;

export const RUNS: Readonly<Record<RequestKind, RunRequest>> = {
  'create-user': (deps, requestId, attempt, options) => runCreateUser(deps, requestId, attempt, options),
  'add-to-group': runChange,
  'remove-from-group': runChange,
  'set-owner': runChange,
  'rotate-key': (deps, requestId, attempt, options) => runRotationDelivery(deps, requestId, attempt, options),
  offboard: (deps, requestId, attempt) => runOffboard(deps, requestId, attempt),
};

/** The run of a request's kind (a request stored before kinds existed: create-user's). */
export const runOf = (request: Pick<AccessRequest, 'kind'>): RunRequest => RUNS[kindOf(request).id];
