/**
 * The pure parts of the ownership projection: how a key's age stands against the policy, how IAM's credential report
 * is read, and that `/iam users` and `/iam user` stay within Slack's limits for the largest answers.
 */
import { describe, expect, it } from 'vitest';
import { maskKeyId, USERS_SHOWN, userMessage, usersMessage } from '../../src/blocks/users.js';
import { DAY } from '../../src/clock.js';
import { keyAgeBand, keyAgeDays } from '../../src/services/key-age.js';
import { ownerFromTags, parseCredentialReport } from '../../src/services/user-projection.js';
import type { AccessRequest } from '../../src/store/requests.js';
import type { ProjectedUser } from '../../src/store/users.js';
import { slackPayloadProblems } from '../support/slack-limits.js';

const KEYS = {
  remindAfterDays: 80,
  maxAgeDays: 90,
  rotationGraceDays: 7,
  rotationNeedsApproval: false,
  recoveryDays: 7,
  stillInUse: 'deactivate' as const,
  overdueRepeatDays: 7,
  escalateAfterDays: 7,
  autoDeactivate: { mode: 'off' as const, afterDays: 30 },
  idleDays: 90,
  snooze: { days: 7, maxDaysPerKey: 14 },
};
const NOW = new Date('2026-11-23T12:00:00Z');
const createdDaysAgo = (days: number) => new Date(NOW.getTime() - days * DAY).toISOString();

describe('key age against the policy', () => {
  it.each([
    [0, 'fine'],
    [79, 'fine'],
    [80, 'due-soon'],
    [89, 'due-soon'],
    [90, 'overdue'],
    [400, 'overdue'],
  ])('an active key %i days old is %s', (days, band) => {
    expect(keyAgeBand({ status: 'Active', createdAt: createdDaysAgo(days) }, NOW, KEYS)).toBe(band);
  });

  it('an inactive key is inactive whatever its age', () => {
    expect(keyAgeBand({ status: 'Inactive', createdAt: createdDaysAgo(200) }, NOW, KEYS)).toBe('inactive');
  });

  it('counts whole days and never a negative age (a key created after the clock)', () => {
    expect(keyAgeDays({ createdAt: createdDaysAgo(1.5) }, NOW)).toBe(1);
    expect(keyAgeDays({ createdAt: createdDaysAgo(-2) }, NOW)).toBe(0);
  });
});

describe('the owner tag', () => {
  it('is a Slack user id in `slack-user-id`; anything else is no owner', () => {
    expect(ownerFromTags([{ Key: 'slack-user-id', Value: 'U0ALICE' }])).toBe('U0ALICE');
    expect(ownerFromTags([{ Key: 'slack-user-id', Value: 'alice@example.com' }])).toBeUndefined();
    expect(ownerFromTags([{ Key: 'owner', Value: 'U0ALICE' }])).toBeUndefined();
    expect(ownerFromTags(undefined)).toBeUndefined();
  });
});

describe("IAM's credential report", () => {
  const header =
    'user,arn,user_creation_time,password_enabled,password_last_used,password_last_changed,password_next_rotation,mfa_active,access_key_1_active,access_key_1_last_rotated,access_key_1_last_used_date,access_key_1_last_used_region,access_key_1_last_used_service,access_key_2_active,access_key_2_last_rotated,access_key_2_last_used_date,access_key_2_last_used_region,access_key_2_last_used_service,cert_1_active,cert_1_last_rotated,cert_2_active,cert_2_last_rotated';

  it('gives console access and each key with its creation, status and last use', () => {
    const csv = [
      header,
      '<root_account>,arn:aws:iam::123456789012:root,2020-01-01T00:00:00+00:00,not_supported,2026-01-01T00:00:00+00:00,not_supported,not_supported,true,false,N/A,N/A,N/A,N/A,false,N/A,N/A,N/A,N/A,false,N/A,false,N/A',
      'ci,arn:aws:iam::123456789012:user/iam-slack-bot/ci,2026-01-01T00:00:00+00:00,false,N/A,N/A,N/A,false,true,2026-01-02T03:04:05+00:00,2026-11-20T10:00:00+00:00,eu-west-1,s3,false,2026-02-01T00:00:00+00:00,N/A,N/A,N/A,false,N/A,false,N/A',
      'web,arn:aws:iam::123456789012:user/iam-slack-bot/web,2026-01-01T00:00:00+00:00,true,no_information,2026-01-01T00:00:00+00:00,N/A,false,false,N/A,N/A,N/A,N/A,false,N/A,N/A,N/A,N/A,false,N/A,false,N/A',
    ].join('\n');

    const report = parseCredentialReport(csv, '2026-11-23T00:00:00.000Z');

    expect([...report.rows.keys()]).toEqual(['ci', 'web']);
    expect(report.rows.get('ci')).toEqual({
      console: false,
      mfa: false,
      keys: [
        {
          active: true,
          createdAt: '2026-01-02T03:04:05.000Z',
          lastUsedAt: '2026-11-20T10:00:00.000Z',
          lastUsedRegion: 'eu-west-1',
          lastUsedService: 's3',
        },
        { active: false, createdAt: '2026-02-01T00:00:00.000Z' },
      ],
    });
    // a console user: MFA (mfa_active) and when its password was set (password_last_changed)
    expect(report.rows.get('web')).toEqual({
      console: true,
      mfa: false,
      consoleSince: '2026-01-01T00:00:00.000Z',
      keys: [],
    });
  });

  it('reads a row whose user name holds commas (IAM allows them; the report does not quote)', () => {
    const row =
      'a,b,arn:aws:iam::123456789012:user/iam-slack-bot/a,b,2026-01-01T00:00:00+00:00,true,N/A,N/A,N/A,false,false,N/A,N/A,N/A,N/A,false,N/A,N/A,N/A,N/A,false,N/A,false,N/A';

    const report = parseCredentialReport(`${header}\n${row}`, '2026-11-23T00:00:00.000Z');

    expect(report.rows.get('a,b')).toEqual({
      console: true,
      mfa: false,
      consoleSince: '2026-01-01T00:00:00.000Z',
      keys: [],
    });
  });
});

describe('the answers within Slack limits', () => {
  const respond = (message: { text: string; blocks?: unknown[] }) =>
    slackPayloadProblems('response_url', { response_type: 'ephemeral', ...message });
  const longName = (i: number) => `${i}-${'u'.repeat(64)}`.slice(0, 64);
  const bigUser = (i: number): ProjectedUser => ({
    account: 'a'.repeat(32),
    userName: longName(i),
    path: `/${'p'.repeat(510)}/`,
    owner: 'U0ALICE',
    groups: Array.from({ length: 10 }, (_, g) => `${g}-${'g'.repeat(128)}`.slice(0, 128)),
    console: true,
    keys: [
      {
        id: `AKIA${String(i).padStart(16, '0')}`,
        status: 'Active',
        createdAt: createdDaysAgo(95),
        lastUsedAt: createdDaysAgo(1),
        lastUsedService: 's'.repeat(64),
        lastUsedRegion: 'ap-southeast-4',
      },
      { id: `AKIB${String(i).padStart(16, '0')}`, status: 'Inactive', createdAt: createdDaysAgo(10) },
    ],
    keysObservedAt: NOW.toISOString(),
    refreshedAt: NOW.toISOString(),
    requestIds: [],
  });

  it('`/iam users` of someone who owns thousands: the first ones in full, the rest counted', () => {
    const users = Array.from({ length: 3000 }, (_, i) => bigUser(i));

    const message = usersMessage({ owner: 'U0ALICE', users, more: true, now: NOW, keys: KEYS });
    const text = JSON.stringify(message);

    expect(respond(message)).toEqual([]);
    expect(text).toContain(`${3000 - USERS_SHOWN}+ more`);
    expect(text).toContain('3000+ IAM users');
  });

  it('`/iam user` with a hundred requests lists the ten newest', () => {
    const request = (i: number) =>
      ({
        id: `req-${i}`,
        status: 'done',
        requester: 'U0REQUESTER',
        approvals: Array.from({ length: 5 }, (_, a) => ({ user: `U0APPROVER${a}`, at: NOW.toISOString() })),
        createdAt: createdDaysAgo(i),
      }) as unknown as AccessRequest;

    const message = userMessage({
      user: bigUser(1),
      requests: Array.from({ length: 100 }, (_, i) => request(i)),
      now: NOW,
      keys: KEYS,
    });

    expect(respond(message)).toEqual([]);
    expect(JSON.stringify(message)).toContain('…and 90 older.');
  });

  it('masks a key id to its first and last four characters', () => {
    expect(maskKeyId('AKIAIOSFODNN7EXAMPLE')).toBe('AKIA…MPLE');
  });
});
