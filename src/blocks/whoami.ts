import type { AccountStatus, PasswordChange } from '../services/accounts.js';
import type { ApproverStandings } from '../services/approver-standing.js';
import { context, esc, sections, splitText } from './text.js';

/** What a console password that must be changed at first sign-in does in an account, by its password policy. */
export function passwordChangeLine(passwordChange: PasswordChange): string {
  if (passwordChange === 'allowed')
    return 'Console passwords: new users can change theirs at first sign-in (the password policy allows it).';
  const lockedOut =
    'new console users cannot change their password at first sign-in and are locked out, unless one of their groups grants `iam:ChangePassword`';
  if (passwordChange === 'not-allowed')
    return `:warning: Console passwords: the password policy does not let users change their password, so ${lockedOut}.`;
  if (passwordChange === 'no-policy')
    return `:warning: Console passwords: the account has no password policy, so ${lockedOut}. Allow users to change their own password in the account's password policy.`;
  return `:grey_question: Console passwords: I could not read the password policy (${esc(passwordChange.unknown)}).`;
}

/** Longest problem shown for an account: a diagnosis (an AWS error), never part of a request. */
const PROBLEM_MAX = 240;
const problem = (text: string) => {
  const escaped = esc(text);
  return escaped.length <= PROBLEM_MAX ? escaped : `${splitText(escaped, PROBLEM_MAX - 1)[0]}…`;
};

/**
 * `/iam whoami`: the account the bot acts in, and every named account with whether its role works and whether
 * console users there can change their password. One entry per account, packed into as many sections as Slack's
 * limits need: any number of accounts the policy allows fits in one message.
 */
export function whoamiMessage(accounts: AccountStatus[], approvers?: ApproverStandings) {
  const entry = (a: AccountStatus) => {
    if (!a.ok)
      return `:x: *${esc(a.name)}*${a.roleArn ? ` via \`${esc(a.roleArn)}\`` : ''}: ${problem(a.problem ?? 'unavailable')}`;
    const alias = a.alias ? ` (${esc(a.alias)})` : '';
    const password = a.passwordChange ? `\n      ${passwordChangeLine(a.passwordChange)}` : '';
    return `:white_check_mark: *${esc(a.name)}*: account \`${a.account}\`${alias}, acting as \`${esc(a.arn ?? '')}\`${password}`;
  };
  const home = accounts.find((a) => a.name === 'home');
  return {
    text: home?.ok ? `I act in account ${home.account} as ${home.arn}` : 'I cannot reach AWS',
    blocks: [
      ...sections(accounts.map(entry)),
      context('Named accounts come from the access policy (accounts).'),
      ...(approvers ? approverStandingBlocks(approvers) : []),
    ],
  };
}

const STANDING_WORDS: Record<ApproverStandings['cannot'][number]['standing'], string> = {
  'single-channel-guest': 'is a single-channel guest',
  'multi-channel-guest': 'is a multi-channel guest',
  external: 'is a member of another organisation (shared channel)',
  bot: 'is a bot',
  deactivated: 'has left (deactivated)',
  'not-found': 'is unknown to Slack',
};

/**
 * For an approver asking `/iam whoami`: the approvers policy.yml lists who cannot approve (their clicks are refused
 * whatever the policy says), each with why and where they are listed; or that every one of them can.
 */
export function approverStandingBlocks(s: ApproverStandings) {
  const lines = s.cannot.map(
    (c) => `:no_entry: <@${c.user}> ${STANDING_WORDS[c.standing]}: listed as ${c.listedAs.join(', ')}`,
  );
  if (s.unchecked.length)
    lines.push(
      `:grey_question: Not checked (Slack did not answer, or too many to ask at once): ${s.unchecked.map((u) => `<@${u}>`).join(', ')}`,
    );
  const head = s.cannot.length
    ? `*${s.cannot.length} listed approver${s.cannot.length === 1 ? '' : 's'} cannot approve*: only full members of this workspace can, whatever the policy lists. Mend policy.yml.`
    : `*Approvers:* every listed approver I checked (${s.fullMembers}) is a full member of this workspace and can approve.`;
  return sections([head, ...lines]);
}
