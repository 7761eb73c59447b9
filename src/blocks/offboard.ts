/**
 * An offboarding in the approval channel: before approval (`/iam offboard`), what it will do; after, the report of what
 * was done per IAM user (and what was only listed), with Reactivate and Give to.
 */

import { deletedOnLeave } from '../kinds/facts.js';
import { MAX_JUSTIFICATION } from '../services/request-validation.js';
import type { AccessRequest, OffboardedUser } from '../store/requests.js';
import {
  FORM_INPUT,
  GIVE_TO_BLOCKS,
  GIVE_TO_MODAL,
  OFFBOARD_GIVE_TO,
  OFFBOARD_REACTIVATE,
  REQUEST_ABANDON,
  REQUEST_APPROVE,
  REQUEST_DENY,
  REQUEST_RETRY,
} from './ids.js';
import type { RequestContext } from './request-context.js';
import { context, esc, SECTION_TEXT_MAX, sections, slackDate, splitText, user } from './text.js';

const code = (s: string) => `\`${esc(s)}\``;
const at = (iso: string) => slackDate(new Date(iso));
/** Key ids are not secret, but the report shows them as `/iam users` does: the first 4 and the last 4. */
export const maskKey = (id: string) => (id.length > 8 ? `${id.slice(0, 4)}…${id.slice(-4)}` : id);
const keys = (ids: string[]) => ids.map((k) => code(maskKey(k))).join(', ');

/** The action id of the i-th Give to button (action ids must differ within a block). */
export const giveToActionId = (i: number) => `${OFFBOARD_GIVE_TO}_${i}`;
/** Matches every Give to button's action id. */
export const GIVE_TO_ACTION = new RegExp(`^${OFFBOARD_GIVE_TO}_\\d+$`);

/** Most IAM users a report lists one by one (a message holds 50 blocks); the rest are counted. */
export const MAX_LISTED = 30;

/** Most Give to buttons on one report (an actions block holds 25 elements; one is Reactivate). */
export const MAX_GIVE_TO = 20;

/** What the report says of one IAM user. */
export function offboardedUserLine(u: OffboardedUser, done: boolean): string {
  const name = `${code(u.userName)} (${esc(u.account)}, ${code(u.path)})`;
  const did = [
    ...(u.keys.length
      ? [`${done ? 'deactivated' : 'deactivate'} access key${u.keys.length === 1 ? '' : 's'} ${keys(u.keys)}`]
      : []),
    ...(u.console ? [`${done ? 'deleted' : 'delete'} the console password`] : []),
  ];
  const restored = u.restoredKeys?.length ? ` Reactivated: ${keys(u.restoredKeys)}.` : '';
  switch (u.outcome) {
    case 'disabled':
      return `• ${name}: ${did.length ? did.join('; ') : 'nothing was active'}.${restored}`;
    case 'report':
      return `• ${name}: ${did.length ? `would ${did.join('; would ')}` : 'nothing active'} (nothing changed).`;
    case 'excluded':
      return `• ${name}: excluded by \`leavers.exclude\`, not touched.`;
    case 'unmanaged':
      return `• ${name}: outside the paths the bot manages, not touched (check it by hand).`;
    case 'owner-changed':
      return `• ${name}: someone else owns it by now, not touched${did.length ? ` (earlier: ${did.join('; ')})` : ''}.`;
    case 'gone':
      return `• ${name}: no longer in IAM.`;
    case 'failed':
      return `• ${name}: :x: failed (${esc(u.error ?? 'error')})${did.length ? `; done before that: ${did.join('; ')}` : ''}.`;
  }
}

/** Most users a deletion line names (to be deleted, deleted, kept). */
const DELETIONS_NAMED = 10;

/**
 * `leavers.deleteAfterDays`: before the day, the users it will delete and when (unless kept); after, what was
 * decided on the day (deleted, kept and why).
 */
function deletionLines(r: AccessRequest): string[] {
  const off = r.offboard;
  if (!off?.deleteAt || r.status !== 'done') return [];
  // the users are listed above one by one: these lines name the first few (a message holds 50 blocks)
  const names = (ns: string[]) =>
    ns.length > DELETIONS_NAMED
      ? `${ns.slice(0, DELETIONS_NAMED).join(', ')} and ${ns.length - DELETIONS_NAMED} more (the audit trail names each)`
      : ns.join(', ');
  if (off.deletions) {
    const deleting = off.deletions.users.filter((d) => d.outcome === 'deleting').map((d) => code(d.userName));
    const kept = off.deletions.users
      .filter((d) => d.outcome === 'kept')
      .map((d) => `${code(d.userName)} (${esc((d.why ?? 'kept').slice(0, 200))})`);
    return [
      ...(deleting.length
        ? [`:wastebasket: *Deleted* on ${at(off.deletions.at)} (\`leavers.deleteAfterDays\`): ${names(deleting)}.`]
        : []),
      ...(kept.length ? [`*Kept:* ${names(kept)}.`] : []),
    ];
  }
  if (off.reactivation) return [];
  const users = off.users.filter((u) => u.outcome === 'disabled').map((u) => code(u.userName));
  if (!users.length) return [];
  return [
    `:wastebasket: *To be deleted* on ${at(off.deleteAt)} (\`leavers.deleteAfterDays\`), as \`/iam delete-user\` deletes, unless an approver reactivates them or gives them to a new owner: ${names(users)}.`,
  ];
}

const button = (text: string, actionId: string, value: string, style?: 'primary' | 'danger') => ({
  type: 'button',
  text: { type: 'plain_text', text: text.slice(0, 75) },
  action_id: actionId,
  value,
  ...(style ? { style } : {}),
});

/** The approval message (before approval) and the report (after) of an offboarding. */
export function offboardMessage(r: AccessRequest, ctx: RequestContext & { recoveryDays: number }) {
  const off = r.offboard;
  const member = off?.member ?? r.userName;
  const users = off?.users ?? [];
  const done = r.status === 'done' || r.status === 'failed';
  const reportOnly = off?.action === 'report';
  const head = (() => {
    if (r.status === 'pending')
      return `:busts_in_silhouette: ${user(r.requester)} asks to offboard ${user(member)}: for each IAM user they own under the managed paths, deactivate every access key and delete the console password, and cancel their pending requests.`;
    const who =
      off?.trigger === 'command'
        ? `${user(member)} was offboarded at ${user(r.requester)}'s request`
        : `${user(member)} left Slack (${off?.trigger === 'event' ? 'Slack told me' : 'found by the daily check'})`;
    if (r.status === 'approved' || r.status === 'provisioning') return `:gear: ${who}. Disabling their IAM users…`;
    if (reportOnly)
      return `:mag: ${who}. The policy says \`leavers.action: report\`, so I changed nothing. What I would do:`;
    if (r.status === 'failed') return `:x: ${who}. Some of it failed: ${esc(r.error ?? 'error')}.`;
    if (r.status === 'done') return `:door: ${who}. What I did, per IAM user they own:`;
    if (r.status === 'denied')
      return `:no_entry: Offboarding ${user(member)} was denied by ${user(r.decision?.by ?? '')}: “${esc(r.decision?.reason ?? '')}”`;
    if (r.status === 'expired')
      return `:alarm_clock: Offboarding ${user(member)} expired without a decision. Nothing was changed.`;
    return `:wastebasket: Offboarding ${user(member)} was abandoned after it failed.`;
  })();
  const lines = [head, ...users.slice(0, MAX_LISTED).map((u) => offboardedUserLine(u, done && !reportOnly))];
  if (!users.length) lines.push('• no IAM user');
  if (users.length > MAX_LISTED) {
    const rest = users.slice(MAX_LISTED);
    const counts = new Map<string, number>();
    for (const u of rest) counts.set(u.outcome, (counts.get(u.outcome) ?? 0) + 1);
    lines.push(
      `• and ${rest.length} more (${[...counts].map(([o, n]) => `${n} ${o}`).join(', ')}): every step is in the audit trail of request ${code(r.id)}.`,
    );
  }
  if (off?.cancelled.length) lines.push(`*Cancelled their pending requests:* ${off.cancelled.map(code).join(', ')}.`);
  if (done && !reportOnly && users.some((u) => u.console))
    lines.push(
      '_A console password cannot be restored as it was: Reactivate gives back the access keys only. For console access, the new owner asks for a new user (or an approver recreates the password by hand)._',
    );
  const recoveryEnds = off?.doneAt
    ? new Date(Date.parse(off.doneAt) + ctx.recoveryDays * 86_400_000).toISOString()
    : undefined;
  // the users `leavers.deleteAfterDays` deleted: nothing of theirs can be reactivated or given
  const deleted = (u: OffboardedUser) => !!off && deletedOnLeave(off, u);
  const reactivable = users.some((u) => u.keys.length && !deleted(u));
  const butDeleted = users.some((u) => u.keys.length && deleted(u)) ? ' (not those of the deleted users)' : '';
  if (off?.reactivation)
    lines.push(
      off.reactivation.phase === 'reactivated'
        ? `:leftwards_arrow_with_hook: *Reactivated* by ${user(off.reactivation.by)} on ${at(off.reactivation.at)}: the keys it deactivated are active again${butDeleted}.`
        : `:gear: ${user(off.reactivation.by)} is reactivating the keys…`,
    );
  else if (r.status === 'done' && !reportOnly && recoveryEnds && reactivable)
    lines.push(`Approvers can *Reactivate* the deactivated keys${butDeleted} until ${at(recoveryEnds)}.`);
  lines.push(...deletionLines(r));
  if (off?.returnedAt)
    lines.push(
      `:eyes: ${user(member)} is active in Slack again (since ${at(off.returnedAt)}). Nothing was given back automatically.`,
    );
  const justification = esc(r.justification)
    .slice(0, MAX_JUSTIFICATION)
    .split('\n')
    .flatMap((line) => splitText(line, SECTION_TEXT_MAX - 1).map((piece) => `>${piece}`));
  const blocks: unknown[] = [...sections(lines), ...sections(['*Why:*', ...justification])];
  if (r.status === 'pending') {
    blocks.push(
      ...sections([
        `:hourglass_flowing_sand: *Waiting for approval: ${r.approvals.length} of ${ctx.requiredApprovals}*. Expires ${at(r.expiresAt)}.`,
      ]),
    );
    blocks.push({
      type: 'actions',
      block_id: `request_actions_${r.id}`,
      elements: [button('Approve', REQUEST_APPROVE, r.id, 'primary'), button('Deny', REQUEST_DENY, r.id, 'danger')],
    });
  } else if (r.status === 'failed')
    blocks.push({
      type: 'actions',
      block_id: `request_actions_${r.id}`,
      elements: [button('Retry', REQUEST_RETRY, r.id), button('Abandon', REQUEST_ABANDON, r.id, 'danger')],
    });
  else if (r.status === 'done') {
    const giveable = users
      .filter((u) => u.outcome !== 'unmanaged' && u.outcome !== 'gone' && !deleted(u))
      .slice(0, MAX_GIVE_TO);
    const elements = [
      ...(!reportOnly && !off?.reactivation && reactivable ? [button('Reactivate', OFFBOARD_REACTIVATE, r.id)] : []),
      ...giveable.map((u, i) =>
        button(
          `Give ${u.userName.slice(0, 50)} to…`,
          giveToActionId(i),
          JSON.stringify({ r: r.id, a: u.account, u: u.userName }),
        ),
      ),
    ];
    if (elements.length) blocks.push({ type: 'actions', block_id: `offboard_actions_${r.id}`, elements });
  }
  blocks.push(
    context(
      `Request ${code(r.id)} (offboard) · Reactivate: approvers, not the person offboarded · Give to: a set-owner request, approved as usual`,
    ),
  );
  return { text: `Offboarding ${member}: ${r.status}`, blocks };
}

const plain = (text: string) => ({ type: 'plain_text' as const, text });

/** What the Give to form carries to its submission. */
export interface GiveToContext {
  requestId: string;
  account: string;
  userName: string;
  channel?: string;
}

/** The Give to form: the new owner of one IAM user of an offboarding, and why (a set-owner request). */
export function giveToModal(context: GiveToContext) {
  return {
    type: 'modal' as const,
    callback_id: GIVE_TO_MODAL,
    private_metadata: JSON.stringify(context),
    title: plain('Give to someone'),
    submit: plain('Request'),
    close: plain('Cancel'),
    blocks: [
      sections([
        `Ask to make someone the owner of IAM user ${code(context.userName)} in *${esc(context.account)}*.`,
      ])[0],
      {
        type: 'input',
        block_id: GIVE_TO_BLOCKS.newOwner,
        label: plain('New owner'),
        element: { type: 'users_select', action_id: FORM_INPUT, placeholder: plain('Choose someone') },
      },
      {
        type: 'input',
        block_id: GIVE_TO_BLOCKS.justification,
        label: plain('Why'),
        element: {
          type: 'plain_text_input',
          action_id: FORM_INPUT,
          multiline: true,
          max_length: MAX_JUSTIFICATION,
          placeholder: plain('e.g. Bob runs the CI now'),
        },
      },
    ],
  };
}
