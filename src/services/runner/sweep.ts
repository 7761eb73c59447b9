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

/**
 * Scheduled (every minute): every run asleep in a `wait` step that is due (e.g. a temporary membership's end) wakes
 * in a new part of the worker, so a due wait is acted on within about a minute, not the 15 of the stall sweep. Reads
 * only what is due: one Query of the sparse sweep index for deadlines up to now (the grants still running are not
 * read), then a consistent read of each. Does nothing else (the stall sweep keeps its cadence and its count of
 * stalled parts). Safe to run twice at once: each wake is a conditional write, and a part's job id is derived from
 * the request, its attempt and part, so the worker's claim runs it once.
 */
export async function wakeDueRuns(
  deps: Deps,
  kindOf: (request: AccessRequest) => RunKind | undefined = runKindOf,
): Promise<{ due: number; woken: number }> {
  const now = deps.clock.now();
  let due = 0;
  let woken = 0;
  for (const request of await deps.store.requests.dueForSweep(now)) {
    const kind = kindOf(request);
    const wakeAt = request.run?.wakeAt;
    if (!kind || !wakeAt || wakeAt > now.toISOString() || !isIdle(request, now)) continue;
    due++;
    if ((await restartStalledRun(deps, kind, request)) === 'resumed') woken++;
  }
  return { due, woken };
}
