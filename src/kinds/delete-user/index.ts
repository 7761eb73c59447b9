/**
 * delete-user: an IAM user under the managed paths deleted in two steps (`/iam delete-user <user> --reason "..."`).
 * Asked by its owner or an approver, approved like a change (not by its owner, nor by whoever asked). At approval its
 * run (./run.ts, worker only) disables it (active keys deactivated, console password deleted) and DMs the owner with
 * Cancel; it then sleeps in a `wait` step for `users.deleteAfterDays`. Cancel (./signals.ts) restores what the run
 * disabled; at the end everything IAM requires is removed and the user deleted. This module is the Slack function's
 * part: rendering and who decides.
 */
import { context, section, slackDate } from '../../blocks/text.js';
import { changeKind } from '../change.js';
import { changeSummary } from '../summaries.js';
import { cancelButton, deleteApprovalMessage } from './messages.js';

export const deleteUser = changeKind('delete-user', {
  command: {
    summary:
      'asks to delete an IAM user under the managed paths (its owner or an approver asks; approved like a change, not by its owner). At approval it is disabled (active keys deactivated, console password deleted) and its owner can Cancel for `users.deleteAfterDays` days; then everything attached to it is removed and the user deleted.',
    usage: '/iam delete-user <iam-user> --reason "..." [--account name]',
    example: '/iam delete-user build-bot --reason "The CI moved to OIDC roles"',
  },
  render: {
    approvalMessage: (request, ctx) => deleteApprovalMessage(request, ctx),
    requesterUpdate: (request) => {
      const base = changeKind('delete-user').render.requesterUpdate(request);
      if (request.status !== 'done' || !request.deletion?.deleteAt || request.deletion.endedAt) return base;
      return {
        text: base.text,
        blocks: [
          section(
            `:white_check_mark: Approved: IAM user \`${request.userName}\` is disabled. It will be deleted ${slackDate(new Date(request.deletion.deleteAt))} unless cancelled.`,
          ),
          cancelButton(request),
          context(`Request \`${request.id}\``),
        ],
      };
    },
    waiting: (request, channel) =>
      `Your request \`${request.id}\` to ${changeSummary(request)} is waiting for approval in <#${channel}>. I'll DM you when it is decided.`,
  },
});
