import { DAY } from '../clock.js';
import type { Policy } from '../config.js';
import type { ProjectedKey } from '../store/users.js';

/** How an access key stands against the policy's `keys` ages. */
export type KeyAgeBand = 'fine' | 'due-soon' | 'overdue' | 'inactive';

/** Whole days since the key was created (never negative). */
export const keyAgeDays = (key: Pick<ProjectedKey, 'createdAt'>, now: Date) =>
  Math.max(0, Math.floor((now.getTime() - Date.parse(key.createdAt)) / DAY));

/**
 * An active key is `overdue` from `keys.maxAgeDays` on, `due-soon` from `keys.remindAfterDays` on, else `fine`; an
 * inactive key cannot be used and is only `inactive`.
 */
export function keyAgeBand(
  key: Pick<ProjectedKey, 'createdAt' | 'status'>,
  now: Date,
  keys: Pick<Policy['keys'], 'remindAfterDays' | 'maxAgeDays'>,
) {
  if (key.status !== 'Active') return 'inactive' as const;
  const days = keyAgeDays(key, now);
  if (days >= keys.maxAgeDays) return 'overdue' as const;
  if (days >= keys.remindAfterDays) return 'due-soon' as const;
  return 'fine' as const;
}
