import type { Policy } from '../config.js';
import { kindNameOf } from '../kinds/facts.js';
import { type KeyAgeBand, keyAgeBand, keyAgeDays } from '../services/key-age.js';
import type { AccessRequest } from '../store/requests.js';
import type { ProjectedKey, ProjectedUser } from '../store/users.js';
import { context, esc, sections, slackDate, user } from './text.js';

/** Users shown in full in `/iam users`; the rest are counted (their keys' state included). */
export const USERS_SHOWN = 25;
/** Requests listed in `/iam user`. */
export const REQUESTS_SHOWN = 10;

/** An access key id with its middle hidden: `AKIA…WXYZ` (an id, not a secret, but no need to show it whole). */
export const maskKeyId = (id: string) => (id.length > 8 ? `${id.slice(0, 4)}…${id.slice(-4)}` : '…');

const BAND_TEXT: Record<KeyAgeBand, string> = {
  fine: ':white_check_mark: fine',
  'due-soon': ':warning: due soon for rotation',
  overdue: ':rotating_light: overdue for rotation',
  inactive: ':zzz: inactive',
};
const BAND_RANK: Record<KeyAgeBand | 'none', number> = { overdue: 0, 'due-soon': 1, fine: 2, inactive: 3, none: 3 };

/** A user's worst key state (overdue before due soon before fine; `none`: no key). */
export function worstBand(u: ProjectedUser, now: Date, keys: Policy['keys']): KeyAgeBand | 'none' {
  let worst: KeyAgeBand | 'none' = 'none';
  for (const k of u.keys) {
    const band = keyAgeBand(k, now, keys);
    if (BAND_RANK[band] < BAND_RANK[worst]) worst = band;
  }
  return worst;
}

function keyLine(k: ProjectedKey, now: Date, keys: Policy['keys']): string {
  const days = keyAgeDays(k, now);
  const used = k.lastUsedAt
    ? `last used ${slackDate(new Date(k.lastUsedAt))}${
        k.lastUsedService || k.lastUsedRegion
          ? ` (${[k.lastUsedService, k.lastUsedRegion]
              .filter((v): v is string => Boolean(v))
              .map(esc)
              .join(', ')})`
          : ''
      }`
    : 'never used';
  return `      • \`${esc(maskKeyId(k.id))}\` ${k.status.toLowerCase()}, ${days} day${days === 1 ? '' : 's'} old: ${BAND_TEXT[keyAgeBand(k, now, keys)]} · ${used}`;
}

/**
 * A user's console access in a line: `console: no`, `console: yes, MFA` or `console: yes, :warning: no MFA` (CIS 1.10,
 * Security Hub IAM.5 ask MFA of every console user); `MFA unknown` until the bot has read it.
 */
export function consoleText(u: Pick<ProjectedUser, 'console' | 'mfa'>): string {
  if (!u.console) return 'console: no';
  if (u.mfa === undefined) return 'console: yes, MFA unknown';
  return u.mfa ? 'console: yes, MFA' : 'console: yes, :warning: no MFA';
}

function userLines(u: ProjectedUser, now: Date, keys: Policy['keys']): string[] {
  const groups = u.groups.length ? u.groups.map((g) => `\`${esc(g)}\``).join(', ') : 'no group';
  return [
    `*\`${esc(u.userName)}\`* in *${esc(u.account)}* · ${groups} · ${consoleText(u)}`,
    ...(u.keys.length ? u.keys.map((k) => keyLine(k, now, keys)) : ['      • no access key']),
  ];
}

export const sortUsers = (users: readonly ProjectedUser[], now: Date, keys: Policy['keys']) =>
  [...users].sort(
    (a, b) =>
      BAND_RANK[worstBand(a, now, keys)] - BAND_RANK[worstBand(b, now, keys)] ||
      a.account.localeCompare(b.account) ||
      a.userName.localeCompare(b.userName),
  );

const FOOTER =
  "From the bot's record of IAM (users under the managed paths), refreshed every 15 minutes and after every change the bot makes.";

/**
 * `/iam users`: the IAM users someone owns (or nobody, `owner` undefined), each with groups, console access and its
 * keys (id masked, status, age against the policy's `keys`, last use); those with keys to rotate first. At most
 * USERS_SHOWN in full, the rest counted: any number fits Slack's limits.
 */
export function usersMessage(input: {
  owner: string | undefined;
  users: readonly ProjectedUser[];
  more: boolean;
  now: Date;
  keys: Policy['keys'];
}) {
  const { owner, now, keys } = input;
  const whose = owner ? user(owner) : 'Nobody';
  if (!input.users.length) {
    const text = owner
      ? `${whose} owns no IAM user I manage.`
      : 'Every IAM user I manage has an owner (a `slack-user-id` tag).';
    return { text, blocks: [...sections([text]), context(FOOTER)] };
  }
  const sorted = sortUsers(input.users, now, keys);
  const bands = sorted.flatMap((u) => u.keys.map((k) => keyAgeBand(k, now, keys)));
  const overdue = bands.filter((b) => b === 'overdue').length;
  const dueSoon = bands.filter((b) => b === 'due-soon').length;
  const count = `${sorted.length}${input.more ? '+' : ''} IAM user${sorted.length === 1 ? '' : 's'}`;
  const headline = `${owner ? `${whose} owns` : 'No owner (no `slack-user-id` tag):'} *${count}*${
    overdue || dueSoon ? ` (keys: ${overdue} overdue, ${dueSoon} due soon)` : ''
  }`;
  const shown = sorted.slice(0, USERS_SHOWN);
  const rest = sorted.slice(USERS_SHOWN);
  const restLine = rest.length
    ? [
        `…and ${rest.length}${input.more ? '+' : ''} more: ${rest
          .slice(0, 40)
          .map((u) => `\`${esc(u.userName)}\``)
          .join(', ')}${rest.length > 40 ? ', …' : ''}. \`/iam user <name>\` shows one.`,
      ]
    : [];
  return {
    text: `${owner ? `${owner} owns` : 'Unowned:'} ${count}`,
    blocks: [...sections([headline, ...shown.flatMap((u) => userLines(u, now, keys)), ...restLine]), context(FOOTER)],
  };
}

function requestLine(r: AccessRequest): string {
  const kind = kindNameOf(r);
  const approvers = r.approvals.length ? `, approved by ${r.approvals.map((a) => user(a.user)).join(', ')}` : '';
  return `• \`${esc(r.id)}\` ${esc(kind)}, ${esc(r.status)}: asked by ${user(r.requester)}${approvers}, ${slackDate(new Date(r.createdAt))}`;
}

/** Where the newest key rotation of the user stands, from its request (no read of its own). */
export function rotationLine(requests: readonly AccessRequest[]): string | undefined {
  const r = [...requests].sort((a, b) => b.createdAt.localeCompare(a.createdAt)).find((q) => q.rotation);
  const rot = r?.rotation;
  if (!r || !rot) return undefined;
  const old = `\`${maskKeyId(rot.oldKeyId)}\``;
  const fresh = rot.newKeyId ? `\`${maskKeyId(rot.newKeyId)}\`` : 'the new key';
  const when = (iso?: string) => (iso ? slackDate(new Date(iso)) : 'soon');
  const state: Record<string, string> = {
    grace: `${fresh} delivered; old key ${old} stays active until ${when(rot.graceEndsAt)}`,
    'still-in-use': `old key ${old} was used after ${fresh} was delivered; it stays active until ${when(rot.graceEndsAt)}`,
    reactivated: `old key ${old} reactivated; deactivated again ${when(rot.graceEndsAt)}`,
    deactivated: `old key ${old} inactive; deleted ${when(rot.deleteAt)} (Reactivate works until then)`,
    deleted: `done: old key ${old} deleted, ${fresh} in use`,
    cancelled: `cancelled: ${fresh} was never opened and is deleted; old key ${old} untouched`,
    escalated: `old key ${old} still in use after the grace period: asked the approvers`,
    deactivating: `deactivating old key ${old}`,
    reactivating: `reactivating old key ${old}`,
    deleting: `deleting old key ${old}`,
    cancelling: `cancelling: ${fresh} was never opened`,
  };
  const phase = rot.phase ?? (r.status === 'done' ? 'grace' : r.status);
  return `Key rotation \`${esc(r.id)}\`: ${state[phase] ?? `${esc(phase)} (old key ${old})`}.`;
}

/** `/iam user <name>`: one user in detail, with its owner and the requests of the bot that changed it. */
export function userMessage(input: {
  user: ProjectedUser;
  requests: readonly AccessRequest[];
  now: Date;
  keys: Policy['keys'];
}) {
  const { user: u, now, keys } = input;
  const owner = u.owner ? user(u.owner) : 'nobody (no `slack-user-id` tag): unowned';
  const requests = input.requests.slice(0, REQUESTS_SHOWN).map(requestLine);
  const lines = [
    `*\`${esc(u.userName)}\`* in *${esc(u.account)}*, path \`${esc(u.path)}\``,
    `Owner: ${owner}`,
    `Groups: ${u.groups.length ? u.groups.map((g) => `\`${esc(g)}\``).join(', ') : 'none'}`,
    `Console access: ${
      !u.console
        ? 'no'
        : u.mfa === undefined
          ? 'yes (a password); MFA not known yet'
          : u.mfa
            ? 'yes (a password), with MFA'
            : `yes (a password), :warning: *no MFA*${u.consoleSince ? ` for ${Math.floor((now.getTime() - Date.parse(u.consoleSince)) / 86_400_000)} days` : ''}: the owner should add an MFA device`
    }`,
    u.keys.length ? 'Access keys:' : 'Access keys: none',
    ...u.keys.map((k) => keyLine(k, now, keys)),
    ...(rotationLine(input.requests) ? [rotationLine(input.requests) as string] : []),
    requests.length ? 'Requests that changed it:' : 'No request of mine changed it.',
    ...requests,
    ...(input.requests.length > REQUESTS_SHOWN ? [`…and ${input.requests.length - REQUESTS_SHOWN} older.`] : []),
  ];
  return {
    text: `IAM user ${u.userName} in ${u.account}: owner ${u.owner ?? 'none'}`,
    blocks: [...sections(lines), context(`${FOOTER} This user: ${slackDate(new Date(u.refreshedAt))}.`)],
  };
}
