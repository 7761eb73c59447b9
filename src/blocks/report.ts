import type { Policy } from '../config.js';
import type { AccountReport, NoMfaUser, ReportKey } from '../services/report-types.js';
import { context, esc, sections, slackDate, user } from './text.js';

/** Slack's limit on a message's blocks. */
const MESSAGE_BLOCKS_MAX = 50;

const keyRef = (k: ReportKey) => `\`${esc(k.userName)}\` \`${esc(k.key)}\``;
const owner = (k: { owner?: string }) => (k.owner ? user(k.owner) : 'no owner');
const noMfaLine = (u: NoMfaUser) =>
  `\`${esc(u.userName)}\`${u.consoleDays === undefined ? '' : ` console password ${u.consoleDays} d old`}, owner ${owner(u)}`;

function listed<T>(title: string, keys: readonly T[], line: (k: T) => string, max: number): string[] {
  if (!keys.length) return [];
  const rest = keys.length - max;
  return [
    `${title} (${keys.length}):`,
    ...keys.slice(0, max).map((k) => `      • ${line(k)}`),
    ...(rest > 0 ? [`      …and ${rest} more: see the CSV.`] : []),
  ];
}

function headline(a: AccountReport): string {
  const b = a.bands;
  return `*${esc(a.account)}*: ${a.users} IAM user${a.users === 1 ? '' : 's'}, ${a.keys} access key${a.keys === 1 ? '' : 's'}: ${b.overdue} overdue, ${b['due-soon']} due soon, ${b.fine} fine, ${b.inactive} inactive · ${a.unowned.length} unowned · ${a.neverUsed.length} never used · ${a.noMfa.length} console user${a.noMfa.length === 1 ? '' : 's'} without MFA`;
}

/** The account's access review: reviewed (asked in the owners' DMs), kept, removed, deleted, unanswered. */
function reviewLine(a: AccountReport): string[] {
  const r = a.review;
  if (!r) return [];
  if (r.state !== 'sent') return [`Access review of ${esc(r.round)}: collecting what IAM says was used.`];
  const unanswered = Math.max(0, r.asked - r.kept - r.removed - r.deleted);
  return [
    `Access review of ${esc(r.round)}: ${r.asked} reviewed · ${r.kept} kept · ${r.removed} removed · ${r.deleted} deleted · ${unanswered} unanswered`,
  ];
}

function accountLines(a: AccountReport, max: number): string[] {
  return [
    headline(a),
    ...reviewLine(a),
    ...listed('Overdue', a.overdue, (k) => `${keyRef(k)} ${k.ageDays} d old, owner ${owner(k)}`, max),
    ...listed('Unowned', a.unowned, (k) => `${keyRef(k)} ${k.status.toLowerCase()}, ${k.ageDays} d old`, max),
    ...listed('Never used', a.neverUsed, (k) => `${keyRef(k)} ${k.status.toLowerCase()}, owner ${owner(k)}`, max),
    ...listed('Console users without MFA (CIS 1.10)', a.noMfa, noMfaLine, max),
  ];
}

/**
 * `/iam report`: per account, keys by age band against the policy (fine, due soon, overdue, inactive), then the
 * overdue keys with their owners, the unowned and the never-used keys, each list cut short with a pointer to the CSV.
 * Within Slack's 50 blocks for any number of accounts and keys: lists shrink, then only the headlines remain.
 */
export function reportMessage(input: {
  accounts: readonly AccountReport[];
  now: Date;
  keys: Policy['keys'];
  fileName: string;
}) {
  const { accounts, now, keys, fileName } = input;
  const title = `:bar_chart: *IAM access keys* as of ${slackDate(now)}: due soon from ${keys.remindAfterDays} days, overdue from ${keys.maxAgeDays}.`;
  const foot = context(
    `From the bot's record of IAM (users under the managed paths, refreshed every 15 minutes). Every key, one row each, in ${esc(fileName)} below.`,
  );
  for (const max of [10, 3, 0]) {
    const body = sections([title, ...accounts.flatMap((a) => [...accountLines(a, max), ''])]);
    if (body.length < MESSAGE_BLOCKS_MAX) return { text: 'IAM access keys report', blocks: [...body, foot] };
  }
  // Past even that many accounts (the policy allows 99): one line each, as many as fit.
  const body = sections([title, ...accounts.map(headline)]).slice(0, MESSAGE_BLOCKS_MAX - 1);
  return { text: 'IAM access keys report', blocks: [...body, foot] };
}
