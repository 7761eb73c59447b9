/**
 * The App Home and the compliance report under extreme but valid inputs: hundreds of users with two active keys each
 * and the longest names IAM allows, dozens of the largest requests waiting, the most accounts the policy allows.
 * Every payload must pass the shared Slack-limit check.
 */
import { parse } from 'csv-parse/sync';
import { describe, expect, it } from 'vitest';
import { helpMessage } from '../../src/blocks/help.js';
import { ageBar, homeView, keyButtonValue } from '../../src/blocks/home.js';
import { reportMessage } from '../../src/blocks/report.js';
import { DAY } from '../../src/clock.js';
import { subcommands } from '../../src/listeners/commands/index.js';
import { accountReport, reportCsv, reportKeys } from '../../src/services/report.js';
import type { AccessRequest } from '../../src/store/requests.js';
import type { ProjectedUser } from '../../src/store/users.js';
import { slackPayloadProblems } from '../support/slack-limits.js';

const pad = (prefix: string, length: number, fill = 'x') => (prefix + fill.repeat(length)).slice(0, length);
const now = new Date('2026-11-23T00:00:00Z');
const keys = { remindAfterDays: 80, maxAgeDays: 90, rotationGraceDays: 7 } as never;

/** A user with the longest name, ten long groups, and two active keys of different ages. */
const bigUser = (i: number, account = pad('acct-', 32, 'a')): ProjectedUser => ({
  account,
  userName: pad(`u${i}-`, 64, '&'),
  path: '/iam-slack-bot/',
  owner: 'U0MANY',
  groups: Array.from({ length: 10 }, (_, g) => pad(`group-${g}-`, 128, '<')),
  console: true,
  keys: [0, 1].map((k) => ({
    id: `AKIA${String(i * 2 + k).padStart(16, '0')}`,
    status: 'Active' as const,
    createdAt: new Date(now.getTime() - (i % 200) * DAY).toISOString(),
    lastUsedAt: now.toISOString(),
    lastUsedService: pad('s3', 64, '&'),
    lastUsedRegion: 'us-east-1',
  })),
  keysObservedAt: now.toISOString(),
  refreshedAt: now.toISOString(),
  requestIds: [],
});

const bigRequest = (i: number): AccessRequest => ({
  id: `req-${String(i).padStart(16, '0')}`,
  status: 'pending',
  requester: 'U0REQUESTER',
  recipient: 'U0RECIPIENT',
  account: pad('acct-', 32, 'a'),
  accountId: '123456789012',
  userName: pad('u', 64, '@'),
  path: '/iam-slack-bot/',
  groups: Array.from({ length: 10 }, (_, g) => pad(`group-${g}-`, 128, '>')),
  accessType: 'both',
  tags: [],
  justification: Array.from({ length: 10 }, () => pad('', 99, '&')).join('\n'),
  approvals: [{ user: 'U0APPROVER2', at: now.toISOString() }],
  attempt: 1,
  credentialIssue: 0,
  createdAt: now.toISOString(),
  expiresAt: now.toISOString(),
  updatedAt: now.toISOString(),
  version: 1,
});

describe('the App Home', () => {
  it('draws a key age as a bar against the maximum, full past it', () => {
    expect(ageBar(0, 90)).toBe('░░░░░░░░░░ 0/90 d');
    expect(ageBar(45, 90)).toBe('▓▓▓▓▓░░░░░ 45/90 d');
    expect(ageBar(200, 90)).toBe('▓▓▓▓▓▓▓▓▓▓ 200/90 d');
  });

  it('fits Slack with 500 users of two active keys each and 60 of the largest requests waiting', () => {
    const blocks = homeView({
      viewer: 'U0MANY',
      owned: { users: Array.from({ length: 500 }, (_, i) => bigUser(i)), more: true },
      now,
      keys,
      rotations: Array.from({ length: 10 }, (_, i) => `• \`${pad(`u${i}`, 64, '&')}\`: ${pad('', 300, '<')}`),
      reviews: Array.from({ length: 40 }, (_, i) => ({
        account: pad(`acct-${i}-`, 32, '&'),
        round: '2026-11-20',
        memberships: 500,
        deletions: 500,
      })),
      approver: {
        waiting: Array.from({ length: 60 }, (_, i) => ({
          request: bigRequest(i),
          approve: true,
          deny: true,
          requiredApprovals: 2,
        })),
        channel: 'C0APPROVALS',
      },
      help: helpMessage([...subcommands]).blocks,
    });

    expect(slackPayloadProblems('views.publish', { user_id: 'U0MANY', view: { type: 'home', blocks } })).toEqual([]);
    const text = JSON.stringify(blocks);
    expect(text).toContain('more* (');
    expect(text).toContain('…and 50 more in <#C0APPROVALS>.');
    expect(text).toContain('…and 35 more accounts.');
    expect(text).toContain('/iam report'); // the help is never pushed out
  });

  it('shows the access reviews waiting for the viewer’s answers and points at the review DM', () => {
    const blocks = homeView({
      viewer: 'U0OWNER',
      owned: { users: [], more: false },
      now,
      keys,
      rotations: [],
      reviews: [
        { account: 'home', round: '2026-11-20', memberships: 3, deletions: 0 },
        { account: 'staging', round: '2026-11-21', memberships: 1, deletions: 2 },
      ],
      help: [],
    });

    const text = JSON.stringify(blocks);
    expect(text).toContain('Access review of 2026-11-20: 3 memberships to answer');
    expect(text).toContain(
      'Access review of 2026-11-21 in *staging*: 1 membership and 2 idle users (Delete offered) to answer',
    );
    expect(text).toContain('in the review DM I sent you');
  });

  it('says so when the requests waiting could not be read, and points at the approval channel', () => {
    const blocks = homeView({
      viewer: 'U0APPROVER1',
      owned: { users: [], more: false },
      now,
      keys,
      rotations: [],
      approver: { waiting: [], channel: 'C0APPROVALS', unreadable: true },
      help: [],
    });

    expect(JSON.stringify(blocks)).toContain(
      'I could not read the requests waiting for you just now; they are in <#C0APPROVALS>.',
    );
  });

  it("gives each active key's buttons the key's account, user and id as JSON", () => {
    expect(JSON.parse(keyButtonValue('home', 'build-bot', 'AKIAEXAMPLE'))).toEqual({
      a: 'home',
      u: 'build-bot',
      k: 'AKIAEXAMPLE',
    });
  });
});

describe('the compliance report', () => {
  it('fits Slack with 100 accounts of 300 keys each', () => {
    const accounts = Array.from({ length: 100 }, (_, a) => {
      const name = pad(`acct-${a}-`, 32, 'a');
      const users = Array.from({ length: 150 }, (_, i) => ({
        ...bigUser(i, name),
        ...(i % 3 ? {} : { owner: undefined }),
      }));
      return accountReport(name, users.length, reportKeys(users as ProjectedUser[], now, keys));
    });

    const message = reportMessage({ accounts, now, keys, fileName: 'iam-keys-2026-11-23.csv' });

    expect(slackPayloadProblems('chat.postMessage', { channel: 'U0APPROVER1', ...message })).toEqual([]);
    expect(JSON.stringify(message.blocks)).toContain(pad('acct-99-', 32, 'a'));
  });

  it('lists at most ten keys of each kind for one account, and points at the CSV for the rest', () => {
    const users = Array.from({ length: 30 }, (_, i) => bigUser(i + 100)); // 100+ days: overdue
    const message = reportMessage({
      accounts: [accountReport('home', users.length, reportKeys(users, now, keys))],
      now,
      keys,
      fileName: 'x.csv',
    });
    const text = JSON.stringify(message.blocks);

    expect(text).toContain('Overdue (60):');
    expect(text).toContain('…and 50 more: see the CSV.');
  });
});

describe('the report CSV', () => {
  it('escapes a user name a spreadsheet would run as a formula, and quotes what needs quoting', () => {
    const users = [
      { ...bigUser(1), userName: '=1+2@evil', owner: 'U0OWNER' },
      { ...bigUser(2), userName: 'a,b"c', owner: undefined },
    ] as ProjectedUser[];

    const rows = parse(reportCsv(reportKeys(users, now, keys)), { columns: true }) as Record<string, string>[];

    expect(rows.map((r) => r.user).sort()).toEqual(["'=1+2@evil", "'=1+2@evil", 'a,b"c', 'a,b"c']);
    expect(rows.every((r) => /^AKIA…\d{4}$/.test(r.key ?? ''))).toBe(true);
  });
});
