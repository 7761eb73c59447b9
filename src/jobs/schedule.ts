import type { Deps } from '../deps.js';
import { adoptPhaseRotations } from '../kinds/rotate-key/rotation-life.js';
import { logger, withLogKeys } from '../logger.js';
import { sweepExpiredLinks, sweepOrphanedSecrets } from '../services/credential-expiry.js';
import { reconcileOwners } from '../services/owner-check.js';
import { abandonExpiredFailures, expireDueRequests, failStalledProvisioning } from '../services/requests.js';
import { resumeStalledRuns, wakeDueRuns } from '../services/runner/sweep.js';
import { dispatchAccessReviews } from './access-review.js';
import { dispatchKeyScans } from './key-scan.js';
import { dispatchProjectionRefreshes } from './projection-refresh.js';

/** A task the scheduled function runs (every 15 minutes on Lambda). Each must be safe to run again. */
export interface ScheduledTask {
  name: string;
  run(deps: Deps): Promise<Record<string, number>>;
}

/** Every scheduled task of the frequent schedule (every 15 minutes), in order. */
export const scheduledTasks: ScheduledTask[] = [
  { name: 'expire-credential-links', run: sweepExpiredLinks },
  { name: 'delete-orphaned-secrets', run: sweepOrphanedSecrets },
  { name: 'expire-requests', run: expireDueRequests },
  // a rotation whose life has no step on its run (left by the scheduled phases, or reissued after it was
  // cancelled) continues on it, before the sweep below
  { name: 'adopt-phase-rotations', run: adoptPhaseRotations },
  // before failing stalled requests: a run stopped midway continues from its checkpoint instead; a run asleep in a
  // `wait` step that is due (a rotation's grace or recovery period) wakes; both in a new part of the worker
  { name: 'resume-stalled-runs', run: resumeStalledRuns },
  { name: 'fail-stalled-provisioning', run: failStalledProvisioning },
  { name: 'abandon-failed-requests', run: abandonExpiredFailures },
  // one worker part per account (fan-out): the schedule itself refreshes no account
  { name: 'refresh-user-projection', run: dispatchProjectionRefreshes },
];

/**
 * Tasks of the one-minute schedule (serverless.yml: `{"tasks": ["wake-due-runs"]}`): a run's due `wait` step (a
 * temporary membership's end) wakes within about a minute of its time.
 */
export const minuteTasks: ScheduledTask[] = [{ name: 'wake-due-runs', run: wakeDueRuns }];

/**
 * Tasks of the daily schedule (serverless.yml names them in the event's input: `{"tasks": ["reconcile-owners",
 * "key-scan"]}`): run only when named. The owners are reconciled first, so the key scan already knows who left.
 */
export const dailyTasks: ScheduledTask[] = [
  // every owner in the projection checked with users.info: a leaver the user_change event missed is handled once
  { name: 'reconcile-owners', run: reconcileOwners },
  { name: 'key-scan', run: dispatchKeyScans },
];

/**
 * The access review's daily run (serverless.yml: `{"tasks": ["access-review"]}`, its own event): one access-review job
 * per account, which starts a round every `reviews.everyDays` days, collects IAM's service last accessed jobs and DMs
 * the owners (src/services/access-review.ts). Apart from dailyTasks: the local dev schedule does not run it (moto has
 * no service last accessed data).
 */
export const reviewTasks: ScheduledTask[] = [{ name: 'access-review', run: dispatchAccessReviews }];

/**
 * The tasks a schedule event names (`{"tasks": ["key-scan"]}`, from serverless.yml), or the frequent ones when it
 * names none. A name that is no task is an error (a typo in serverless.yml must not silently run nothing).
 */
export function tasksFor(event: unknown): ScheduledTask[] {
  const names = (event as { tasks?: unknown } | null | undefined)?.tasks;
  if (!Array.isArray(names) || names.length === 0) return scheduledTasks;
  const all = [...scheduledTasks, ...minuteTasks, ...dailyTasks, ...reviewTasks];
  return names.map((name) => {
    const task = all.find((t) => t.name === name);
    if (!task) throw new Error(`No scheduled task is named ${String(name)}`);
    return task;
  });
}

/**
 * Runs every scheduled task; one failing task does not stop the others. Returns what each did, for the logs
 * and for tests.
 */
export async function runScheduledTasks(deps: Deps, tasks: ScheduledTask[] = scheduledTasks) {
  const results: Record<string, Record<string, number> | { error: string }> = {};
  for (const task of tasks) {
    await withLogKeys({ task: task.name, action: `schedule:${task.name}` }, async () => {
      try {
        results[task.name] = await task.run(deps);
        logger.info('Scheduled task ran', { outcome: 'done', result: results[task.name] });
      } catch (error) {
        logger.error('Scheduled task failed', { outcome: 'failed', errorName: (error as Error)?.name });
        results[task.name] = { error: (error as Error)?.name ?? 'Error' };
      }
    });
  }
  logger.info('Scheduled tasks ran', { action: 'schedule', outcome: 'done', results });
  return results;
}
