/** The approval rule of a request: who approves it and how many approvals it needs, from the policy alone. */
import type { Policy, Principals } from '../../config.js';
import type { Deps } from '../../deps.js';
import type { RequestKind } from '../plans/types.js';

/** Who may approve each requested group, and how many distinct approvals the request needs. */
export interface ApprovalRule {
  requiredApprovals: number;
  groups: { name: string; approvers: Principals | undefined }[];
}

/**
 * The approval rule of a request under the current policy: per group its approvers (the group's own, else the
 * kind's (`approvals.kinds`), else the global ones) and the highest required approval count among the policy, the
 * kind and the groups. A group the policy no longer lists has no approver. A request without groups (set-owner) is
 * approved by the kind's approvers, else the global ones.
 */
export function approvalRule(policy: Policy, groups: string[], kind: RequestKind = 'create-user'): ApprovalRule {
  const forKind = policy.approvals.kinds[kind];
  const fallback = forKind?.approvers ?? policy.approvals.approvers;
  const defined = new Map(policy.groups.map((g) => [g.name, g]));
  const entries = groups.map((name) => {
    const g = defined.get(name);
    return {
      name,
      approvers: g ? (g.approvers ?? fallback) : undefined,
      required: g?.requiredApprovals,
    };
  });
  const requiredApprovals = Math.max(
    forKind?.requiredApprovals ?? policy.approvals.requiredApprovals,
    ...entries.map((e) => e.required ?? 0),
  );
  const list = entries.length ? entries : [{ name: '', approvers: fallback }];
  return { requiredApprovals, groups: list.map(({ name, approvers }) => ({ name, approvers })) };
}

/** Whether `user` is among `principals` (listed, or a member of a listed Slack user group). */
export async function isAmong(deps: Pick<Deps, 'messenger'>, principals: Principals | undefined, user: string) {
  if (!principals) return false;
  if (principals.users.includes(user)) return true;
  for (const group of principals.usergroups) {
    if ((await deps.messenger.usergroupMembers(group)).includes(user)) return true;
  }
  return false;
}
