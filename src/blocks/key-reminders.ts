/**
 * What the daily key-age scan says: the owner's reminder DM (one per owner per run, every due key with "Rotate now"
 * and "Snooze"), the escalation post and the list of unowned keys in the approval channel. Pure functions.
 */
import { mfaConsoleUrl } from '../services/credential-types.js';
import { KEY_ROTATE_NOW, KEY_SNOOZE } from './ids.js';
import { context, esc, sections, slackDate, user } from './text.js';
import { maskKeyId } from './users.js';

/** What a due key's line says: the ladder steps it is at in this run. */
export type DueNote = 'reminder' | 'overdue' | 'idle' | 'deactivated';

/** One due access key, as a DM or post shows it. */
export interface DueKey {
  account: string;
  userName: string;
  keyId: string;
  ageDays: number;
  lastUsedAt?: string;
  lastUsedService?: string;
  notes: DueNote[];
}

/** The value of the "Rotate now" and "Snooze" buttons (the App Home renders the same): which key, nothing more. */
export const keyButtonValue = (k: Pick<DueKey, 'account' | 'userName' | 'keyId'>) =>
  JSON.stringify({ a: k.account, u: k.userName, k: k.keyId });

/** Keys shown with their own buttons in one DM (2 blocks each, within Slack's 50 blocks); the rest are listed. */
export const KEYS_WITH_BUTTONS = 20;

const days = (n: number) => `${n} day${n === 1 ? '' : 's'}`;

function lastUse(k: Pick<DueKey, 'lastUsedAt' | 'lastUsedService'>): string {
  if (!k.lastUsedAt) return 'never used';
  const service = k.lastUsedService ? ` (${esc(k.lastUsedService)})` : '';
  return `last used ${slackDate(new Date(k.lastUsedAt))}${service}`;
}

function noteText(note: DueNote, k: DueKey, maxAgeDays: number): string {
  switch (note) {
    case 'reminder':
      return `:warning: due for rotation in ${days(Math.max(0, maxAgeDays - k.ageDays))}`;
    case 'overdue':
      return `:rotating_light: overdue: older than ${days(maxAgeDays)}`;
    case 'idle':
      return k.lastUsedAt
        ? ':zzz: not used for a long time: consider deactivating it'
        : ':zzz: never used: consider deactivating it';
    case 'deactivated':
      return ':no_entry: deactivated automatically (past the policy’s limit)';
  }
}

function keyLine(k: DueKey, maxAgeDays: number): string {
  const notes = k.notes.map((n) => noteText(n, k, maxAgeDays)).join(' · ');
  return `*\`${esc(k.userName)}\`* in *${esc(k.account)}*, key \`${esc(maskKeyId(k.keyId))}\`: ${days(k.ageDays)} old, ${lastUse(k)}\n${notes}`;
}

/**
 * The owner's DM: every due key of theirs, each with "Rotate now" and "Snooze <n> days" (the first
 * KEYS_WITH_BUTTONS; any more are listed, to be handled from `/iam users` or the next DM).
 */
export function keyReminderMessage(input: { keys: readonly DueKey[]; maxAgeDays: number; snoozeDays: number }) {
  const { keys, maxAgeDays, snoozeDays } = input;
  const n = keys.length;
  const intro = `${n === 1 ? 'An access key' : `${n} access keys`} of IAM users you own ${n === 1 ? 'needs' : 'need'} your attention (policy: rotate every ${days(maxAgeDays)}).`;
  const blocks: unknown[] = [{ type: 'section', text: { type: 'mrkdwn', text: intro } }];
  keys.slice(0, KEYS_WITH_BUTTONS).forEach((k, i) => {
    blocks.push({ type: 'section', block_id: `key_${i}`, text: { type: 'mrkdwn', text: keyLine(k, maxAgeDays) } });
    blocks.push({
      type: 'actions',
      block_id: `key_actions_${i}`,
      elements: [
        {
          type: 'button',
          action_id: KEY_ROTATE_NOW,
          text: { type: 'plain_text', text: 'Rotate now' },
          style: 'primary',
          value: keyButtonValue(k),
        },
        {
          type: 'button',
          action_id: KEY_SNOOZE,
          text: { type: 'plain_text', text: `Snooze ${days(snoozeDays)}` },
          value: keyButtonValue(k),
        },
      ],
    });
  });
  const rest = keys.slice(KEYS_WITH_BUTTONS);
  if (rest.length) {
    const lines = rest.map((k) => `• ${keyLine(k, maxAgeDays).replace('\n', ' · ')}`);
    // at most 5 more sections whatever the count (Slack's 50 blocks): the lines beyond are counted
    const packed = sections(lines);
    blocks.push(...packed.slice(0, 5));
    if (packed.length > 5) blocks.push(context(`…and more: \`/iam users\` lists them all.`));
  }
  blocks.push(context('Rotate with `/iam rotate-key <user> <key-id>` too. Snoozing is limited by the policy.'));
  return { text: intro, blocks };
}

/** An escalated (or deactivated) key in the approval channel. */
export interface EscalatedKey extends DueKey {
  owner?: string;
  /** `escalate`: past the maximum by the escalation delay; `would-deactivate` (dry run) / `deactivated`. */
  what: 'escalate' | 'would-deactivate' | 'deactivated';
}

/** The approval channel's post of keys past the maximum age whose owners did not rotate them. */
export function keyEscalationMessage(input: { account: string; keys: readonly EscalatedKey[]; maxAgeDays: number }) {
  const { account, keys, maxAgeDays } = input;
  const what = {
    escalate: ':rotating_light: not rotated',
    'would-deactivate': ':test_tube: would be deactivated now (auto-deactivation is a dry run: nothing changed)',
    deactivated: ':no_entry: deactivated automatically; the owner was told',
  };
  const text = `Access keys in *${esc(account)}* older than ${days(maxAgeDays)} whose owners have not rotated them:`;
  const lines = keys.map(
    (k) =>
      `• ${k.owner ? user(k.owner) : 'no owner'}: *\`${esc(k.userName)}\`*, key \`${esc(maskKeyId(k.keyId))}\`, ${days(k.ageDays)} old, ${lastUse(k)}: ${what[k.what]}`,
  );
  const packed = sections([text, ...lines]);
  return { text, blocks: packed.length > 45 ? [...packed.slice(0, 45), context('…and more.')] : packed };
}

/** An unowned key (or one whose owner nobody can DM) due for attention. */
export interface UnownedKey extends DueKey {
  /** Set when the projection names an owner nobody can DM: see ownerState. */
  formerOwner?: string;
  /** `left`: Slack says the owner is deactivated; `unknown`: Slack does not know the id (user_not_found). */
  ownerState?: 'left' | 'unknown';
}

const ownerNote = (k: UnownedKey) =>
  !k.formerOwner
    ? 'no owner'
    : k.ownerState === 'unknown'
      ? `its owner tag ${user(k.formerOwner)} is an id Slack does not know (a mistyped tag, or another workspace's member)`
      : `its owner ${user(k.formerOwner)} left Slack`;

/** The approval channel's daily list of due keys nobody can be reminded of, with how to set an owner. */
export function unownedKeysMessage(input: { account: string; keys: readonly UnownedKey[] }) {
  const { account, keys } = input;
  const text = `${keys.length === 1 ? 'An access key' : `${keys.length} access keys`} in *${esc(account)}* ${keys.length === 1 ? 'is' : 'are'} due for rotation but nobody can be reminded:`;
  const lines = keys.map(
    (k) =>
      `• *\`${esc(k.userName)}\`*, key \`${esc(maskKeyId(k.keyId))}\`, ${days(k.ageDays)} old, ${lastUse(k)}: ${ownerNote(k)}`,
  );
  const packed = sections([text, ...lines]);
  return {
    text,
    blocks: [
      ...(packed.length > 45 ? [...packed.slice(0, 45), context('…and more.')] : packed),
      context('Give each an owner: `/iam set-owner <user> @someone --reason "..."`; its reminders then go to them.'),
    ],
  };
}

/** A console user without MFA due for a reminder (the daily scan's MFA ladder). */
export interface NoMfaDue {
  account: string;
  userName: string;
  /** Days since its console password was set. */
  days: number;
  /** `reminder`, or `overdue` (past the policy's `mfa.maxDays`). */
  note: 'reminder' | 'overdue';
  owner?: string;
}

/**
 * The owner's DM about console users of theirs without MFA (CIS 1.10, Security Hub IAM.5): each with its age and where
 * to add a device. At most 40 listed (Slack's 50 blocks), the rest counted.
 */
export function mfaReminderMessage(input: { users: readonly NoMfaDue[]; maxDays: number }) {
  const { users, maxDays } = input;
  const n = users.length;
  const intro = `${n === 1 ? 'An IAM user' : `${n} IAM users`} you own ${n === 1 ? 'has' : 'have'} a console password but no MFA device (policy: add one within ${days(maxDays)}).`;
  const lines = users.map(
    (u) =>
      `• *\`${esc(u.userName)}\`* in *${esc(u.account)}*: console password ${days(u.days)} old, ${u.note === 'overdue' ? ':rotating_light: overdue' : ':warning: no MFA yet'}. <${mfaConsoleUrl(u.userName)}|Add an MFA device> (signed in as that user or an administrator of *${esc(u.account)}*).`,
  );
  const packed = sections(lines);
  return {
    text: intro,
    blocks: [
      { type: 'section', text: { type: 'mrkdwn', text: intro } },
      ...packed.slice(0, 40),
      ...(packed.length > 40 ? [context('…and more: `/iam users` lists them all.')] : []),
      context(
        'A console user without MFA signs in with a password alone. No console needed? Ask an approver to remove the password.',
      ),
    ],
  };
}

/** The approval channel's post of console users still without MFA past the policy's limit and its escalation delay. */
export function mfaEscalationMessage(input: { account: string; users: readonly NoMfaDue[]; maxDays: number }) {
  const { account, users, maxDays } = input;
  const text = `Console users in *${esc(account)}* without MFA for more than ${days(maxDays)}:`;
  const lines = users.map(
    (u) =>
      `• ${u.owner ? user(u.owner) : 'no owner'}: *\`${esc(u.userName)}\`*, console password ${days(u.days)} old, no MFA device`,
  );
  const packed = sections([text, ...lines]);
  return { text, blocks: packed.length > 45 ? [...packed.slice(0, 45), context('…and more.')] : packed };
}
