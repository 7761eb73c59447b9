/** Change requests' messages and the membership form fit Slack's limits at the largest sizes the inputs allow. */
import { describe, expect, it } from 'vitest';
import {
  changeApprovalMessage,
  changeApproverFailureMessage,
  changeRequesterUpdateMessage,
  ownerChangeDoneMessage,
} from '../../src/blocks/change-request.js';
import { membershipModal } from '../../src/blocks/membership-modal.js';
import { policySchema } from '../../src/config.js';
import type { PlanStep } from '../../src/services/plans/types.js';
import { MAX_GROUPS_PER_USER } from '../../src/services/request-validation.js';
import type { AccessRequest, RequestStatus } from '../../src/store/requests.js';
import { testPolicy } from '../support/policy.js';
import { slackPayloadProblems } from '../support/slack-limits.js';

const pad = (prefix: string, length: number, fill = 'x') => (prefix + fill.repeat(length)).slice(0, length);
const post = (message: { text: string; blocks?: unknown[] }) =>
  slackPayloadProblems('chat.postMessage', { channel: 'C0APPROVALS', ...message });

const policy = policySchema.parse(
  testPolicy({
    groups: Array.from({ length: 1000 }, (_, i) => ({ name: pad(`group-${i}-`, 75), description: pad('&', 75, '&') })),
    users: { path: `/${pad('path', 510, '&')}/`, managedPaths: [`/${pad('legacy', 510, '&')}/`] },
  }),
);
const userName = pad('u', 64, '@');
const groups = policy.groups.slice(0, MAX_GROUPS_PER_USER).map((g) => g.name);

const largest = (status: RequestStatus, kind: AccessRequest['kind'], plan: PlanStep[]): AccessRequest => ({
  id: 'req-0123456789ab',
  kind,
  plan,
  owner: 'U0OWNER',
  status,
  requester: 'U0REQUESTER',
  recipient: 'U0NEWOWNER',
  account: pad('acct-', 32, 'a'),
  accountId: '123456789012',
  userName,
  path: policy.users.path,
  groups: kind === 'set-owner' ? [] : groups,
  accessType: 'keys',
  tags: [],
  justification: Array.from({ length: 10 }, () => pad('', 99, '&')).join('\n'),
  approvals: [
    { user: 'U0APPROVER1', at: '2026-11-23T00:00:00.000Z' },
    { user: 'U0APPROVER2', at: '2026-11-23T00:01:00.000Z' },
  ],
  decision: { by: 'U0APPROVER1', at: '2026-11-23T00:02:00.000Z', reason: pad('no ', 500, '<') },
  error: `AddUserToGroup ${userName} → ${groups[1]} failed (${pad('Error', 200, '&')})`,
  remaining: groups.map((g) => `AddUserToGroup ${userName} → ${g} (undo: ${pad('Error', 100, '&')})`),
  attempt: 3,
  credentialIssue: 0,
  createdAt: '2026-11-23T00:00:00.000Z',
  expiresAt: '2026-11-26T00:00:00.000Z',
  abandonAt: '2026-11-30T00:00:00.000Z',
  updatedAt: '2026-11-23T00:02:00.000Z',
  version: 7,
});

const statuses: RequestStatus[] = [
  'pending',
  'approved',
  'provisioning',
  'done',
  'failed',
  'denied',
  'expired',
  'abandoned',
];
const kinds: [AccessRequest['kind'], PlanStep[]][] = [
  ['add-to-group', groups.map((group) => ({ op: 'AddUserToGroup', userName, group }))],
  ['remove-from-group', groups.map((group) => ({ op: 'RemoveUserFromGroup', userName, group }))],
  ['set-owner', [{ op: 'TagUser', userName, key: 'slack-user-id', value: 'U0NEWOWNER', previous: 'U0OWNER' }]],
];
const ctx = { requiredApprovals: 2, groupDescriptions: {} };

describe.each(kinds)('the largest %s request', (kind, plan) => {
  it.each(statuses)('has messages that fit Slack when %s, every plan step shown whole', (status) => {
    const request = largest(status, kind, plan);
    const message = changeApprovalMessage(request, ctx);

    expect(post(message)).toEqual([]);
    expect(post(changeRequesterUpdateMessage(request))).toEqual([]);
    expect(post(changeApproverFailureMessage(request, 'C0APPROVALS'))).toEqual([]);
    expect(post(ownerChangeDoneMessage(request))).toEqual([]);
    const text = JSON.stringify(message.blocks);
    for (const [i] of plan.entries()) expect(text).toContain(`${i + 1}. \``);
  });
});

it('the membership form fits Slack with the 1,000 groups the policy schema allows', () => {
  const view = membershipModal(policy, { kind: 'add-to-group', channel: 'C0CHANNEL' }, { userName, groups });

  expect(slackPayloadProblems('views.open', { trigger_id: '1.2.trigger', view })).toEqual([]);
});
