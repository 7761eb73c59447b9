/**
 * The Block Kit builders under extreme but valid inputs: the largest policy the schema accepts, maximum-length IAM
 * names, tags and justifications. Every payload must pass the shared Slack-limit check, and nothing of a request
 * may be cut off.
 */
import { describe, expect, it } from 'vitest';
import { createUserModal } from '../../src/blocks/create-user-modal.js';
import {
  credentialExpiredMessage,
  credentialExpiredNotice,
  credentialFailedMessage,
  credentialLinkMessage,
  credentialOpenedMessage,
  credentialReportedMessage,
  credentialRevokedAlert,
} from '../../src/blocks/credentials.js';
import { helpMessage } from '../../src/blocks/help.js';
import {
  approvalMessage,
  approverFailureMessage,
  denyReasonModal,
  requesterUpdateMessage,
  requestPostedMessage,
} from '../../src/blocks/request.js';
import { sections, splitText } from '../../src/blocks/text.js';
import { whoamiMessage } from '../../src/blocks/whoami.js';
import { policySchema } from '../../src/config.js';
import { subcommands } from '../../src/listeners/commands/index.js';
import type { AccountStatus } from '../../src/services/accounts.js';
import { BOT_TAGS, MAX_GROUPS_PER_USER } from '../../src/services/request-validation.js';
import type { AccessRequest, RequestStatus } from '../../src/store/requests.js';
import { testPolicy } from '../support/policy.js';
import { slackPayloadProblems } from '../support/slack-limits.js';

const post = (message: { text: string; blocks?: unknown[] }) =>
  slackPayloadProblems('chat.postMessage', { channel: 'C0APPROVALS', ...message });
const respond = (message: { text: string; blocks?: unknown[] }) =>
  slackPayloadProblems('response_url', { response_type: 'ephemeral', ...message });
const open = (view: unknown) => slackPayloadProblems('views.open', { trigger_id: '1.2.trigger', view });

const pad = (prefix: string, length: number, fill = 'x') => (prefix + fill.repeat(length)).slice(0, length);
/** The longest role ARN IAM allows: a 512-character path and a 64-character name. */
const longRoleArn = (i: number) =>
  `arn:aws:iam::123456789012:role/${pad(`p${i}`, 510, 'p')}/${pad(`iam-slack-bot-${i}`, 64)}`;

/** The largest policy the schema accepts, as parsed. */
function largestPolicy(groups: number) {
  return policySchema.parse(
    testPolicy({
      groups: Array.from({ length: groups }, (_, i) => ({
        name: pad(`group-${i}-`, 75),
        description: pad(`Grants ${i} & <more> `, 75, '&'),
      })),
      users: { path: `/${pad('path', 510, '&')}/` },
      accounts: Array.from({ length: 99 }, (_, i) => ({ name: pad(`acct-${i}-`, 32, 'a'), roleArn: longRoleArn(i) })),
    }),
  );
}

describe('laying text out over sections', () => {
  it('splits a long line at a space, never inside an escaped character or a mention, and loses nothing', () => {
    expect(splitText('aaaaaa bbbbbbb', 10)).toEqual(['aaaaaa', 'bbbbbbb']);
    expect(splitText('abcdefgh&amp;xyz', 10)).toEqual(['abcdefgh', '&amp;xyz']);
    expect(splitText('abcdefg<@U1>z', 10)).toEqual(['abcdefg', '<@U1>z']);
    expect(splitText('x'.repeat(25), 10)).toEqual(['x'.repeat(10), 'x'.repeat(10), 'x'.repeat(5)]);
  });

  it('packs whole lines into as few sections as fit', () => {
    const blocks = sections(['x'.repeat(1500), 'y'.repeat(1499), 'z']);

    expect(blocks.map((b) => b.text.text.length)).toEqual([3000, 1]);
  });
});

describe('the whoami message', () => {
  const reachable = (name: string, passwordChange: AccountStatus['passwordChange']): AccountStatus => ({
    name,
    ok: true,
    account: '123456789012',
    alias: pad('alias-', 63, 'a'),
    arn: `arn:aws:sts::123456789012:assumed-role/${pad('iam-slack-bot-', 64)}/iam-slack-bot`,
    ...(passwordChange ? { passwordChange } : {}),
  });

  it('fits Slack with 21 named accounts like the shipped policy’s (one 3,000-character section did not)', () => {
    const accounts = [
      reachable('home', 'allowed'),
      ...Array.from({ length: 21 }, (_, i) => reachable(`staging-${i}`, 'no-policy')),
    ];

    expect(respond(whoamiMessage(accounts))).toEqual([]);
  });

  it('fits Slack with the 99 named accounts the schema allows, every one failing with the longest problem', () => {
    const accounts: AccountStatus[] = [
      reachable('home', { unknown: 'AccessDenied' }),
      ...Array.from({ length: 99 }, (_, i) => ({
        name: pad(`acct-${i}-`, 32, 'a'),
        roleArn: longRoleArn(i),
        ok: false,
        problem: `role cannot be assumed (AccessDenied: ${'&<>'.repeat(60)})`,
      })),
    ];

    const message = whoamiMessage(accounts);

    expect(respond(message)).toEqual([]);
    const text = JSON.stringify(message.blocks);
    for (const a of accounts) expect(text).toContain(`*${a.name}*`);
  });

  it('shows, per reachable account, whether new console users can change their password', () => {
    const message = whoamiMessage([
      reachable('home', 'allowed'),
      reachable('staging', 'no-policy'),
      reachable('legacy', 'not-allowed'),
      reachable('sandbox', { unknown: 'AccessDenied' }),
    ]);
    const text = JSON.stringify(message.blocks);

    expect(text).toContain('new users can change theirs at first sign-in');
    expect(text).toMatch(/staging\*.*no password policy, so new console users cannot change their password/);
    expect(text).toMatch(/legacy\*.*password policy does not let users change their password/);
    expect(text).toMatch(/sandbox\*.*could not read the password policy \(AccessDenied\)/);
  });
});

describe('the create-user form', () => {
  it('offers each of 150 groups, in option groups of at most 100, and every account of the largest policy', () => {
    const policy = largestPolicy(150);

    const view = createUserModal({ policy, requester: 'U0REQUESTER' });

    expect(open(view)).toEqual([]);
    const groups = (view.blocks as { block_id?: string; element?: unknown }[]).find(
      (b) => b.block_id === 'create_user_groups',
    )?.element as {
      option_groups: { options: { value: string }[] }[];
    };
    expect(groups.option_groups.flatMap((g) => g.options.map((o) => o.value))).toEqual(
      policy.groups.map((g) => g.name),
    );
  });

  it('fits Slack with the 1,000 groups the schema allows, pre-filled with the longest inputs', () => {
    const policy = largestPolicy(1000);

    const view = createUserModal({
      policy,
      requester: 'U0REQUESTER',
      prefill: {
        userName: pad('u', 64),
        groups: policy.groups.slice(0, 12).map((g) => g.name),
        account: policy.accounts[98]?.name ?? '',
        tags: Array.from({ length: 46 }, (_, i) => `${pad(`k${i}`, 128)}=${pad('v', 256)}`).join('\n'),
        justification: pad('why ', 1200, '&'),
      },
      context: { channel: 'C0GENERAL', acknowledged: 'console@staging' },
      warning: pad(':warning: ', 2999, '&'),
    });

    expect(open(view)).toEqual([]);
  });

  it('is refused by the policy schema beyond 1,000 groups, 99 accounts, or a group name or description of 76 characters', () => {
    const tooMany = testPolicy({
      groups: Array.from({ length: 1001 }, (_, i) => ({ name: `g${i}` })),
      accounts: Array.from({ length: 100 }, (_, i) => ({
        name: `a${i}`,
        roleArn: `arn:aws:iam::123456789012:role/r${i}`,
      })),
    });
    const tooLong = testPolicy({
      groups: [{ name: pad('g', 76), description: pad('d', 76) }],
      accounts: [{ name: 'a', roleArn: `arn:aws:iam::123456789012:role/${'p'.repeat(600)}/r` }],
    });

    const issues = (policy: unknown) =>
      policySchema.safeParse(policy).error?.issues.map((i) => `${i.path.join('.')}: ${i.message}`);

    expect(issues(tooMany)).toEqual([
      'groups: must list at most 1,000 groups: the request form lists them in 10 parts of 100',
      'accounts: must list at most 99 accounts: the request form offers them and home in one Slack menu (100)',
    ]);
    expect(issues(tooLong)).toEqual([
      'groups.0.name: must be at most 75 characters: the request form (a Slack menu) shows no more',
      'groups.0.description: must be at most 75 characters: the request form shows no more',
      'accounts.0.roleArn: is longer than an IAM role ARN can be',
    ]);
  });
});

describe('the request messages', () => {
  const policy = largestPolicy(20);
  /** The largest request the input limits let through: nothing in it may be cut off. */
  const largest = (status: RequestStatus, overrides: Partial<AccessRequest> = {}): AccessRequest => ({
    id: 'req-0123456789abcdef',
    status,
    requester: 'U0REQUESTER',
    recipient: 'U0RECIPIENT',
    account: pad('acct-', 32, 'a'),
    accountId: '123456789012',
    userName: pad('u', 64, '@'),
    path: policy.users.path,
    groups: policy.groups.slice(0, MAX_GROUPS_PER_USER).map((g) => g.name),
    accessType: 'both',
    tags: Array.from({ length: 50 - BOT_TAGS.length }, (_, i) => ({
      key: pad(`key-${i}-`, 128, 'k'),
      value: pad(`value ${i} `, 256, 'v'),
    })),
    justification: Array.from({ length: 10 }, () => pad('', 99, '&')).join('\n'),
    approvals: [
      { user: 'U0APPROVER1', at: '2026-11-23T00:00:00.000Z' },
      { user: 'U0APPROVER2', at: '2026-11-23T00:01:00.000Z' },
    ],
    decision: { by: 'U0APPROVER1', at: '2026-11-23T00:02:00.000Z', reason: pad('no ', 500, '<') },
    error: `CreateLoginProfile failed (${pad('Error', 200, '&')})`,
    remaining: Array.from({ length: 12 }, (_, i) => `membership of ${pad('u', 64)} in ${pad(`group-${i}-`, 75)}`),
    attempt: 3,
    credentialIssue: 2,
    createdAt: '2026-11-23T00:00:00.000Z',
    expiresAt: '2026-11-26T00:00:00.000Z',
    updatedAt: '2026-11-23T00:02:00.000Z',
    version: 7,
    ...overrides,
  });
  const ctx = {
    requiredApprovals: 2,
    groupDescriptions: Object.fromEntries(policy.groups.map((g) => [g.name, g.description])),
  };
  const statuses: RequestStatus[] = ['pending', 'approved', 'provisioning', 'done', 'failed', 'denied', 'expired'];

  it.each(statuses)('approval message of the largest %s request fits Slack', (status) => {
    expect(post(approvalMessage(largest(status), ctx))).toEqual([]);
  });

  it('shows every tag whole, the whole justification and the recipient line, and cuts nothing off', () => {
    const request = largest('pending');

    const message = approvalMessage(request, ctx);
    const text = (message.blocks as { text?: { text: string } }[]).map((b) => b.text?.text ?? '').join('\n');

    for (const t of request.tags) expect(text).toContain(`\`${t.key}=${t.value}\``);
    for (const g of request.groups) expect(text).toContain(`\`${g}\``);
    expect(text).toContain('*Credentials go to:* <@U0RECIPIENT>, as a one-time link');
    expect(text.match(/&amp;/g)?.length).toBeGreaterThanOrEqual(990);
    expect(text).not.toContain('…');
  });

  it.each(statuses)('requester, approver and deny messages of the largest %s request fit Slack', (status) => {
    const request = largest(status);

    expect(post(requesterUpdateMessage(request))).toEqual([]);
    expect(post(approverFailureMessage(request, 'C0APPROVALS'))).toEqual([]);
    expect(post(requestPostedMessage(request, 'C0APPROVALS'))).toEqual([]);
    expect(open(denyReasonModal(request))).toEqual([]);
  });
});

describe('the other messages', () => {
  const link = {
    linkId: 'link-0123456789',
    purpose: `New IAM user ${pad('u', 64, '&')} (access key and console password)`,
    requester: 'U0REQUESTER',
    recipient: 'U0RECIPIENT',
    approvers: Array.from({ length: 5 }, (_, i) => `U0APPROVER${i}`),
    account: pad('acct-', 32, 'a'),
    accountId: '123456789012',
    userName: pad('u', 64, '&'),
    accessKeyId: 'AKIAEXAMPLEEXAMPLE01',
    hasConsole: true,
    requestId: 'req-0123456789abcdef',
    openedFromIp: '2001:0db8:85a3:0000:0000:8a2e:0370:7334',
  };
  const at = Date.parse('2026-11-23T00:00:00Z');

  it('credential messages fit Slack with the longest user names', () => {
    const url = `https://example.execute-api.us-east-1.amazonaws.com/credentials/${'t'.repeat(43)}`;
    const outcomes = [
      { keyDeactivated: true, consoleDisabled: true, alerted: true },
      { keyDeactivated: false, consoleDisabled: false, alerted: false },
    ];
    const expiries = [
      { keyDeactivated: true, consoleRemoved: true },
      { keyDeactivated: false, consoleRemoved: false },
    ];

    expect(post(credentialLinkMessage({ ...link, url, expiresAt: at }))).toEqual([]);
    expect(post(credentialOpenedMessage(link, at))).toEqual([]);
    for (const outcome of outcomes) {
      expect(post(credentialReportedMessage(link, at, outcome))).toEqual([]);
      expect(post(credentialRevokedAlert(link, at, outcome))).toEqual([]);
    }
    for (const outcome of expiries) {
      expect(post(credentialExpiredMessage(link, at, outcome))).toEqual([]);
      expect(post(credentialExpiredNotice(link, at, outcome))).toEqual([]);
    }
    expect(post(credentialFailedMessage(link))).toEqual([]);
  });

  it('help fits Slack as a message and as the App Home tab', () => {
    const help = helpMessage([...subcommands]);

    expect(respond(help)).toEqual([]);
    expect(
      slackPayloadProblems('views.publish', { user_id: 'U1', view: { type: 'home', blocks: help.blocks } }),
    ).toEqual([]);
  });
});
