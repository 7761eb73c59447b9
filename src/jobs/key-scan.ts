import * as z from 'zod/mini';
import type { Deps } from '../deps.js';
import { invocationStartedAt } from '../invocation.js';
import { logger } from '../logger.js';
import { type KeyScanResult, scanAccountKeys } from '../services/key-scan.js';
import { memberStates } from '../services/slack-members.js';
import type { Job } from './types.js';

const payloadSchema = z.object({
  account: z.string().check(z.minLength(1)),
  day: z.string().check(z.regex(/^\d{4}-\d{2}-\d{2}$/)),
  after: z.optional(z.string()),
  maxOwners: z.optional(z.int().check(z.minimum(1))),
});
export type KeyScanPayload = z.infer<typeof payloadSchema>;

/** Pause between two Slack posts of a scan. */
export const SCAN_PACE_MS = 250;

/**
 * The job scanning one account's keys on one day. Its id names the account and the day, so the day's second dispatch
 * is skipped by the worker; a continuation (`after`) is a job of its own.
 */
export function keyScanJob(payload: KeyScanPayload): Job {
  const { account, day, after } = payload;
  return {
    id: `key-scan:${account}:${day}${after === undefined ? '' : `:after:${after}`}`,
    type: 'key-scan',
    payload: { ...payload },
  };
}

/**
 * Runs one part of an account's key scan (see scanAccountKeys); when its budget (time, or `maxOwners`) runs out it
 * hands the rest to a continuation job, which finishes the run. Returns what the part did (also logged).
 */
export async function runKeyScan(
  deps: Deps,
  input: Record<string, unknown>,
  options: { paceMs?: number } = {},
): Promise<KeyScanResult> {
  const payload = payloadSchema.parse(input);
  // The policy's part budget (runner.partBudgetSeconds, the runner's too), counted from the worker invocation's start
  // on the injected clock: the job's claim spent the same 60 s of the worker's timeout (issue 20).
  const budgetMs = deps.config.policy.runner.partBudgetSeconds * 1000;
  const started = invocationStartedAt(deps.clock.now().getTime());
  const result = await scanAccountKeys(deps, payload.account, {
    runId: `${keyScanJob(payload).id}#${deps.randomToken().slice(0, 8)}`,
    day: payload.day,
    ...(payload.after !== undefined ? { after: payload.after } : {}),
    ...(payload.maxOwners !== undefined ? { maxOwners: payload.maxOwners } : {}),
    outOfTime: () => deps.clock.now().getTime() - started > budgetMs,
    // owners Slack says are deactivated or does not know: their keys go to the approval channel, not to a DM nobody
    // reads (the daily owner check offboards a deactivated one and reports an unknown one); an owner Slack could not
    // answer about is DMed as usual. Asked per part, only for the owners that part handles.
    ownersWhoLeft: async (owners) => {
      const states = await memberStates(deps, owners);
      const out = new Map<string, 'left' | 'unknown'>();
      for (const o of owners) {
        const state = states.get(o);
        if (state === 'deactivated') out.set(o, 'left');
        else if (state === 'unknown') out.set(o, 'unknown');
      }
      return out;
    },
    paceMs: options.paceMs ?? SCAN_PACE_MS,
  });
  logger.info('Key scan', { ...result, owners: result.owners.length });
  if (result.next !== undefined) await deps.dispatcher.dispatch(keyScanJob({ ...payload, after: result.next }));
  return result;
}

/** The worker's handler of `key-scan` jobs. */
export async function keyScanJobHandler(deps: Deps, payload: Record<string, unknown>): Promise<void> {
  await runKeyScan(deps, payload);
}

/**
 * The daily scheduled task: one `key-scan` job per account (home and every named account), so that accounts are
 * scanned in parallel worker invocations and a slow one delays no other. Dispatching twice a day starts nothing new.
 */
export async function dispatchKeyScans(deps: Deps): Promise<Record<string, number>> {
  const day = deps.clock.now().toISOString().slice(0, 10);
  let dispatched = 0;
  for (const account of deps.aws.names) {
    await deps.dispatcher.dispatch(keyScanJob({ account, day }));
    dispatched++;
  }
  return { dispatched };
}
