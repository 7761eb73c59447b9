/**
 * What the change kinds (add-to-group, remove-from-group, set-owner, rotate-key, offboard) share: a change to an
 * existing IAM user, which its owner may not decide, rendered by src/blocks/change-request.ts.
 */
import {
  changeApprovalMessage,
  changeApproverFailureMessage,
  changeRequesterUpdateMessage,
} from '../blocks/change-request.js';
import type { Policy } from '../config.js';
import { approvalRule } from '../services/requests/approval-rule.js';
import type { AccessRequest } from '../store/requests.js';
import { KIND_FACTS } from './facts.js';
import { changeSummary } from './summaries.js';
import type { Exclusion, RequestKindModule } from './types.js';

/**
 * The requester's answer for a change done at once, without approval; `allowed` is why (`owner`, `group-approver`,
 * `break-glass`: KindDraftExtension.atOnce), `channel` the approval channel.
 */
export function atOnceAnswer(request: AccessRequest, allowed: string, channel: string): string {
  const what = changeSummary(request);
  if (allowed === 'break-glass')
    return `:rotating_light: Break-glass \`${request.id}\`: ${what}, at once and without approval. The approval channel <#${channel}> is told, and an approver will review it. I'll DM you once it is added.`;
  return `Request \`${request.id}\`: ${what}. ${allowed === 'owner' ? 'You own this user' : 'You approve these groups'}, so it needs no approval: I'm doing it now and will DM you when it is done.`;
}

/** The owner of the IAM user a change is about may not decide it. */
export const ownerExcluded = (request: AccessRequest): Exclusion => ({
  user: request.owner,
  reason: (verb) =>
    `You own IAM user ${request.userName}, so you cannot ${verb} a change to it: another approver must.`,
});

/** A change kind: its owner excluded, approved by the groups' or the kind's approvers, the change messages. */
export function changeKind(
  id: RequestKindModule['id'],
  overrides: {
    command?: RequestKindModule['command'];
    excluded?: RequestKindModule['excluded'];
    people?: RequestKindModule['people'];
    verify?: RequestKindModule['verify'];
    render?: Partial<RequestKindModule['render']>;
    draft?: RequestKindModule['draft'];
    home?: RequestKindModule['home'];
    store?: RequestKindModule['store'];
  } = {},
): RequestKindModule {
  return {
    id,
    reservesName: KIND_FACTS[id].reservesName,
    excluded: (request) => [ownerExcluded(request)],
    approvalRule: (policy: Policy, request: AccessRequest) => approvalRule(policy, request.groups, id),
    words: {
      stalledRemaining: (request) =>
        `whatever steps of its plan had run on IAM user ${request.userName}; Retry continues from there`,
    },
    ...(overrides.command ? { command: overrides.command } : {}),
    ...(overrides.excluded ? { excluded: overrides.excluded } : {}),
    ...(overrides.people ? { people: overrides.people } : {}),
    ...(overrides.draft ? { draft: overrides.draft } : {}),
    ...(overrides.home ? { home: overrides.home } : {}),
    ...(overrides.verify ? { verify: overrides.verify } : {}),
    ...(overrides.store ? { store: overrides.store } : {}),
    render: {
      approvalMessage: (request, ctx) => changeApprovalMessage(request, ctx),
      requesterUpdate: (request) => changeRequesterUpdateMessage(request),
      approverFailure: (request, channel) => changeApproverFailureMessage(request, channel),
      waiting: (request, channel) =>
        `Your request \`${request.id}\` to ${changeSummary(request)} is waiting for approval in <#${channel}>. I'll DM you when it is decided.`,
      ...overrides.render,
    },
  };
}
