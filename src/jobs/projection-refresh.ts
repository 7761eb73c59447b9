/**
 * The projection refresh as fan-out (issue 20): the frequent schedule refreshes no account itself; it dispatches one
 * worker part per account, so that a company of many accounts costs the schedule one Invoke per account, and each
 * account's refresh gets a worker of its own. A part stops before starting a user that could not finish within
 * PROJECTION_PART_MS (or after PROJECTION_USERS_PER_PART users) and hands the rest of its account to a continuation
 * part, at most PROJECTION_MAX_PARTS parts in all (a chain of at most 8 hops).
 *
 * Idempotent: a part's job id names the run, the account and the part, so a retried part (Lambda's two retries of a
 * failed or timed-out invocation) is claimed once at a time by the worker, and what it redoes is no change: the
 * refresh writes only what differs from IAM, conditionally on the item it read (refreshAccount).
 */
import * as z from 'zod/mini';
import type { Deps } from '../deps.js';
import { logger } from '../logger.js';
import { type RefreshResult, refreshAccount } from '../services/user-projection.js';
import type { Job } from './types.js';

const payloadSchema = z.object({
  account: z.string().check(z.minLength(1)),
  /** The schedule run that started this account's refresh (one id for all of its parts). */
  run: z.string().check(z.minLength(1)),
  /** 1 for the first part. */
  part: z.int().check(z.minimum(1)),
  /** The last user name the parts before finished (a continuation goes on after it). */
  after: z.optional(z.string()),
});
export type ProjectionRefreshPayload = z.infer<typeof payloadSchema>;

/** The worker job refreshing one part of one account's projection. */
export function projectionRefreshJob(payload: ProjectionRefreshPayload): Job {
  return {
    id: `refresh-projection:${payload.account}:${payload.run}:${payload.part}`,
    type: 'refresh-projection',
    payload: { ...payload },
  };
}

/**
 * Refreshes one part of an account's projection (refreshAccount from `after`), within the part's budget, and hands
 * what is left to the next part unless this is the last one allowed (PROJECTION_MAX_PARTS): that rest waits for the
 * next schedule. Guarantees: no user is started once its part's elapsed time plus the slowest user so far would pass
 * PROJECTION_PART_MS; a part is never followed by more than PROJECTION_MAX_PARTS - part continuations.
 */
export async function runProjectionRefreshPart(deps: Deps, input: Record<string, unknown>): Promise<RefreshResult> {
  const payload = payloadSchema.parse(input);
  const env = deps.config.env;
  const started = deps.clock.now().getTime();
  const elapsed = () => deps.clock.now().getTime() - started;
  const result = await refreshAccount(deps, payload.account, {
    ...(payload.after !== undefined ? { after: payload.after } : {}),
    // the credential report is waited for at most a quarter of the part: without it the refresh keeps what it knows
    reportWaitMs: Math.min(60_000, env.PROJECTION_PART_MS / 4),
    ...(env.PROJECTION_USERS_PER_PART > 0 ? { maxUsers: env.PROJECTION_USERS_PER_PART } : {}),
    outOfTime: (reserveMs) => elapsed() + reserveMs > env.PROJECTION_PART_MS,
  });
  const { next, ...counts } = result;
  const last = payload.part >= env.PROJECTION_MAX_PARTS;
  logger.info('Projection refresh part', {
    ...counts,
    account: payload.account,
    part: payload.part,
    more: next !== undefined,
    ...(next !== undefined && last ? { outcome: 'left-to-next-refresh' } : {}),
  });
  if (next !== undefined && !last)
    await deps.dispatcher.dispatch(projectionRefreshJob({ ...payload, part: payload.part + 1, after: next }));
  return result;
}

/** The worker's handler of `refresh-projection` jobs. */
export async function projectionRefreshJobHandler(deps: Deps, payload: Record<string, unknown>): Promise<void> {
  await runProjectionRefreshPart(deps, payload);
}

/**
 * The frequent scheduled task: one `refresh-projection` part per account (home and every named account), each in a
 * worker of its own. A run id of its own names each dispatch's parts: a second run (the next schedule, or Lambda
 * retrying the schedule) refreshes again, which changes nothing that did not change in IAM.
 */
export async function dispatchProjectionRefreshes(deps: Deps): Promise<Record<string, number>> {
  const run = `${deps.clock.now().toISOString()}-${deps.randomToken().slice(0, 8)}`;
  let dispatched = 0;
  for (const account of deps.aws.names) {
    await deps.dispatcher.dispatch(projectionRefreshJob({ account, run, part: 1 }));
    dispatched++;
  }
  return { dispatched };
}
