/**
 * Who decides a request: its approval rule under the current policy, and who may approve, deny, retry or abandon it.
 */
import type { Principals } from '../../config.js';
import type { Deps } from '../../deps.js';
import { NotAuthorizedError } from '../../errors.js';
import { kindOf as kindModuleOf } from '../../kinds/registry.js';
import type { AccessRequest } from '../../store/requests.js';
import { requireFullMember } from '../slack-members.js';
import { type ApprovalRule, isAmong } from './approval-rule.js';

export type { ApprovalRule } from './approval-rule.js';
export { approvalRule, isAmong } from './approval-rule.js';

const describePrincipals = (p: Principals | undefined) =>
  p
    ? [...p.users.map((u) => `<@${u}>`), ...p.usergroups.map((g) => `<!subteam^${g}>`)].join(', ') || 'nobody'
    : 'nobody';

/** The approval rule of a stored request under the current policy. */
export const ruleOf = (policy: Deps['config']['policy'], request: AccessRequest): ApprovalRule =>
  kindModuleOf(request).approvalRule(policy, request);

/**
 * Throws NotAuthorizedError when `user` may not decide the request whatever the policy says: its requester, or
 * someone its kind excludes (the recipient of new credentials, the owner of a changed user, ...).
 */
export function refuseSelf(request: AccessRequest, user: string, verb: string): void {
  if (user === request.requester)
    throw new NotAuthorizedError(`You asked for this request, so you cannot ${verb} it: another approver must.`);
  for (const excluded of kindModuleOf(request).excluded(request))
    if (excluded.user && user === excluded.user) throw new NotAuthorizedError(excluded.reason(verb));
}

/**
 * Throws NotAuthorizedError unless `user` may approve the request: an approver of every requested group (user ids
 * or Slack user group members), neither its requester nor its recipient, and a full member of this workspace (not a
 * guest, a member of another organisation, a bot or deactivated: one users.info call at most, see requireFullMember).
 */
export async function authorizeApprover(
  deps: Pick<Deps, 'config' | 'messenger' | 'clock'>,
  request: AccessRequest,
  user: string,
  verb = 'approve',
): Promise<void> {
  await authorizeListedApprover(deps, request, user, verb);
  await requireFullMember(deps, user, `${verb} requests`);
}

/** authorizeApprover's policy half: listed (or in a listed user group), neither requester nor recipient. */
async function authorizeListedApprover(
  deps: Pick<Deps, 'config' | 'messenger'>,
  request: AccessRequest,
  user: string,
  verb: string,
): Promise<void> {
  refuseSelf(request, user, verb);
  const rule = ruleOf(deps.config.policy, request);
  const missing: ApprovalRule['groups'] = [];
  for (const g of rule.groups) if (!(await isAmong(deps, g.approvers, user))) missing.push(g);
  if (missing.length) {
    const lines = missing.map(
      (g) => `${g.name ? `\`${g.name}\`` : 'this request'}: ${describePrincipals(g.approvers)}`,
    );
    throw new NotAuthorizedError(
      `You are not an approver for every group of this request, so you cannot ${verb} it. Approvers: ${lines.join('; ')}.`,
    );
  }
}

/**
 * Throws NotAuthorizedError unless `user` may deny: an approver of at least one requested group, not requester or
 * recipient, and a full member of this workspace (see authorizeApprover).
 */
export async function authorizeDenier(
  deps: Pick<Deps, 'config' | 'messenger' | 'clock'>,
  request: AccessRequest,
  user: string,
) {
  await authorizeListedDenier(deps, request, user);
  await requireFullMember(deps, user, 'deny requests');
}

async function authorizeListedDenier(deps: Pick<Deps, 'config' | 'messenger'>, request: AccessRequest, user: string) {
  refuseSelf(request, user, 'deny');
  const rule = ruleOf(deps.config.policy, request);
  for (const g of rule.groups) if (await isAmong(deps, g.approvers, user)) return;
  throw new NotAuthorizedError('Only an approver of one of the requested groups can deny this request.');
}

/**
 * What `user` may do with a pending request now, decided as Approve and Deny decide it from the policy (read-only,
 * without asking Slack whether `user` is a full member): for showing the buttons only; every click is authorized
 * again from the stored request, the membership included.
 */
export async function mayDecide(
  deps: Pick<Deps, 'config' | 'messenger'>,
  request: AccessRequest,
  user: string,
): Promise<{ approve: boolean; deny: boolean }> {
  const allowed = async (check: () => Promise<void>) => {
    try {
      await check();
      return true;
    } catch (error) {
      if (error instanceof NotAuthorizedError) return false;
      throw error;
    }
  };
  return {
    approve: await allowed(() => authorizeListedApprover(deps, request, user, 'approve')),
    deny: await allowed(() => authorizeListedDenier(deps, request, user)),
  };
}

/** Every Slack user the rule of a request names as approver, user group members included (deduplicated). */
export async function approversOf(deps: Pick<Deps, 'config' | 'messenger'>, request: AccessRequest): Promise<string[]> {
  return membersOf(
    deps,
    ruleOf(deps.config.policy, request).groups.map((g) => g.approvers),
  );
}

async function membersOf(deps: Pick<Deps, 'messenger'>, list: (Principals | undefined)[]): Promise<string[]> {
  const out = new Set<string>();
  for (const p of list) {
    for (const u of p?.users ?? []) out.add(u);
    for (const g of p?.usergroups ?? []) for (const u of await deps.messenger.usergroupMembers(g)) out.add(u);
  }
  return [...out];
}

/**
 * Whether `user` approves anything under the policy: a global approver, an approver of a kind
 * (`approvals.kinds`) or of a group, listed or a member of a listed Slack user group.
 */
export async function isApprover(deps: Pick<Deps, 'config' | 'messenger'>, user: string): Promise<boolean> {
  const { policy } = deps.config;
  const all = [
    policy.approvals.approvers,
    ...Object.values(policy.approvals.kinds).map((k) => k?.approvers),
    ...policy.groups.map((g) => g.approvers),
  ];
  for (const p of all) if (await isAmong(deps, p, user)) return true;
  return false;
}
