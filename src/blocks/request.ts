import { createUserPlan } from '../services/kinds/create-user.js';
import type { AccessRequest, AccessType } from '../store/requests.js';
import { planLines } from './change-request.js';
import {
  DENY_REASON_BLOCK,
  DENY_REASON_MODAL,
  FORM_INPUT,
  REQUEST_ABANDON,
  REQUEST_APPROVE,
  REQUEST_DENY,
  REQUEST_RETRY,
} from './ids.js';
import type { RequestContext } from './request-context.js';
import { context, esc, SECTION_TEXT_MAX, section, sections, slackDate, splitText, user } from './text.js';

export type { RequestContext } from './request-context.js';

const ACCESS: Record<AccessType, string> = {
  keys: 'access key (programmatic access)',
  console: 'console password (to be changed at first sign-in)',
  both: 'access key and console password (to be changed at first sign-in)',
};

export const accessLabel = (t: AccessType): string => ACCESS[t];
const code = (s: string) => `\`${esc(s)}\``;
/**
 * `label` then `items` joined by `, `, over as many lines as needed to keep each within a section: an item is never
 * split, so a tag or a group stays whole on one line.
 */
function listLines(label: string, items: string[], after = ''): string[] {
  const lines: string[] = [];
  let line = label;
  for (const [i, item] of items.entries()) {
    const next = `${item}${i < items.length - 1 ? ',' : after}`;
    if (line.length + 1 + next.length > SECTION_TEXT_MAX && line !== label) {
      lines.push(line);
      line = next;
    } else line = `${line} ${next}`;
  }
  lines.push(line);
  return lines;
}
const users = (ids: string[]) => ids.map(user).join(', ');
const at = (iso: string) => slackDate(new Date(iso));

/** "IAM user `build-bot` in home": how messages name a request. */
export const requestTitle = (r: AccessRequest): string =>
  `IAM user ${code(r.userName)} in *${esc(r.account)}* (${code(r.accountId)})`;

function button(text: string, actionId: string, value: string, style?: 'primary' | 'danger') {
  return {
    type: 'button',
    text: { type: 'plain_text', text },
    action_id: actionId,
    value,
    ...(style ? { style } : {}),
  };
}

function statusLine(r: AccessRequest, ctx: RequestContext): string {
  const approvedBy = users(r.approvals.map((a) => a.user));
  const lastApproval = r.approvals.at(-1)?.at;
  const approved = `Approved by ${approvedBy}${lastApproval ? ` on ${at(lastApproval)}` : ''}`;
  switch (r.status) {
    case 'pending': {
      const so = r.approvals.length ? ` (${approvedBy})` : '';
      return `:hourglass_flowing_sand: *Waiting for approval: ${r.approvals.length} of ${ctx.requiredApprovals}*${so}. Expires ${at(r.expiresAt)}.`;
    }
    case 'approved':
    case 'provisioning':
      return `:gear: *${approved}.* Creating the user…`;
    case 'done':
      return `:white_check_mark: *Done.* ${approved}. The user exists and ${user(r.recipient)} got the credentials as a one-time link.`;
    case 'failed': {
      const left = r.remaining?.length
        ? `*Still exists, needs cleaning up:* ${r.remaining.map(esc).join('; ')}.`
        : 'Everything this request had created was removed.';
      const until = r.abandonAt ? ` (until ${at(r.abandonAt)}; then it is abandoned)` : '';
      return `:x: *Provisioning failed:* ${esc(r.error ?? 'unknown error')}. ${left} ${approved}. An approver can retry or abandon it${until}.`;
    }
    case 'abandoned': {
      const by = r.decision?.by && r.decision.by !== 'system' ? ` by ${user(r.decision.by)}` : ' (not retried in time)';
      const left = r.remaining?.length
        ? `*Left in IAM, to clean up by hand:* ${r.remaining.map(esc).join('; ')}.`
        : 'Nothing of it was left in IAM.';
      return `:wastebasket: *Abandoned*${by} on ${at(r.decision?.at ?? r.updatedAt)} after provisioning failed: ${esc(r.error ?? 'unknown error')}. ${left} The user name is free again.`;
    }
    case 'denied':
      return `:no_entry: *Denied by ${user(r.decision?.by ?? '')}* on ${at(r.decision?.at ?? r.updatedAt)}: “${esc(r.decision?.reason ?? '')}”`;
    case 'expired':
      return `:alarm_clock: *Expired* on ${at(r.decision?.at ?? r.expiresAt)} without a decision. Nothing was created.`;
  }
}

/**
 * The request in the approval channel: who asks, for whom, where, exactly what will be done, why, and its state.
 * Approve / Deny while pending; Retry / Abandon after a failure; no button otherwise.
 */
export function approvalMessage(r: AccessRequest, ctx: RequestContext) {
  // Nothing of the request is ever cut off: every line is laid out whole over as many sections as it needs. Input
  // limits (request-validation.ts) and the policy schema keep the whole message within Slack's 50 blocks.
  const groups = r.groups.map(
    (g) => `${code(g)}${ctx.groupDescriptions[g] ? ` (${esc(ctx.groupDescriptions[g] ?? '')})` : ''}`,
  );
  const tags = r.tags.map((t) => code(`${t.key}=${t.value}`));
  const what = [
    `*Create* ${requestTitle(r)}`,
    `*Path:* ${code(r.path)}  ·  *ARN:* ${code(`arn:aws:iam::${r.accountId}:user${r.path}${r.userName}`)}`,
    ...listLines('*Groups:*', groups),
    `*Access:* ${ACCESS[r.accessType]}`,
    ...(tags.length
      ? listLines('*Tags:*', tags, ' (plus requested-by, approved-by, slack-user-id, request-id)')
      : ['*Tags:* none (plus requested-by, approved-by, slack-user-id, request-id)']),
    `*Credentials go to:* ${user(r.recipient)}, as a one-time link`,
    '*The plan* (the worker runs these IAM calls, in order; on a failure it undoes what this request created):',
    ...planLines(createUserPlan(r)),
  ];
  const justification = esc(r.justification)
    .split('\n')
    .flatMap((line) => splitText(line, SECTION_TEXT_MAX - 1).map((piece) => `>${piece}`));
  const blocks: unknown[] = [
    section(`:key: ${user(r.requester)} asks for a new IAM user for ${user(r.recipient)}.`),
    ...sections(what),
    ...sections(['*Justification:*', ...justification]),
    ...sections([statusLine(r, ctx)]),
  ];
  if (r.status === 'pending') {
    blocks.push({
      type: 'actions',
      block_id: `request_actions_${r.id}`,
      elements: [button('Approve', REQUEST_APPROVE, r.id, 'primary'), button('Deny', REQUEST_DENY, r.id, 'danger')],
    });
  } else if (r.status === 'failed') {
    blocks.push({
      type: 'actions',
      block_id: `request_actions_${r.id}`,
      elements: [button('Retry', REQUEST_RETRY, r.id), button('Abandon', REQUEST_ABANDON, r.id, 'danger')],
    });
  }
  blocks.push(
    context(
      `Request ${code(r.id)} · needs ${ctx.requiredApprovals} approval${ctx.requiredApprovals === 1 ? '' : 's'} from approvers of every group, not the requester or the recipient`,
    ),
  );
  return { text: `IAM user request ${r.id}: ${r.userName} in ${r.account} (${r.status})`, blocks };
}

/** DM to the requester once the request is posted (the form closes without a word otherwise). */
export function requestPostedMessage(r: AccessRequest, channel: string) {
  return {
    text: `Your request ${r.id} for IAM user ${r.userName} is waiting for approval in <#${channel}>.`,
    blocks: [
      section(
        `:inbox_tray: Your request for ${requestTitle(r)} is waiting for approval in <#${channel}>. I'll tell you when it is decided.`,
      ),
      context(`Request ${code(r.id)} · expires ${at(r.expiresAt)}`),
    ],
  };
}

/** DM to the requester when the request is decided (approved, denied or expired) or finished (done, failed). */
export function requesterUpdateMessage(r: AccessRequest) {
  const title = requestTitle(r);
  let line: string;
  switch (r.status) {
    case 'approved':
    case 'provisioning':
      line = `:white_check_mark: Your request for ${title} was approved by ${users(r.approvals.map((a) => a.user))}. I'm creating the user now.`;
      break;
    case 'done':
      line =
        r.recipient === r.requester
          ? `:white_check_mark: ${title} is ready. Your one-time link to the credentials is in a separate message.`
          : `:white_check_mark: ${title} is ready. ${user(r.recipient)} got a one-time link to the credentials.`;
      break;
    case 'failed':
      line = `:x: Creating ${title} failed: ${esc(r.error ?? 'unknown error')}. ${
        r.remaining?.length ? `Still exists: ${r.remaining.map(esc).join('; ')}.` : 'Nothing of it was left behind.'
      } Approvers can retry or abandon it from the request message.`;
      break;
    case 'denied':
      line = `:no_entry: Your request for ${title} was denied by ${user(r.decision?.by ?? '')}: “${esc(r.decision?.reason ?? '')}”`;
      break;
    case 'abandoned':
      line = `:wastebasket: Your request for ${title} was abandoned after its provisioning failed${
        r.decision?.by && r.decision.by !== 'system' ? ` (by ${user(r.decision.by)})` : ''
      }. ${r.remaining?.length ? `Still exists in IAM: ${r.remaining.map(esc).join('; ')}.` : 'Nothing of it was left in IAM.'} Ask again with \`/iam create-user\` if you still need it.`;
      break;
    case 'pending':
      line = `:hourglass_flowing_sand: Your request for ${title} was approved too long ago to retry its provisioning, so it is waiting for a fresh approval (until ${at(r.expiresAt)}).`;
      break;
    case 'expired':
      line = `:alarm_clock: Your request for ${title} expired without a decision. Nothing was created; ask again with \`/iam create-user\` if you still need it.`;
      break;
    default:
      line = `Your request for ${title} is ${r.status}.`;
  }
  return {
    text: `Request ${r.id} (${r.userName}): ${r.status}`,
    blocks: [...sections([line]), context(`Request ${code(r.id)}`)],
  };
}

/** DM to each approver of a request whose provisioning failed. */
export function approverFailureMessage(r: AccessRequest, channel: string) {
  const left = r.remaining?.length ? `Still exists: ${r.remaining.map(esc).join('; ')}.` : 'Nothing was left behind.';
  return {
    text: `Provisioning of request ${r.id} (${r.userName}) failed`,
    blocks: [
      ...sections([
        `:x: The request you approved, ${requestTitle(r)}, failed: ${esc(r.error ?? 'unknown error')}. ${left} Retry from the request message in <#${channel}>.`,
      ]),
      context(`Request ${code(r.id)}`),
    ],
  };
}

/** What the deny form carries from the click to its submission. */
export interface DenyFormContext {
  requestId: string;
}

/**
 * The form Deny opens: a required reason, which the requester will read. Opened before the request is read (its
 * trigger_id lasts 3 s), so it names the request by its id only; a clicker who may not deny sees it turn into
 * denyRefusedView.
 */
export function denyReasonModal(r: Pick<AccessRequest, 'id'>) {
  const metadata: DenyFormContext = { requestId: r.id };
  return {
    type: 'modal' as const,
    callback_id: DENY_REASON_MODAL,
    private_metadata: JSON.stringify(metadata),
    title: { type: 'plain_text' as const, text: 'Deny request' },
    submit: { type: 'plain_text' as const, text: 'Deny' },
    close: { type: 'plain_text' as const, text: 'Cancel' },
    blocks: [
      section(`Deny request ${code(r.id)}?`),
      {
        type: 'input',
        block_id: DENY_REASON_BLOCK,
        label: { type: 'plain_text', text: 'Reason (the requester will read it)' },
        element: { type: 'plain_text_input', action_id: FORM_INPUT, multiline: true, max_length: 500 },
      },
    ],
  };
}

/** What the deny form becomes when its clicker may not deny the request (`text`: why, as mrkdwn): nothing to submit. */
export function denyRefusedView(text: string) {
  return {
    type: 'modal' as const,
    title: { type: 'plain_text' as const, text: 'Deny request' },
    close: { type: 'plain_text' as const, text: 'Close' },
    blocks: [section(text)],
  };
}

/** The deny form's context from its private_metadata; undefined when it is not one. */
export function readDenyFormContext(privateMetadata: string): DenyFormContext | undefined {
  try {
    const parsed = JSON.parse(privateMetadata) as Partial<DenyFormContext>;
    return typeof parsed.requestId === 'string' ? { requestId: parsed.requestId } : undefined;
  } catch {
    return undefined;
  }
}
