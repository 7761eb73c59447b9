/** The kinds that run on the resumable runner, by `request.kind`: the job and the sweep look a kind up here. */
import { changeRun } from '../../kinds/change/run.js';
import { createUserRun } from '../../kinds/create-user-run.js';
import { KIND_BEFORE_KINDS } from '../../kinds/facts.js';
import { offboardRun } from '../kinds/offboard.js';
import { rotationDeliveryRun } from '../kinds/rotation-delivery.js';
import type { RequestKind } from '../plans/types.js';
import type { RunKind } from './types.js';

export const runKinds: Partial<Record<RequestKind, RunKind>> = {
  'create-user': createUserRun,
  'add-to-group': changeRun,
  'remove-from-group': changeRun,
  'set-owner': changeRun,
  'rotate-key': rotationDeliveryRun,
  offboard: offboardRun,
};

/** The run kind of a request, if its kind runs on the runner (a request stored before kinds existed: create-user). */
export const runKindOf = (request: { kind?: RequestKind }): RunKind | undefined =>
  runKinds[request.kind ?? KIND_BEFORE_KINDS];
