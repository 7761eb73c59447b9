/** Telling people about a request: its approval message, the requester's and the approvers' DMs. */
import type { Deps } from '../../deps.js';
import { kindOf } from '../../kinds/registry.js';
import { logger } from '../../logger.js';
import type { AccessRequest } from '../../store/requests.js';
import type { OutgoingMessage } from '../ports.js';
import { ruleOf } from './rules.js';

/** The approval message of a request as it stands. */
export function renderApprovalMessage(deps: Pick<Deps, 'config'>, request: AccessRequest): OutgoingMessage {
  const { policy } = deps.config;
  return kindOf(request).render.approvalMessage(request, {
    policy,
    requiredApprovals: ruleOf(policy, request).requiredApprovals,
    groupDescriptions: Object.fromEntries(policy.groups.map((g) => [g.name, g.description])),
  });
}

/** Brings the approval message up to date. A Slack failure is logged, never thrown: the transition stands. */
export async function syncApprovalMessage(deps: Pick<Deps, 'config' | 'messenger'>, request: AccessRequest) {
  if (!request.message) return;
  try {
    await deps.messenger.update(request.message.channel, request.message.ts, renderApprovalMessage(deps, request));
  } catch (error) {
    logger.error('Could not update the approval message', { requestId: request.id, errorName: (error as Error)?.name });
  }
}

/** DMs someone about a request. A Slack failure is logged, never thrown. */
export async function tell(
  deps: Pick<Deps, 'messenger'>,
  who: string,
  request: AccessRequest,
  message: OutgoingMessage,
) {
  try {
    await deps.messenger.post(who, message);
  } catch (error) {
    logger.error('Could not DM about a request', { requestId: request.id, errorName: (error as Error)?.name });
  }
}

/** Tells the requester the request's current state. */
export const tellRequester = (deps: Pick<Deps, 'messenger'>, request: AccessRequest) =>
  tell(deps, request.requester, request, kindOf(request).render.requesterUpdate(request));

/** Tells the approvers who approved a failed request what happened (the message itself shows Retry). */
export async function tellApproversOfFailure(deps: Pick<Deps, 'config' | 'messenger'>, request: AccessRequest) {
  const channel = request.message?.channel ?? deps.config.policy.approvals.channel;
  const message = kindOf(request).render.approverFailure(request, channel);
  for (const a of request.approvals) await tell(deps, a.user, request, message);
}
