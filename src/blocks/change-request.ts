import { changeSummary } from '../kinds/summaries.js';
import { describeStep, describeUndo, type PlanStep } from '../services/plans/types.js';
import type { AccessRequest } from '../store/requests.js';
import { REQUEST_ABANDON, REQUEST_APPROVE, REQUEST_DENY, REQUEST_RETRY } from './ids.js';
import type { RequestContext } from './request-context.js';
import { context, esc, SECTION_TEXT_MAX, section, sections, slackDate, splitText, user } from './text.js';

const code = (s: string) => `\`${esc(s)}\``;
const at = (iso: string) => slackDate(new Date(iso));
const users = (ids: string[]) => ids.map(user).join(', ');

/** What a change request asks, one line (each kind's, src/kinds/summaries.ts); how messages name its user. */
export { changeSummary, changeTitle } from '../kinds/summaries.js';

/** The plan as numbered lines, each step with its undo: exactly the IAM writes the worker runs, in order. */
export function planLines(plan: PlanStep[]): string[] {
  return plan.map((step, i) => `${i + 1}. ${code(describeStep(step))}  _(${esc(describeUndo(step))})_`);
}

function statusLine(r: AccessRequest, ctx: RequestContext): string {
  const approvedBy = users(r.approvals.map((a) => a.user));
  const approved = r.approvals.length ? `Approved by ${approvedBy}` : `Asked by ${user(r.requester)}, who may do it`;
  switch (r.status) {
    case 'pending': {
      const so = r.approvals.length ? ` (${approvedBy})` : '';
      return `:hourglass_flowing_sand: *Waiting for approval: ${r.approvals.length} of ${ctx.requiredApprovals}*${so}. Expires ${at(r.expiresAt)}.`;
    }
    case 'approved':
    case 'provisioning':
      return `:gear: *${approved}.* Running the plan…`;
    case 'done':
      return `:white_check_mark: *Done.* ${approved}. Every step of the plan ran.`;
    case 'failed': {
      const left = r.remaining?.length
        ? `*Still changed, needs cleaning up:* ${r.remaining.map(esc).join('; ')}.`
        : 'Every step it had run was undone.';
      const until = r.abandonAt ? ` (until ${at(r.abandonAt)}; then it is abandoned)` : '';
      return `:x: *Failed:* ${esc(r.error ?? 'unknown error')}. ${left} ${approved}. An approver can retry or abandon it${until}.`;
    }
    case 'abandoned':
      return `:wastebasket: *Abandoned* on ${at(r.decision?.at ?? r.updatedAt)} after it failed: ${esc(r.error ?? 'unknown error')}.`;
    case 'denied':
      return `:no_entry: *Denied by ${user(r.decision?.by ?? '')}* on ${at(r.decision?.at ?? r.updatedAt)}: “${esc(r.decision?.reason ?? '')}”`;
    case 'expired':
      return `:alarm_clock: *Expired* on ${at(r.decision?.at ?? r.expiresAt)} without a decision. Nothing was changed.`;
  }
}

const button = (text: string, actionId: string, value: string, style?: 'primary' | 'danger') => ({
  type: 'button',
  text: { type: 'plain_text', text },
  action_id: actionId,
  value,
  ...(style ? { style } : {}),
});

/**
 * A change request in the approval channel: who asks what, the plan (every IAM write the worker will run, with its
 * undo), the owner, the justification and the state. Approve / Deny while pending; Retry / Abandon after a failure.
 */
export function changeApprovalMessage(r: AccessRequest, ctx: RequestContext) {
  const plan = r.plan ?? [];
  const justification = esc(r.justification)
    .split('\n')
    .flatMap((line) => splitText(line, SECTION_TEXT_MAX - 1).map((piece) => `>${piece}`));
  const blocks: unknown[] = [
    section(`:busts_in_silhouette: ${user(r.requester)} asks to ${changeSummary(r)}.`),
    ...sections([
      `*Owner:* ${r.owner ? user(r.owner) : 'nobody (no `slack-user-id` tag)'}  ·  *Path:* ${code(r.path)}`,
      `*The plan* (the worker runs exactly these IAM calls, in order; on a failure it undoes what it ran):`,
      ...planLines(plan),
    ]),
    ...sections(['*Justification:*', ...justification]),
    ...sections([statusLine(r, ctx)]),
  ];
  if (r.status === 'pending')
    blocks.push({
      type: 'actions',
      block_id: `request_actions_${r.id}`,
      elements: [button('Approve', REQUEST_APPROVE, r.id, 'primary'), button('Deny', REQUEST_DENY, r.id, 'danger')],
    });
  else if (r.status === 'failed')
    blocks.push({
      type: 'actions',
      block_id: `request_actions_${r.id}`,
      elements: [button('Retry', REQUEST_RETRY, r.id), button('Abandon', REQUEST_ABANDON, r.id, 'danger')],
    });
  blocks.push(
    context(
      `Request ${code(r.id)} (${r.kind}) · needs ${ctx.requiredApprovals} approval${ctx.requiredApprovals === 1 ? '' : 's'}, not from the requester, the user's owner or a new owner`,
    ),
  );
  return { text: `IAM change request ${r.id}: ${r.kind} ${r.userName} in ${r.account} (${r.status})`, blocks };
}

/** DM to the requester when a change request is decided or finished. */
export function changeRequesterUpdateMessage(r: AccessRequest) {
  const what = changeSummary(r);
  const line = {
    pending: `:hourglass_flowing_sand: Your request to ${what} is waiting for a fresh approval (until ${at(r.expiresAt)}).`,
    approved: `:white_check_mark: Your request to ${what} was approved${r.approvals.length ? ` by ${users(r.approvals.map((a) => a.user))}` : ''}. I'm running it now.`,
    provisioning: `:gear: Your request to ${what} is running.`,
    done: `:white_check_mark: Done: ${what}.`,
    failed: `:x: Your request to ${what} failed: ${esc(r.error ?? 'unknown error')}. ${r.remaining?.length ? `Still changed: ${r.remaining.map(esc).join('; ')}.` : 'Nothing of it was left changed.'}`,
    denied: `:no_entry: Your request to ${what} was denied by ${user(r.decision?.by ?? '')}: “${esc(r.decision?.reason ?? '')}”`,
    expired: `:alarm_clock: Your request to ${what} expired without a decision. Nothing was changed.`,
    abandoned: `:wastebasket: Your request to ${what} was abandoned after it failed.`,
  }[r.status];
  return {
    text: `Request ${r.id} (${r.kind} ${r.userName}): ${r.status}`,
    blocks: [...sections([line]), context(`Request ${code(r.id)}`)],
  };
}

/** DM to the owner of a user when a change to it is done. */
export function ownerChangeDoneMessage(r: AccessRequest) {
  return {
    text: `Done: ${r.kind} ${r.userName}`,
    blocks: [
      ...sections([
        `:information_source: Done, at ${user(r.requester)}'s request: ${changeSummary(r)}.`,
        ...planLines(r.plan ?? []),
      ]),
      context(`Request ${code(r.id)} · you own this user (its \`slack-user-id\` tag names you)`),
    ],
  };
}

/** DM to each approver of a change request that failed. */
export function changeApproverFailureMessage(r: AccessRequest, channel: string) {
  return {
    text: `Request ${r.id} (${r.kind} ${r.userName}) failed`,
    blocks: [
      ...sections([
        `:x: The request you approved, to ${changeSummary(r)}, failed: ${esc(r.error ?? 'unknown error')}. Retry from the request message in <#${channel}>.`,
      ]),
      context(`Request ${code(r.id)}`),
    ],
  };
}
