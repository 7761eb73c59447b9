/**
 * Whether Slack members are still in the workspace, from users.info through the Messenger: cached per process for
 * a few minutes, one call at a time and at most MAX_LOOKUPS per call (users.info is tier 4; the WebClient retries a
 * 429 after Slack's Retry-After).
 */
import type { Deps } from '../deps.js';
import { NotAuthorizedError } from '../errors.js';
import { logger } from '../logger.js';
import type { MemberStanding, Messenger } from './ports.js';

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

/**
 * How long a member's standing (full member, guest, external, bot, deactivated) is reused within one warm process:
 * as long as the user group members (src/slack/messenger.ts). A change in Slack (a member deactivated or made a
 * guest) counts at the latest a minute later; Slack itself signs a deactivated member out at once, so their clicks
 * stop before that. The cache spares the Slack function a users.info call on every click of a busy approver.
 */
export const STANDING_CACHE_MS = 60_000;

const standingCaches = new WeakMap<Messenger, Map<string, { standing: MemberStanding; at: number }>>();

/**
 * A member's standing in this workspace: at most one users.info call (none within STANDING_CACHE_MS of the last
 * answer about them in this process). Throws Slack's failure (nothing cached): callers must refuse.
 */
export async function standingOf(deps: Pick<Deps, 'messenger' | 'clock'>, userId: string): Promise<MemberStanding> {
  let cache = standingCaches.get(deps.messenger);
  if (!cache) {
    cache = new Map();
    standingCaches.set(deps.messenger, cache);
  }
  const now = deps.clock.now().getTime();
  const cached = cache.get(userId);
  if (cached && now - cached.at >= 0 && now - cached.at < STANDING_CACHE_MS) return cached.standing;
  const standing = await deps.messenger.memberStanding(userId);
  cache.set(userId, { standing, at: now });
  return standing;
}

/** Why a standing other than `member` may not decide anything, as the clicker reads it. */
export const STANDING_REASONS: Record<Exclude<MemberStanding, 'member'>, string> = {
  'single-channel-guest': 'you are a single-channel guest of this workspace',
  'multi-channel-guest': 'you are a multi-channel guest of this workspace',
  external: 'you are a member of another organisation (a shared channel)',
  bot: 'you are a bot',
  deactivated: 'your account is deactivated',
  'not-found': 'Slack does not know you as a member of this workspace',
};

/**
 * Throws NotAuthorizedError unless `user` is a full member of this workspace (not a guest, a member of another
 * organisation, a bot or deactivated), whatever the policy lists; also when Slack cannot say (fail closed). Makes at
 * most one users.info call (see standingOf). Changes nothing.
 */
export async function requireFullMember(
  deps: Pick<Deps, 'messenger' | 'clock'>,
  user: string,
  verb: string,
): Promise<void> {
  let standing: MemberStanding;
  try {
    standing = await standingOf(deps, user);
  } catch (error) {
    logger.warn('users.info failed; the approver-only action is refused', {
      member: user,
      errorName: (error as Error)?.name,
    });
    throw new NotAuthorizedError(
      `I could not check with Slack that you are a full member of this workspace, so I cannot let you ${verb} now. Nothing was changed; try again in a minute.`,
      { cause: error },
    );
  }
  if (standing === 'member') return;
  throw new NotAuthorizedError(
    `Only full members of this workspace can ${verb}, and ${STANDING_REASONS[standing]}, whatever the policy lists. Nothing was changed.`,
  );
}
