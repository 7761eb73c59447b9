/** The kinds that run on the resumable runner, by `request.kind`: the job and the sweep look a kind up here. */
import { changeRun } from '../../kinds/change/run.js';
import { offboardRun } from '../kinds/offboard.js';
import type { RequestKind } from '../plans/types.js';
import type { RunKind } from './types.js';

export const runKinds: Partial<Record<RequestKind, RunKind>> = {
  'add-to-group': changeRun,
  'remove-from-group': changeRun,
  'set-owner': changeRun,
  offboard: offboardRun,
};

/** The run kind of a request, if its kind runs on the runner. */
export const runKindOf = (request: { kind?: RequestKind }): RunKind | undefined =>
  request.kind ? runKinds[request.kind] : undefined;
