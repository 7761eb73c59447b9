/**
 * Asking for a change to an existing IAM user (add-to-group, remove-from-group, set-owner, temporary-membership):
 * the stored request with its plan (the checks are in change-checks.ts).
 */

import type { Policy } from '../../config.js';
import type { Deps } from '../../deps.js';
import { kindChecks, kindOf } from '../../kinds/registry.js';
import type { AccessRequest } from '../../store/requests.js';
import { newRequest, submitNew } from '../requests/submit.js';
import { auditEvent, type RequestDeps, type SubmitOptions } from '../requests.js';
import { changeAtOnce } from './change-at-once.js';
import type { ChangeDraft, CheckedChange } from './change-checks.js';
import * as checks from './change-checks.js';

export type { ChangeDraft, ChangeKind, CheckedChange } from './change-checks.js';

/** checkChangeDraft of change-checks.ts with the kinds' checks of the draft's kind: the form's check. */
export const checkChangeDraft = (deps: Pick<Deps, 'config' | 'aws' | 'store'>, draft: ChangeDraft) =>
  checks.checkChangeDraft(deps, draft, kindChecks(draft.kind));

/** checkChangeLocally of change-checks.ts with the kinds' checks of the draft's kind: the inline command's check. */
export const checkChangeLocally = (policy: Policy, draft: ChangeDraft) =>
  checks.checkChangeLocally(policy, draft, kindChecks(draft.kind));

export type ChangeOutcome =
  | { request: AccessRequest; atOnce: false }
  | { request: AccessRequest; atOnce: 'owner' | 'group-approver' | 'break-glass' | (string & {}) };

/**
 * Submits a checked change through the one submit path (submitNew): stored with its audit event, then handed to
 * the worker to be posted for approval (after its new owner is checked against Slack), or (a removal by the user's
 * owner or an approver of its groups) to run at once, still as a request with its audit trail.
 */
export async function submitChangeRequest(
  deps: RequestDeps & Pick<Deps, 'messenger'>,
  requester: string,
  change: CheckedChange,
  options: SubmitOptions = {},
): Promise<ChangeOutcome> {
  // Checked with IAM (a form): whether it needs approval is decided now (the kind's own rule, break-glass, then a
  // removal by the owner or a group's approver). Checked locally (an inline command): the worker decides it once IAM
  // has said who owns the user (the kinds' verify step, src/services/kinds/change-at-once.ts).
  const atOnce = change.accountId ? await changeAtOnce(deps, kindOf(change).draft, change, requester) : undefined;
  // what the kind stores besides the shared fields (e.g. a membership for a time: its grant)
  const own = kindOf(change).draft?.submitted?.(change) ?? {};
  const request = newRequest(
    deps,
    requester,
    {
      kind: change.kind,
      plan: change.plan,
      ...(change.owner ? { owner: change.owner } : {}),
      recipient: change.newOwner ?? change.owner ?? requester,
      account: change.account,
      accountId: change.accountId,
      userName: change.userName,
      path: change.path,
      groups: change.groups,
      accessType: 'keys', // create-user's field; a change mints no credentials
      tags: [],
      justification: change.justification,
      ...own.item,
    },
    atOnce ? 'approved' : 'pending',
  );
  const requested = auditEvent(deps, request, requester, 'requested', {
    kind: change.kind,
    userName: change.userName,
    account: change.account,
    groups: change.groups,
    owner: change.owner ?? null,
    newOwner: change.newOwner ?? null,
    plan: change.plan.map((s) => JSON.stringify(s)),
    ...own.audit,
    channel: options.channel ?? null,
    ...(atOnce ? { allowedAtOnce: atOnce } : {}),
  });
  await submitNew(deps, request, requested, options);
  return atOnce ? { request, atOnce } : { request, atOnce: false };
}
