import { stringify } from 'csv-stringify/sync';
import { reportMessage } from '../blocks/report.js';
import { maskKeyId } from '../blocks/users.js';
import type { Policy } from '../config.js';
import type { Deps } from '../deps.js';
import type { ProjectedUser } from '../store/users.js';
import { roundItemId } from './access-review.js';
import { type KeyAgeBand, keyAgeBand, keyAgeDays } from './key-age.js';
import type { AccountReport, NoMfaUser, ReportKey, ReviewState } from './report-types.js';

export type { AccountReport, NoMfaUser, ReportKey, ReviewState } from './report-types.js';

/** The console users without MFA among these, longest without first (a user whose MFA is not known yet is not listed). */
export function noMfaUsers(users: readonly ProjectedUser[], now: Date): NoMfaUser[] {
  return users
    .filter((u) => u.console && u.mfa === false)
    .map((u) => ({
      account: u.account,
      userName: u.userName,
      ...(u.owner ? { owner: u.owner } : {}),
      ...(u.consoleSince ? { consoleDays: Math.floor((now.getTime() - Date.parse(u.consoleSince)) / 86_400_000) } : {}),
    }))
    .sort(
      (a, b) =>
        a.account.localeCompare(b.account) ||
        (b.consoleDays ?? 0) - (a.consoleDays ?? 0) ||
        a.userName.localeCompare(b.userName),
    );
}

/** Every key of these users as report rows, worst first within each account (overdue, due soon, fine, inactive). */
export function reportKeys(users: readonly ProjectedUser[], now: Date, keys: Policy['keys']): ReportKey[] {
  const rank: Record<KeyAgeBand, number> = { overdue: 0, 'due-soon': 1, fine: 2, inactive: 3 };
  return users
    .flatMap((u) =>
      u.keys.map(
        (k): ReportKey => ({
          account: u.account,
          userName: u.userName,
          ...(u.owner ? { owner: u.owner } : {}),
          key: maskKeyId(k.id),
          status: k.status,
          ageDays: keyAgeDays(k, now),
          band: keyAgeBand(k, now, keys),
          ...(k.lastUsedAt ? { lastUsedAt: k.lastUsedAt } : {}),
          createdAt: k.createdAt,
        }),
      ),
    )
    .sort(
      (a, b) =>
        a.account.localeCompare(b.account) ||
        rank[a.band] - rank[b.band] ||
        b.ageDays - a.ageDays ||
        a.userName.localeCompare(b.userName),
    );
}

/** An account's summary from its report rows. */
export function accountReport(
  account: string,
  users: number,
  rows: readonly ReportKey[],
  noMfa: readonly NoMfaUser[] = [],
): AccountReport {
  const bands: Record<KeyAgeBand, number> = { fine: 0, 'due-soon': 0, overdue: 0, inactive: 0 };
  for (const r of rows) bands[r.band]++;
  return {
    account,
    users,
    keys: rows.length,
    bands,
    overdue: rows.filter((r) => r.band === 'overdue'),
    unowned: rows.filter((r) => !r.owner),
    neverUsed: rows.filter((r) => !r.lastUsedAt),
    noMfa: [...noMfa],
  };
}

export const CSV_COLUMNS = [
  'account',
  'user',
  'owner',
  'key',
  'status',
  'age_days',
  'band',
  'last_used',
  'created',
  'console',
  'mfa',
] as const;

/**
 * The report as CSV (RFC 4180, a header row), written by csv-stringify: one row per key, then one row per console user
 * without MFA who has no key (their key cells empty); every row says whether its user has a console password and MFA
 * (`yes`, `no`, or empty when not known), so a filter on `console=yes, mfa=no` lists every console user without MFA.
 * Key ids masked, cells that a spreadsheet would take for a formula escaped.
 */
export function reportCsv(rows: readonly ReportKey[], users: readonly ProjectedUser[] = []): string {
  const byUser = new Map(users.map((u) => [`${u.account}#${u.userName}`, u]));
  const yesNo = (v: boolean | undefined) => (v === undefined ? '' : v ? 'yes' : 'no');
  const access = (account: string, userName: string) => {
    const u = byUser.get(`${account}#${userName}`);
    return u ? [yesNo(u.console), u.console ? yesNo(u.mfa) : ''] : ['', ''];
  };
  const withKeys = new Set(rows.map((r) => `${r.account}#${r.userName}`));
  const keyless = users.filter((u) => u.console && u.mfa === false && !withKeys.has(`${u.account}#${u.userName}`));
  return stringify(
    [
      ...rows.map((r) => [
        r.account,
        r.userName,
        r.owner ?? '',
        r.key,
        r.status,
        r.ageDays,
        r.band,
        r.lastUsedAt ?? 'never',
        r.createdAt,
        ...access(r.account, r.userName),
      ]),
      ...keyless.map((u) => [u.account, u.userName, u.owner ?? '', '', '', '', '', '', '', 'yes', 'no']),
    ],
    // IAM user names may start with = + - @: escaped so a spreadsheet shows them instead of evaluating a formula.
    { header: true, columns: [...CSV_COLUMNS], escape_formulas: true },
  );
}

/** An account's latest access review round, as the report shows it (one read). */
async function reviewState(deps: Pick<Deps, 'store'>, account: string): Promise<ReviewState | undefined> {
  const item = await deps.store.reminders.review(roundItemId(account));
  if (!item?.round) return undefined;
  const { round, state = 'collecting', asked = 0, kept = 0, removed = 0, deleted = 0 } = item;
  return { round, state, asked, kept, removed, deleted };
}

/**
 * The compliance report (`/iam report`) of one account or of every account, for `requester`: keys by age band, overdue
 * keys with their owners, unowned keys, never-used keys, from the ownership projection only (one query per account,
 * no IAM call). DMs the summary, then uploads the same as a CSV file (one row per key, ids masked) to that DM. Sends
 * again if run again (a repeated delivery of its job is skipped by the worker's claim). A Slack failure is thrown.
 */
export async function sendComplianceReport(
  deps: Pick<Deps, 'store' | 'messenger' | 'clock' | 'config' | 'aws'>,
  requester: string,
  account?: string,
): Promise<{ accounts: AccountReport[]; csv: string }> {
  const now = deps.clock.now();
  const names = account ? [account] : deps.aws.names;
  const rows: ReportKey[] = [];
  const all: ProjectedUser[] = [];
  const accounts: AccountReport[] = [];
  for (const name of names) {
    const users = await deps.store.users.ofAccount(name);
    const mine = reportKeys(users, now, deps.config.policy.keys);
    rows.push(...mine);
    all.push(...users);
    const report = accountReport(name, users.length, mine, noMfaUsers(users, now));
    const review = await reviewState(deps, name);
    accounts.push(review ? { ...report, review } : report);
  }
  const csv = reportCsv(rows, all);
  const day = now.toISOString().slice(0, 10);
  const dm = await deps.messenger.post(
    requester,
    reportMessage({ accounts, now, keys: deps.config.policy.keys, fileName: `iam-keys-${day}.csv` }),
  );
  await deps.messenger.uploadFile(dm.channel, {
    fileName: `iam-keys-${day}.csv`,
    title: `IAM access keys, ${account ?? 'every account'}, ${day}`,
    content: csv,
  });
  return { accounts, csv };
}
