/**
 * The policy's hold on a change request (add-to-group, remove-from-group, set-owner): which users the bot may change
 * and what a stored plan may still do. Its run is the kind's (src/kinds/change/run.ts, on the resumable runner).
 */
import type { Deps } from '../../deps.js';
import type { AccessRequest } from '../../store/requests.js';

/** The paths whose users the bot manages (policy `users.path` and `users.managedPaths`). */
export const managedPaths = (policy: Deps['config']['policy']) => [policy.users.path, ...policy.users.managedPaths];

/**
 * Whether a user at IAM path `path` is one the bot manages: at a managed path or under it (a sub-path), as the
 * projection lists users (user-projection.ts isManagedPath) and as the roles grant (`user<path>*`).
 */
export const isManagedUserPath = (policy: Deps['config']['policy'], path: string): boolean =>
  managedPaths(policy).some((p) => path.startsWith(p));

/**
 * What the current policy no longer allows of a change request: a group it does not list, a user outside the managed
 * paths. Empty when the plan may run as approved.
 */
export function changeViolations(policy: Deps['config']['policy'], request: AccessRequest): string[] {
  const listed = new Set(policy.groups.map((g) => g.name));
  const problems: string[] = [];
  for (const step of request.plan ?? []) {
    if ((step.op === 'AddUserToGroup' || step.op === 'RemoveUserFromGroup') && !listed.has(step.group))
      problems.push(`group ${step.group} is not in the policy any more`);
  }
  if (!isManagedUserPath(policy, request.path))
    problems.push(`user path ${request.path} is not among the policy's managed paths`);
  return problems;
}
