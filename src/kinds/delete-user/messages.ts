/** The messages of a deletion: pure functions of the stored request (no I/O, no Slack import). */
import { changeApprovalMessage } from '../../blocks/change-request.js';
import { context, esc, section, slackDate, user } from '../../blocks/text.js';
import type { AccessRequest } from '../../store/requests.js';
import { changeTitle } from '../summaries.js';
import type { RenderContext } from '../types.js';

/** Action id of Cancel (the DMs once the user is disabled). */
export const DELETE_USER_CANCEL = 'delete_user_cancel';

const code = (s: string) => `\`${esc(s)}\``;
const at = (iso: string | undefined) => (iso ? slackDate(new Date(iso)) : 'an unknown time');

/** What the deletion does, in order: what the approvers read. */
export function deletionPlanLines(days: number): string[] {
  return [
    '*At approval* the user is disabled: every active access key deactivated, the console password deleted.',
    `*For ${days} day${days === 1 ? '' : 's'}* its owner or an approver can Cancel: the keys it deactivated are reactivated (a console password cannot be restored: the owner is told to ask for a new one).`,
    '*Then* everything IAM requires is removed, in this order: console password, access keys, signing certificates, SSH public keys, service-specific credentials, MFA devices (deactivated; virtual ones deleted), group memberships, inline policies, attached managed policies; then `DeleteUser`.',
  ];
}

/** The approval channel's message: the change message, with the deletion's steps in place of a plan. */
export function deleteApprovalMessage(r: AccessRequest, ctx: RenderContext) {
  const message = changeApprovalMessage(r, ctx);
  const blocks = message.blocks.map((b) => {
    const text = (b as { text?: { text?: string } }).text?.text ?? '';
    return text.startsWith('*The plan*') ? section(deletionPlanLines(ctx.policy.users.deleteAfterDays).join('\n')) : b;
  });
  const d = r.deletion;
  const where = !d?.deleteAt
    ? undefined
    : d.deletedAt
      ? `:wastebasket: *Deleted* ${at(d.deletedAt)}.`
      : d.cancel
        ? `:leftwards_arrow_with_hook: *Cancelled* by ${user(d.cancel.by)}: the user stays.`
        : `:lock: *Disabled.* Deleted ${at(d.deleteAt)} unless its owner or an approver cancels.`;
  // where the deletion stands, before the request's id (the last block)
  if (where && r.status === 'done') blocks.splice(blocks.length - 1, 0, section(where));
  return { ...message, blocks };
}

/** The Cancel button of a disabled user (its value: the request id). */
export function cancelButton(r: AccessRequest) {
  return {
    type: 'actions',
    elements: [
      {
        type: 'button',
        text: { type: 'plain_text', text: 'Cancel the deletion' },
        action_id: DELETE_USER_CANCEL,
        value: r.id,
        style: 'primary',
      },
    ],
  };
}

/** What the disabling did, from its run's steps: keys deactivated, console password deleted. */
export function disabledOf(r: AccessRequest) {
  const steps = r.run?.steps ?? [];
  return {
    keys: steps.filter((s) => s.op === 'disable-key' && s.result === 'done').map((s) => s.args.keyId ?? ''),
    console: steps.some((s) => s.op === 'disable-console' && s.result === 'done'),
  };
}

/** The DM once the user is disabled, to its owner and the requester: what was disabled, when it is deleted, Cancel. */
export function disabledMessage(r: AccessRequest) {
  const { keys, console } = disabledOf(r);
  const what = [
    keys.length ? `access key${keys.length === 1 ? '' : 's'} ${keys.map(code).join(', ')} deactivated` : '',
    console ? 'console password deleted' : '',
  ].filter(Boolean);
  const text = [
    `:warning: At ${user(r.requester)}'s request, ${changeTitle(r)} is disabled (${what.length ? what.join('; ') : 'it had no active key and no console password'}).`,
    `It will be *deleted ${at(r.deletion?.deleteAt)}* with everything attached to it. Cancel before then to keep it: the keys I deactivated are reactivated.`,
  ].join('\n');
  return {
    text: `IAM user ${r.userName} disabled; deleted ${r.deletion?.deleteAt ?? '?'}`,
    blocks: [section(text), cancelButton(r), context(`Request ${code(r.id)}`)],
  };
}

/** The DM once a deletion is cancelled and what was disabled restored. */
export function cancelledMessage(r: AccessRequest) {
  const steps = (r.run?.steps ?? []).filter((s) => s.op === 'restore-key');
  const restored = steps.filter((s) => s.result === 'done').map((s) => s.args.keyId ?? '');
  const gone = steps.filter((s) => s.result === 'skipped').map((s) => s.args.keyId ?? '');
  const { console } = disabledOf(r);
  const lines = [
    `:leftwards_arrow_with_hook: The deletion of ${changeTitle(r)} was cancelled by ${user(r.deletion?.cancel?.by ?? '')}: it stays.`,
    ...(restored.length ? [`Reactivated: ${restored.map(code).join(', ')}.`] : []),
    ...(gone.length ? [`Gone meanwhile (not restored): ${gone.map(code).join(', ')}.`] : []),
    ...(console
      ? [
          'Its console password was deleted and cannot be restored (IAM never returns a password): if it needs console access again, ask an approver to give it a new password that must be changed at first sign-in.',
        ]
      : []),
  ];
  return {
    text: `Deletion of ${r.userName} cancelled`,
    blocks: [section(lines.join('\n')), context(`Request ${code(r.id)}`)],
  };
}

/** The DM once the user is deleted: what was removed. */
export function deletedMessage(r: AccessRequest) {
  const removed = (r.run?.steps ?? [])
    .filter((s) => s.op.startsWith('purge-') && s.result === 'done' && s.data?.removed)
    .map((s) => `${s.args.what ?? s.op}: ${String(s.data?.removed)}`);
  const lines = [
    `:wastebasket: ${changeTitle(r)} is deleted, as ${user(r.requester)} asked.`,
    ...(removed.length ? [`Removed first: ${removed.map(esc).join('; ')}.`] : []),
  ];
  return {
    text: `IAM user ${r.userName} deleted`,
    blocks: [section(lines.join('\n')), context(`Request ${code(r.id)}`)],
  };
}
