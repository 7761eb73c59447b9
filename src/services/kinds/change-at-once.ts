/**
 * Whether a change to an existing IAM user needs no approval, one rule wherever it is decided: at submission of a
 * form (checked with IAM already), and by the worker for an inline command, which stores the request before asking
 * IAM (the change kinds' verify step, verifyChangeAtOnce): the kind's own rule first (break-glass), then the usual one
 * of a kind that allows it (a removal: CHANGE_RULES `atOnce`) for the user's owner or an approver of every group.
 * Imports nothing of the request life cycle nor the kinds' registry (the kinds import it).
 */
import type { Deps } from '../../deps.js';
import { atOnceAnswer } from '../../kinds/change.js';
import type { CheckedChange } from '../../kinds/change-draft.js';
import { CHANGE_RULES } from '../../kinds/change-rules.js';
import type { KindDraftExtension, RequestKindModule, Verified, VerifyDeps } from '../../kinds/types.js';
import type { AccessRequest } from '../../store/requests.js';
import { approvalRule, isAmong } from '../requests/approval-rule.js';
import { verifyChange } from './change-checks.js';

/** Who may have a change its kind allows at once done without approval: the user's owner, or an approver of every one of the groups. */
async function usualAtOnce(
  deps: Pick<Deps, 'config' | 'messenger'>,
  change: CheckedChange,
  requester: string,
): Promise<'owner' | 'group-approver' | undefined> {
  if (change.owner === requester) return 'owner';
  const rule = approvalRule(deps.config.policy, change.groups, change.kind);
  for (const g of rule.groups) if (!(await isAmong(deps, g.approvers, requester))) return undefined;
  return 'group-approver';
}

/**
 * Why `requester` may have the change (checked with IAM: its owner known) done at once, without approval: the kind's
 * own rule (`draft.atOnce`, e.g. break-glass), else the usual one; undefined when it needs approval. May read Slack
 * (user groups, the requester's standing). Throws ValidationError or NotAuthorizedError when the kind refuses it.
 */
export async function changeAtOnce(
  deps: Pick<Deps, 'config' | 'messenger' | 'clock'>,
  draft: KindDraftExtension | undefined,
  change: CheckedChange,
  requester: string,
): Promise<string | undefined> {
  const own = await draft?.atOnce?.(deps, change, requester);
  if (own) return own;
  return CHANGE_RULES[change.kind].atOnce ? usualAtOnce(deps, change, requester) : undefined;
}

/**
 * The change kinds' verify step (RequestKindModule.verify): the worker's check of a request an inline command stored
 * before asking IAM (verifyChange), then, once IAM has said who owns the user, whether it needs approval at all
 * (changeAtOnce, with the kind's `draft` extension): the worker then runs it at once and gives the requester its
 * answer instead of posting it. A refusal of the kind's rule is the requester's one answer. Changes nothing.
 */
export function verifyChangeAtOnce(draft?: KindDraftExtension): NonNullable<RequestKindModule['verify']> {
  return (deps: VerifyDeps, request: AccessRequest): Promise<Verified> =>
    verifyChange(deps, request, async (change) => {
      const allowed = await changeAtOnce(deps, draft, change, request.requester);
      if (!allowed) return undefined;
      // the answer names the account as checked (its id), as a retry's answer from the stored request does
      const checked = { ...request, accountId: change.accountId, path: change.path };
      return { allowed, answer: atOnceAnswer(checked, allowed, deps.config.policy.approvals.channel) };
    });
}
