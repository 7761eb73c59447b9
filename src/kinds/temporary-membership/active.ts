/**
 * Which memberships of an IAM user are temporary now, and which a permanent request made for good meanwhile: read
 * from the requests that changed the user (its projection's `requestIds`, src/store/users.ts), each read
 * consistently (these reads decide a submission and a removal). Store only: the Slack function (the checks of a
 * permanent request) and the worker (a grant's end) both use it.
 */
import type { Deps } from '../../deps.js';
import type { AccessRequest } from '../../store/requests.js';
import { CHANGE_RULES, type ChangeKind } from '../change-rules.js';

const isChangeKind = (kind: string | undefined): kind is ChangeKind => kind !== undefined && kind in CHANGE_RULES;

/** Whether a kind adds groups for good (add-to-group): what a duration turns into a membership for a time. */
export const addsForGood = (kind: ChangeKind): boolean =>
  kind !== 'temporary-membership' && CHANGE_RULES[kind].membership === 'absent';

/** The requests that changed the user, as stored now (its projection lists them), read consistently. */
async function requestsOf(deps: Pick<Deps, 'store'>, account: string, userName: string): Promise<AccessRequest[]> {
  const projected = await deps.store.users.get(account, userName, { consistent: true });
  const out: AccessRequest[] = [];
  for (const id of projected?.requestIds ?? []) {
    const r = await deps.store.requests.get(id);
    if (r) out.push(r);
  }
  return out;
}

/** Whether a request is a membership for a time that is added and not ended. */
const activeGrant = (r: AccessRequest) => r.kind === 'temporary-membership' && r.status === 'done' && !r.grant?.endedAt;

/** The groups of the user that a temporary membership holds now (added, not ended). */
export async function temporaryGroupsOf(
  deps: Pick<Deps, 'store'>,
  account: string,
  userName: string,
): Promise<Set<string>> {
  const groups = new Set<string>();
  for (const r of await requestsOf(deps, account, userName))
    if (activeGrant(r)) for (const g of r.groups) groups.add(g);
  return groups;
}

/**
 * The permanent request (add-to-group, done) that made `group` permanent after `since` (a grant's start), if any: a
 * grant's end keeps that membership.
 */
export async function madePermanentSince(
  deps: Pick<Deps, 'store'>,
  request: Pick<AccessRequest, 'account' | 'userName' | 'id'>,
  group: string,
  since: string,
): Promise<AccessRequest | undefined> {
  return (await requestsOf(deps, request.account, request.userName)).find(
    (r) =>
      r.id !== request.id &&
      isChangeKind(r.kind) &&
      addsForGood(r.kind) &&
      r.status === 'done' &&
      r.groups.includes(group) &&
      r.updatedAt >= since,
  );
}
