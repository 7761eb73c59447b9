/**
 * The projection refresh as fan-out (issue 20): the frequent schedule refreshes no account itself; it dispatches one
 * worker part per group of PROJECTION_ACCOUNTS_PER_PART accounts, which it refreshes in turn, so that a company of
 * many small accounts costs a few invocations, not one per account. A part stops before starting a user (or an
 * account) that could not finish within PROJECTION_PART_MS of its invocation's start (or after
 * PROJECTION_USERS_PER_PART users) and hands the rest on: an account cut short to a part of its own, the accounts not
 * started to another, at most PROJECTION_MAX_PARTS hops in all (a chain of at most 8).
 *
 * Idempotent: a part's job id names the run, its first account and the part, so a retried part (Lambda's two retries
 * of a failed or timed-out invocation) is claimed once at a time by the worker, and what it redoes is no change: the
 * refresh writes only what differs from IAM, conditionally on the item it read (refreshAccount).
 */
import * as z from 'zod/mini';
import type { Deps } from '../deps.js';
import { invocationStartedAt } from '../invocation.js';
import { logger } from '../logger.js';
import { type RefreshResult, refreshAccount } from '../services/user-projection.js';
import type { Job } from './types.js';

const payloadSchema = z.object({
  /** The accounts this part refreshes in turn, the first from `after` (a part dispatched before batching: one). */
  accounts: z.optional(z.array(z.string().check(z.minLength(1))).check(z.minLength(1))),
  account: z.optional(z.string().check(z.minLength(1))),
  /** The schedule run that started this refresh (one id for all of its parts). */
  run: z.string().check(z.minLength(1)),
  /** 1 for the first part: how many hops of the chain this part is. */
  part: z.int().check(z.minimum(1)),
  /** The last user name of the first account the parts before finished (a continuation goes on after it). */
  after: z.optional(z.string()),
});
export interface ProjectionRefreshPayload {
  accounts: string[];
  run: string;
  part: number;
  after?: string;
}

/** The worker job refreshing one part: its accounts in turn (its id names the first, which is in no other part). */
export function projectionRefreshJob(payload: ProjectionRefreshPayload): Job {
  return {
    id: `refresh-projection:${payload.accounts[0]}:${payload.run}:${payload.part}`,
    type: 'refresh-projection',
    payload: { ...payload },
  };
}

/** What a part did: each account's refresh, and the parts it handed on. */
export interface ProjectionPartResult {
  refreshed: Record<string, RefreshResult>;
  handedOn: ProjectionRefreshPayload[];
}

/**
 * Refreshes one part: its accounts in turn (refreshAccount, the first from `after`), within the part's budget, and
 * hands what is left on unless this part is the last one allowed (PROJECTION_MAX_PARTS): that rest waits for the
 * next schedule. An account cut short goes on in a part of its own, and the accounts not started in another, so that
 * a large account does not hold up the small ones. Guarantees, the budget counted from the invocation's start: no
 * user is started once the elapsed time plus the slowest user so far would pass PROJECTION_PART_MS, nor an account
 * once the elapsed time plus the slowest account so far would; at most PROJECTION_USERS_PER_PART users that cost a
 * call or a write in the whole part; a part is never followed by more than PROJECTION_MAX_PARTS - part hops, and
 * hands on at most two parts.
 */
export async function runProjectionRefreshPart(
  deps: Deps,
  input: Record<string, unknown>,
): Promise<ProjectionPartResult> {
  const parsed = payloadSchema.parse(input);
  const accounts = parsed.accounts ?? (parsed.account ? [parsed.account] : []);
  if (!accounts.length) throw new Error('A refresh-projection part names no account');
  const payload: ProjectionRefreshPayload = { ...parsed, accounts };
  const env = deps.config.env;
  const now = () => deps.clock.now().getTime();
  const started = invocationStartedAt(now());
  const elapsed = () => now() - started;
  let usersLeft = env.PROJECTION_USERS_PER_PART > 0 ? env.PROJECTION_USERS_PER_PART : Number.POSITIVE_INFINITY;
  let slowestAccount = 0;
  const refreshed: Record<string, RefreshResult> = {};
  const rest: ProjectionRefreshPayload[] = [];
  for (const [i, account] of accounts.entries()) {
    const after = i === 0 ? payload.after : undefined;
    // the first account always starts (a part makes progress); the next ones when they fit
    if (i > 0 && (usersLeft <= 0 || elapsed() + slowestAccount > env.PROJECTION_PART_MS)) {
      rest.push({ run: payload.run, part: payload.part + 1, accounts: accounts.slice(i) });
      break;
    }
    const accountStarted = now();
    const result = await refreshAccount(deps, account, {
      ...(after !== undefined ? { after } : {}),
      // the credential report is waited for at most a quarter of the part: without it the refresh keeps what it knows
      reportWaitMs: Math.min(60_000, env.PROJECTION_PART_MS / 4),
      ...(Number.isFinite(usersLeft) ? { maxUsers: usersLeft } : {}),
      outOfTime: (reserveMs) => elapsed() + reserveMs > env.PROJECTION_PART_MS,
    });
    refreshed[account] = result;
    usersLeft -= result.worked;
    slowestAccount = Math.max(slowestAccount, now() - accountStarted);
    if (result.next !== undefined) {
      rest.push({ run: payload.run, part: payload.part + 1, accounts: [account], after: result.next });
      if (i + 1 < accounts.length)
        rest.push({ run: payload.run, part: payload.part + 1, accounts: accounts.slice(i + 1) });
      break;
    }
  }
  const last = payload.part >= env.PROJECTION_MAX_PARTS;
  logger.info('Projection refresh part', {
    accounts: Object.keys(refreshed),
    users: sum(refreshed, 'users'),
    written: sum(refreshed, 'written'),
    iamCalls: sum(refreshed, 'iamCalls'),
    part: payload.part,
    more: rest.length > 0,
    ...(rest.length > 0 && last ? { outcome: 'left-to-next-refresh' } : {}),
  });
  if (!last) for (const next of rest) await deps.dispatcher.dispatch(projectionRefreshJob(next));
  return { refreshed, handedOn: last ? [] : rest };
}

const sum = (results: Record<string, RefreshResult>, field: 'users' | 'written' | 'iamCalls') =>
  Object.values(results).reduce((n, r) => n + r[field], 0);

/** The worker's handler of `refresh-projection` jobs. */
export async function projectionRefreshJobHandler(deps: Deps, payload: Record<string, unknown>): Promise<void> {
  await runProjectionRefreshPart(deps, payload);
}

/**
 * The frequent scheduled task: the accounts (home and every named account) in groups of PROJECTION_ACCOUNTS_PER_PART,
 * one `refresh-projection` part per group, each in a worker of its own. A run id of its own names each dispatch's
 * parts: a second run (the next schedule, or Lambda retrying the schedule) refreshes again, which changes nothing
 * that did not change in IAM.
 */
export async function dispatchProjectionRefreshes(deps: Deps): Promise<Record<string, number>> {
  const run = `${deps.clock.now().toISOString()}-${deps.randomToken().slice(0, 8)}`;
  const size = deps.config.env.PROJECTION_ACCOUNTS_PER_PART;
  const names = deps.aws.names;
  let dispatched = 0;
  for (let at = 0; at < names.length; at += size) {
    await deps.dispatcher.dispatch(projectionRefreshJob({ accounts: names.slice(at, at + size), run, part: 1 }));
    dispatched++;
  }
  return { dispatched };
}
