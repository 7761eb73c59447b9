/**
 * Whether Slack members are still in the workspace, from users.info through the Messenger: cached per process for
 * a few minutes, one call at a time and at most MAX_LOOKUPS per call (users.info is tier 4; the WebClient retries a
 * 429 after Slack's Retry-After).
 */
import type { Deps } from '../deps.js';
import { logger } from '../logger.js';
import type { Messenger } from './ports.js';

/**
 * active: in the workspace; deactivated: users.info says `deleted` (the only state that means the member left);
 * unknown: Slack does not know the id (user_not_found: a mistyped tag, another workspace's id), which is nobody
 * to DM but not a leaver either: the leaver job reports it to the approvers and deactivates nothing.
 */
export type MemberState = 'active' | 'deactivated' | 'unknown';

/** How long an answer is reused. */
export const MEMBER_CACHE_MS = 5 * 60_000;
/** The most users.info calls one call of memberStates makes; the rest wait for the next run. */
export const MAX_LOOKUPS = 300;

const caches = new WeakMap<Messenger, Map<string, { state: MemberState; at: number }>>();

/**
 * The state of each member asked for. A member Slack could not answer about (any failure other than user_not_found)
 * and one past MAX_LOOKUPS are left out: the caller must act on nothing for them, and the next run asks again.
 * `fresh`: skip the cache (a check that decides an IAM change).
 */
export async function memberStates(
  deps: Pick<Deps, 'messenger' | 'clock'>,
  userIds: readonly string[],
  options: { fresh?: boolean } = {},
): Promise<Map<string, MemberState>> {
  let cache = caches.get(deps.messenger);
  if (!cache) {
    cache = new Map();
    caches.set(deps.messenger, cache);
  }
  const now = deps.clock.now().getTime();
  const states = new Map<string, MemberState>();
  let lookups = 0;
  for (const id of new Set(userIds)) {
    const cached = cache.get(id);
    if (!options.fresh && cached && now - cached.at < MEMBER_CACHE_MS) {
      states.set(id, cached.state);
      continue;
    }
    if (lookups >= MAX_LOOKUPS) continue;
    lookups++;
    try {
      const status = await deps.messenger.memberStatus(id);
      const state: MemberState = status === 'deleted' ? 'deactivated' : status === 'not-found' ? 'unknown' : 'active';
      cache.set(id, { state, at: now });
      states.set(id, state);
    } catch (error) {
      logger.warn('users.info failed; the member is checked again next run', {
        member: id,
        errorName: (error as Error)?.name,
      });
    }
  }
  return states;
}
