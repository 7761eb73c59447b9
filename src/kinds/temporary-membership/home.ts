/**
 * The App Home's part of temporary memberships: the viewer's grants under way (on the IAM users they own: the
 * requests their projection lists, one batch read, eventually consistent: a click re-reads the request), each with
 * the time left and the Extend and "Done, remove now" buttons. Store only.
 */
import { esc, sections } from '../../blocks/text.js';
import type { Deps } from '../../deps.js';
import type { AccessRequest } from '../../store/requests.js';
import type { ProjectedUser } from '../../store/users.js';
import { changeTitle } from '../summaries.js';
import { grantButtons } from './messages.js';

/** Grants shown at most (each is a section and a row of buttons: within Slack's 100 blocks of a view). */
export const HOME_GRANTS_SHOWN = 5;

/** Whether a request is a membership for a time that is added and not ending. */
const underWay = (r: AccessRequest) => r.status === 'done' && !!r.grant?.endsAt && !r.grant.endedAt && !r.grant.endNow;

/** Users whose requests the App Home reads for grants (one read each: the owner's copies do not list requests). */
export const HOME_GRANT_USERS = 20;

/**
 * The grants under way on `users` (the first HOME_GRANT_USERS; at most the 100 newest requests that changed them),
 * soonest end first: one read of each user's projection, one batch read of the requests.
 */
export async function grantsOn(deps: Pick<Deps, 'store'>, users: readonly ProjectedUser[]): Promise<AccessRequest[]> {
  const projected = await Promise.all(
    users.slice(0, HOME_GRANT_USERS).map((u) => deps.store.users.get(u.account, u.userName)),
  );
  const ids = projected.flatMap((u) => u?.requestIds ?? []);
  if (!ids.length) return [];
  const requests = await deps.store.requests.getMany(ids.slice(-100));
  return requests.filter(underWay).sort((a, b) => (a.grant?.endsAt ?? '').localeCompare(b.grant?.endsAt ?? ''));
}

/** `3 h 20 min`, `12 min`: the time left until `endsAt`. */
export function timeLeft(endsAt: string, now: Date): string {
  const minutes = Math.max(0, Math.ceil((Date.parse(endsAt) - now.getTime()) / 60_000));
  const h = Math.floor(minutes / 60);
  return h ? `${h} h ${minutes % 60} min` : `${minutes} min`;
}

/** The App Home's blocks of the viewer's grants under way (none: no blocks). */
export function grantHomeBlocks(grants: readonly AccessRequest[], now: Date): unknown[] {
  if (!grants.length) return [];
  const rest = grants.length - HOME_GRANTS_SHOWN;
  return [
    ...sections([`*Temporary memberships* (${grants.length})`]),
    ...grants
      .slice(0, HOME_GRANTS_SHOWN)
      .flatMap((r) => [
        ...sections([
          `${changeTitle(r)} in ${r.groups.map((g) => `\`${esc(g)}\``).join(', ')}: ${timeLeft(r.grant?.endsAt ?? '', now)} left · \`${esc(r.id)}\``,
        ]),
        grantButtons(r),
      ]),
    ...(rest > 0 ? sections([`…and ${rest} more.`]) : []),
  ];
}
