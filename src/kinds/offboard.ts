/**
 * offboard: every IAM user someone owns disabled. Its run lives in src/services/kinds/offboard.ts (worker only, not
 * imported here).
 */
import { offboardMessage } from '../blocks/offboard.js';
import { changeKind } from './change.js';

export const offboard = changeKind('offboard', {
  command: {
    summary:
      'approvers: asks to disable every IAM user someone owns (keys deactivated, console password deleted, their pending requests cancelled), through approval; what happens on its own when someone leaves Slack.',
    usage: '/iam offboard @someone --reason "..."',
    example: '/iam offboard @bob --reason "Last day on Friday"',
  },
  render: {
    approvalMessage: (request, ctx) =>
      offboardMessage(request, { ...ctx, recoveryDays: ctx.policy.leavers.recoveryDays }),
    waiting: (request, channel) =>
      `Your request \`${request.id}\` to offboard <@${request.offboard?.member ?? request.recipient}> is waiting for approval in <#${channel}>.`,
  },
});
