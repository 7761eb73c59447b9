import type { Deps } from '../../deps.js';
import { type AccessRequest, STALLED_AFTER_MS } from '../../store/requests.js';
import { isIdle, restartStalledRun } from './engine.js';
import { runKindOf } from './kinds.js';
import type { RunKind } from './types.js';

/**
 * Scheduled (every 15 minutes): every request whose run has steps left, no part holding it and no checkpoint for
 * STALLED_AFTER_MS (its part was killed and Lambda's retries did not resume it, or a hand-off was lost) continues in
 * a new part; a `wait` step that is due wakes. A run that stopped at the same step several parts in a row fails (the
 * approvers get Retry). Safe to run again: each change is a conditional write. `kindOf`: the run kinds (a test's own).
 */
export async function resumeStalledRuns(
  deps: Deps,
  kindOf: (request: AccessRequest) => RunKind | undefined = runKindOf,
): Promise<{ resumed: number; failed: number }> {
  const now = deps.clock.now();
  const cutoff = new Date(now.getTime() - STALLED_AFTER_MS).toISOString();
  let resumed = 0;
  let failed = 0;
  for (const request of await deps.store.requests.dueForSweep(now)) {
    const kind = kindOf(request);
    if (!kind || !isIdle(request, now)) continue;
    const wakeAt = request.run?.wakeAt;
    if (wakeAt ? wakeAt > now.toISOString() : request.updatedAt > cutoff) continue;
    const did = await restartStalledRun(deps, kind, request);
    if (did === 'resumed') resumed++;
    if (did === 'failed') failed++;
  }
  return { resumed, failed };
}
