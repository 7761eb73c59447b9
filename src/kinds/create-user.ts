/** create-user: a new IAM user, its credentials delivered to the recipient by one-time link. */
import { approvalMessage, approverFailureMessage, requesterUpdateMessage } from '../blocks/request.js';
import { esc } from '../blocks/text.js';
import { checkInAccount } from '../services/request-validation.js';
import { approvalRule } from '../services/requests/approval-rule.js';
import { KIND_FACTS } from './facts.js';
import type { RequestKindModule } from './types.js';

export const createUser: RequestKindModule = {
  id: 'create-user',
  command: {
    summary:
      'asks for a new IAM user (access key and/or console password, in the groups you choose); approvers decide in the approval channel, and the credentials arrive as a one-time link.',
    usage:
      '/iam create-user [name] [--for @user] [--groups g1,g2 | --like iam-user] [--keys] [--console] [--account name] [--tag key=value] [--reason "..."] [--anyway]',
    example:
      '/iam create-user build-bot --for @alice --groups ci-deployers --keys --account home --reason "CI deploys for the web app"',
  },
  reservesName: KIND_FACTS['create-user'].reservesName,
  excluded: (request) => [
    {
      user: request.recipient,
      reason: (verb) => `This request gives you the credentials, so you cannot ${verb} it: another approver must.`,
    },
  ],
  people: (request) => [
    {
      user: request.recipient,
      role: 'recipient',
      refusal: (who) =>
        `${who}: only a person in the workspace can receive the credentials of a new IAM user, so I did not ask the approvers. Nothing was created; ask again for a person.`,
    },
  ],
  // A request typed inline is stored before IAM is asked (no account id yet): the worker asks now, and refuses an
  // existing user or a missing group as the command's one answer. The form asked IAM before it closed.
  verify: async (deps, request) => {
    if (request.accountId) return {};
    const { accountId, problems } = await checkInAccount(deps, request);
    if (!problems.length) return { fields: { accountId } };
    const text = `I can't ask for that user yet:\n${problems.map((p) => `• ${p}`).join('\n')}\nNothing was created.`;
    return { refusal: { code: 'refused by IAM', text } };
  },
  approvalRule: (policy, request) => approvalRule(policy, request.groups, 'create-user'),
  render: {
    approvalMessage: (request, ctx) => approvalMessage(request, ctx),
    requesterUpdate: (request) => requesterUpdateMessage(request),
    approverFailure: (request, channel) => approverFailureMessage(request, channel),
    waiting: (request, channel) =>
      `Your request \`${request.id}\` for IAM user \`${esc(request.userName)}\` is waiting for approval in <#${channel}>. I'll DM you when it is decided.`,
  },
  // The link held the new user's access key; nothing else changes when a new one is delivered.
  reissue: {
    refusal: () => undefined,
    asked: () => ({}),
    undeliveredKey: (_request, link) => link?.accessKeyId,
    delivered: () => ({}),
    told: () => [],
  },
  words: {
    stalledRemaining: (request) =>
      `whatever it had created for IAM user ${request.userName}; Retry continues from there`,
  },
};
