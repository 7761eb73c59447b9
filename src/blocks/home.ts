import type { Policy } from '../config.js';
import { kindNameOf } from '../kinds/facts.js';
import { type KeyAgeBand, keyAgeBand, keyAgeDays } from '../services/key-age.js';
import type { AccessRequest } from '../store/requests.js';
import type { ProjectedKey, ProjectedUser } from '../store/users.js';
import { KEY_ROTATE_NOW, KEY_SNOOZE, REQUEST_APPROVE, REQUEST_DENY } from './ids.js';
import { context, divider, esc, section, sections, slackDate, user } from './text.js';
import { consoleText, maskKeyId, sortUsers, worstBand } from './users.js';

/** IAM users the App Home shows in full (fewer when their keys need more than HOME_USERS_BLOCKS); the rest are counted by their keys' state. */
export const HOME_USERS_SHOWN = 20;
/** Blocks the viewer's users may take (a section, and an actions block per active key, for each user shown). */
const HOME_USERS_BLOCKS = 50;
/** Requests waiting for the viewer that the App Home shows with their buttons (two blocks each). */
export const HOME_REQUESTS_SHOWN = 10;
/** Slack's limit on the blocks of a view. */
export const VIEW_BLOCKS_MAX = 100;
/** Characters of a request's justification the App Home quotes. */
const JUSTIFICATION_SHOWN = 300;
const BAR_WIDTH = 10;

/** A request waiting for the viewer, with what the viewer may do with it (the click is authorized again). */
export interface WaitingRequest {
  request: AccessRequest;
  approve: boolean;
  deny: boolean;
  requiredApprovals: number;
}

/** An access review waiting for the viewer's answers in one account (services/access-review.ts reviewsToAnswer). */
export interface HomeReview {
  account: string;
  round: string;
  memberships: number;
  deletions: number;
}

/** Accounts whose access review the App Home names (one line each); the rest are counted. */
export const HOME_REVIEWS_SHOWN = 5;

export interface HomeInput {
  viewer: string;
  /** The viewer's IAM users; undefined when they could not be read. */
  owned: { users: readonly ProjectedUser[]; more: boolean } | undefined;
  now: Date;
  keys: Policy['keys'];
  /** Lines on the key rotations under way. */
  rotations: readonly string[];
  /** The access reviews waiting for the viewer's answers (Keep / Remove / Delete are in the review DM). */
  reviews?: readonly HomeReview[];
  /** The kinds' sections (RequestKindModule.home), in the registry's order: shown after the rotations. */
  kindSections?: readonly unknown[];
  /** Present for approvers: the requests they may decide now. */
  approver?: { waiting: readonly WaitingRequest[]; channel: string; unreadable?: boolean };
  /** How to use the bot (the help's blocks). */
  help: readonly unknown[];
}

/** The value of a key's Rotate now / Snooze buttons: which key, nothing else (the handler re-reads the rest). */
export const keyButtonValue = (account: string, userName: string, keyId: string) =>
  JSON.stringify({ a: account, u: userName, k: keyId });

/** A key's age as a text bar against the policy's maximum: `▓▓▓▓▓▓▓▓░░ 75/90 d` (full from the maximum on). */
export function ageBar(days: number, maxDays: number): string {
  const filled = Math.min(BAR_WIDTH, Math.max(0, Math.round((days / Math.max(1, maxDays)) * BAR_WIDTH)));
  return `${'▓'.repeat(filled)}${'░'.repeat(BAR_WIDTH - filled)} ${days}/${maxDays} d`;
}

const BAND_MARK: Record<KeyAgeBand, string> = {
  fine: ':white_check_mark: fine',
  'due-soon': ':warning: due soon',
  overdue: ':rotating_light: overdue',
  inactive: ':zzz: inactive',
};

function keyLine(k: ProjectedKey, now: Date, keys: Policy['keys']): string {
  const used = k.lastUsedAt
    ? `last used ${slackDate(new Date(k.lastUsedAt))}${k.lastUsedService ? ` (${esc(k.lastUsedService)})` : ''}`
    : 'never used';
  return `      • \`${esc(maskKeyId(k.id))}\` ${k.status.toLowerCase()} \`${ageBar(keyAgeDays(k, now), keys.maxAgeDays)}\` ${BAND_MARK[keyAgeBand(k, now, keys)]} · ${used}`;
}

function button(text: string, actionId: string, value: string, style?: 'primary' | 'danger') {
  return {
    type: 'button',
    text: { type: 'plain_text', text },
    action_id: actionId,
    value,
    ...(style ? { style } : {}),
  };
}

/** One owned user: a section, and an actions block with Rotate now / Snooze 7 days for each active key. */
function userBlocks(u: ProjectedUser, index: number, now: Date, keys: Policy['keys']): unknown[] {
  const groups = u.groups.length ? u.groups.map((g) => `\`${esc(g)}\``).join(', ') : 'no group';
  const lines = [
    `*\`${esc(u.userName)}\`* in *${esc(u.account)}* · ${groups} · ${consoleText(u)}`,
    ...(u.keys.length ? u.keys.map((k) => keyLine(k, now, keys)) : ['      • no access key']),
  ];
  const active = u.keys.filter((k) => k.status === 'Active');
  const label = (text: string, k: ProjectedKey) => (active.length > 1 ? `${text} (${maskKeyId(k.id)})` : text);
  // One actions block per key: Slack wants action ids unique within a block.
  return [
    ...sections(lines),
    ...active.map((k, j) => ({
      type: 'actions',
      block_id: `home_key_${index}_${j}`,
      elements: [
        button(label('Rotate now', k), KEY_ROTATE_NOW, keyButtonValue(u.account, u.userName, k.id), 'primary'),
        button(label('Snooze 7 days', k), KEY_SNOOZE, keyButtonValue(u.account, u.userName, k.id)),
      ],
    })),
  ];
}

const BAND_COUNT: Record<KeyAgeBand | 'none', string> = {
  overdue: 'with overdue keys',
  'due-soon': 'with keys due soon',
  fine: 'fine',
  inactive: 'with no active key',
  none: 'with no active key',
};

function ownedBlocks(input: HomeInput): unknown[] {
  const { owned, now, keys } = input;
  if (!owned) return sections(['I could not read your IAM users just now; `/iam users` shows them.']);
  if (!owned.users.length) return sections(['You own no IAM user I manage.']);
  const sorted = sortUsers(owned.users, now, keys);
  const bands = sorted.flatMap((u) => u.keys.map((k) => keyAgeBand(k, now, keys)));
  const overdue = bands.filter((b) => b === 'overdue').length;
  const dueSoon = bands.filter((b) => b === 'due-soon').length;
  const count = `${sorted.length}${owned.more ? '+' : ''} IAM user${sorted.length === 1 ? '' : 's'}`;
  const headline = `You own *${count}*${overdue || dueSoon ? ` (keys: ${overdue} overdue, ${dueSoon} due soon)` : ''}. Keys are rotated every ${keys.maxAgeDays} days at most.`;
  const blocks: unknown[] = [...sections([headline])];
  let shown = 0;
  for (const u of sorted.slice(0, HOME_USERS_SHOWN)) {
    const more = userBlocks(u, shown, now, keys);
    if (blocks.length + more.length > HOME_USERS_BLOCKS) break;
    blocks.push(...more);
    shown++;
  }
  const rest = sorted.slice(shown);
  if (rest.length) {
    const counts = new Map<string, number>();
    for (const u of rest) {
      const what = BAND_COUNT[worstBand(u, now, keys)];
      counts.set(what, (counts.get(what) ?? 0) + 1);
    }
    const byBand = [...counts].map(([what, n]) => `${n} ${what}`).join(', ');
    blocks.push(
      ...sections([`…and *${rest.length}${owned.more ? '+' : ''} more* (${byBand}): \`/iam users\` lists them all.`]),
    );
  }
  return blocks;
}

function requestBlocks(w: WaitingRequest): unknown[] {
  const r = w.request;
  const kind = kindNameOf(r);
  const groups = r.groups.length ? ` · groups ${r.groups.map((g) => `\`${esc(g)}\``).join(', ')}` : '';
  const why =
    r.justification.length > JUSTIFICATION_SHOWN
      ? `${r.justification.slice(0, JUSTIFICATION_SHOWN)}…`
      : r.justification;
  const lines = [
    `*${esc(kind)}* IAM user \`${esc(r.userName)}\` in *${esc(r.account)}*${groups}`,
    `Asked by ${user(r.requester)} · ${r.approvals.length} of ${w.requiredApprovals} approval${w.requiredApprovals === 1 ? '' : 's'} · expires ${slackDate(new Date(r.expiresAt))} · \`${esc(r.id)}\``,
    ...esc(why)
      .split('\n')
      .map((l) => `>${l}`),
  ];
  const buttons = [
    ...(w.approve ? [button('Approve', REQUEST_APPROVE, r.id, 'primary')] : []),
    ...(w.deny ? [button('Deny', REQUEST_DENY, r.id, 'danger')] : []),
  ];
  return [
    ...sections(lines),
    ...(buttons.length ? [{ type: 'actions', block_id: `home_request_${r.id}`, elements: buttons }] : []),
  ];
}

const plural = (n: number, one: string, many: string) => `${n} ${n === 1 ? one : many}`;

/** The access reviews to answer: one section (a line per account, HOME_REVIEWS_SHOWN at most), a pointer to the DM. */
function reviewBlocks(reviews: readonly HomeReview[]): unknown[] {
  const lines = reviews.slice(0, HOME_REVIEWS_SHOWN).map((r) => {
    const asked = [
      ...(r.memberships ? [plural(r.memberships, 'membership', 'memberships')] : []),
      ...(r.deletions ? [plural(r.deletions, 'idle user (Delete offered)', 'idle users (Delete offered)')] : []),
    ].join(' and ');
    return `• Access review of ${esc(r.round)}${r.account === 'home' ? '' : ` in *${esc(r.account)}*`}: ${asked} to answer`;
  });
  const rest = reviews.length - HOME_REVIEWS_SHOWN;
  return sections([
    '*Access review*: Keep or Remove each membership in the review DM I sent you (the *Messages* tab).',
    ...lines,
    ...(rest > 0 ? [`…and ${rest} more accounts.`] : []),
  ]);
}

function approverBlocks(approver: NonNullable<HomeInput['approver']>): unknown[] {
  const { waiting, channel } = approver;
  if (approver.unreadable)
    return sections([
      '*Waiting for your approval*',
      `I could not read the requests waiting for you just now; they are in <#${channel}>.`,
    ]);
  if (!waiting.length) return sections(['*Waiting for your approval*', 'Nothing waits for you.']);
  const rest = waiting.length - HOME_REQUESTS_SHOWN;
  return [
    ...sections([`*Waiting for your approval* (${waiting.length})`]),
    ...waiting.slice(0, HOME_REQUESTS_SHOWN).flatMap(requestBlocks),
    ...(rest > 0 ? sections([`…and ${rest} more in <#${channel}>.`]) : []),
  ];
}

/**
 * The App Home: the viewer's IAM users (worst keys first, each key's age as a bar against `keys.maxAgeDays`, status,
 * last use, Rotate now / Snooze 7 days per active key), the rotations under way, for approvers the requests they may
 * decide (Approve / Deny, the approval message's own action ids and values), and how to use the bot. Within Slack's
 * 100 blocks for any number of users and requests: beyond HOME_USERS_SHOWN users and HOME_REQUESTS_SHOWN requests
 * the rest is counted.
 */
export function homeView(input: HomeInput): unknown[] {
  const blocks = [
    ...sections([`*Your IAM users*, ${user(input.viewer)}`]),
    ...ownedBlocks(input),
    ...(input.rotations.length ? sections(['*Key rotations under way*', ...input.rotations]) : []),
    ...(input.reviews?.length ? reviewBlocks(input.reviews) : []),
    ...(input.kindSections ?? []),
    ...(input.approver ? [divider(), ...approverBlocks(input.approver)] : []),
    divider(),
    section(
      '*How to ask for something*: `/iam create-user` for a new IAM user, `/iam add-to-group` for access, `/iam rotate-key` for a fresh key; an approver decides in the approval channel.',
    ),
    ...input.help,
    context('Refreshed when you open this tab and when something of yours changes.'),
  ];
  if (blocks.length > VIEW_BLOCKS_MAX)
    // Not reached with the limits above; never send Slack a view it refuses.
    return [...blocks.slice(0, VIEW_BLOCKS_MAX - 1), context('More than fits here: `/iam users`, `/iam help`.')];
  return blocks;
}
