/** An offboarding's approval message and report fit Slack's limits for a leaver with many users of the longest names. */
import { describe, expect, it } from 'vitest';
import { giveToModal, MAX_LISTED, offboardMessage } from '../../src/blocks/offboard.js';
import { MAX_JUSTIFICATION } from '../../src/services/request-validation.js';
import type { AccessRequest, OffboardedUser, RequestStatus } from '../../src/store/requests.js';
import { slackPayloadProblems } from '../support/slack-limits.js';

const pad = (prefix: string, length: number, fill = 'x') => (prefix + fill.repeat(length)).slice(0, length);
const outcomes: OffboardedUser['outcome'][] = ['disabled', 'failed', 'excluded', 'unmanaged', 'owner-changed', 'gone'];

const users = (n: number): OffboardedUser[] =>
  Array.from({ length: n }, (_, i) => ({
    account: pad(`acct-${i}-`, 32, 'a'),
    userName: pad(`u${i}-`, 64, '@'),
    path: `/${pad('path', 510, '&')}/`,
    outcome: outcomes[i % outcomes.length] as OffboardedUser['outcome'],
    keys: ['AKIAEXAMPLEFAKEKEY01', 'AKIAEXAMPLEFAKEKEY02'],
    console: true,
    error: pad('LimitExceeded', 100, 'E'),
    restoredKeys: ['AKIAEXAMPLEFAKEKEY01'],
  }));

const request = (status: RequestStatus, n: number): AccessRequest => ({
  id: 'offboard-U0LEAVER',
  kind: 'offboard',
  status,
  requester: 'U0APPROVER1',
  recipient: 'U0LEAVER',
  owner: 'U0LEAVER',
  account: 'home',
  accountId: '',
  userName: 'U0LEAVER',
  path: '/iam-slack-bot/',
  groups: [],
  accessType: 'keys',
  tags: [],
  justification: pad('&<>', MAX_JUSTIFICATION, '&'),
  approvals: [],
  attempt: 1,
  credentialIssue: 0,
  createdAt: '2026-11-22T09:00:00.000Z',
  expiresAt: '2026-11-25T09:00:00.000Z',
  updatedAt: '2026-11-22T09:00:00.000Z',
  version: 3,
  error: pad('x: ', 3000, 'e'),
  offboard: {
    member: 'U0LEAVER',
    trigger: 'command',
    action: 'disable',
    users: users(n),
    cancelled: Array.from({ length: 40 }, (_, i) => `req-${String(i).padStart(12, '0')}`),
    doneAt: '2026-11-22T09:00:00.000Z',
    returnedAt: '2026-11-23T09:00:00.000Z',
  },
});

describe('the offboarding message', () => {
  it.each(['pending', 'provisioning', 'done', 'failed'] as const)('fits Slack with 500 users (%s)', (status) => {
    const message = offboardMessage(request(status, 500), {
      requiredApprovals: 2,
      groupDescriptions: {},
      recoveryDays: 30,
    });

    expect(slackPayloadProblems('chat.postMessage', { channel: 'C0APPROVALS', ...message })).toEqual([]);
    expect(JSON.stringify(message)).toContain(`and ${500 - MAX_LISTED} more`);
  });

  it('fits Slack with 500 users to be deleted (leavers.deleteAfterDays), and once the day decided each', () => {
    const before = request('done', 500);
    const off = before.offboard as NonNullable<AccessRequest['offboard']>;
    const announced: AccessRequest = {
      ...before,
      offboard: {
        ...off,
        users: off.users.map((u) => ({ ...u, outcome: 'disabled' })),
        deleteAt: '2026-11-29T09:00:00.000Z',
      },
    };
    const decided: AccessRequest = {
      ...announced,
      offboard: {
        ...(announced.offboard as NonNullable<AccessRequest['offboard']>),
        deletions: {
          at: '2026-11-29T09:00:00.000Z',
          users: off.users.map((u, i) => ({
            account: u.account,
            userName: u.userName,
            outcome: i % 2 ? 'kept' : 'deleting',
            ...(i % 2 ? { why: pad('in groups the policy does not list (', 400, '&') } : { requestId: `r-${i}` }),
          })),
        },
      },
    };
    const ctx = { requiredApprovals: 1, groupDescriptions: {}, recoveryDays: 30 };

    for (const r of [announced, decided])
      expect(slackPayloadProblems('chat.postMessage', { channel: 'C0APPROVALS', ...offboardMessage(r, ctx) })).toEqual(
        [],
      );
    expect(JSON.stringify(offboardMessage(announced, ctx))).toContain('To be deleted');
    expect(JSON.stringify(offboardMessage(decided, ctx))).toContain('and 240 more');
  });

  it('offers Reactivate and one Give to per user it may give, each with its own action id', () => {
    const message = offboardMessage(request('done', 3), {
      requiredApprovals: 1,
      groupDescriptions: {},
      recoveryDays: 30,
    });
    const actions = (message.blocks as { type: string; elements?: { action_id: string }[] }[]).find(
      (b) => b.type === 'actions',
    );

    expect(actions?.elements?.map((e) => e.action_id)).toEqual([
      'offboard_reactivate',
      'offboard_give_to_0',
      'offboard_give_to_1',
      'offboard_give_to_2',
    ]);
  });

  it('has a Give to form within the limits', () => {
    const modal = giveToModal({ requestId: 'offboard-U0LEAVER', account: pad('a', 32), userName: pad('u', 64, '&') });

    expect(slackPayloadProblems('views.open', { trigger_id: 't', view: modal })).toEqual([]);
  });
});
