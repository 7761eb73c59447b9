import type { Deps } from '../deps.js';
import type { AccessRequest } from '../store/requests.js';
import type { ProjectedUser } from '../store/users.js';

/**
 * The IAM users a Slack user owns (no owner: those with no owner tag), in every account, from the ownership
 * projection: one DynamoDB Query of the owner's partition (every page), no IAM call. `more` is always false (every
 * page is read).
 */
export async function usersOwnedBy(
  deps: Pick<Deps, 'store'>,
  owner: string | undefined,
): Promise<{ users: ProjectedUser[]; more: boolean }> {
  return deps.store.users.ownedBy(owner);
}

/**
 * One IAM user as the projection holds it, with the requests of the bot that changed it (newest first): one read of
 * the projection and one batch read of those requests, no IAM call. Undefined when the bot knows no such user.
 */
export async function userDetail(
  deps: Pick<Deps, 'store'>,
  account: string,
  userName: string,
): Promise<{ user: ProjectedUser; requests: AccessRequest[] } | undefined> {
  const user = await deps.store.users.get(account, userName);
  if (!user) return undefined;
  const requests = user.requestIds.length ? await deps.store.requests.getMany(user.requestIds) : [];
  requests.sort((a, b) => b.createdAt.localeCompare(a.createdAt));
  return { user, requests };
}
