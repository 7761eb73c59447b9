import { helpOf } from '../../blocks/command-help.js';
import { esc } from '../../blocks/text.js';
import { isApprover } from '../../services/requests.js';
import { requireFullMember } from '../../services/slack-members.js';
import { tokenize } from './create-user-args.js';
import type { Subcommand } from './subcommand.js';

const USAGE = helpOf('report').usage;

/**
 * `/iam report [account]` (approvers): the compliance summary of access keys. Checks the caller and the account,
 * acks, and hands the report to the worker, which DMs it with its CSV.
 */
export const report: Subcommand = {
  ...helpOf('report'),
  async run({ ack, command, deps, args }) {
    const words = tokenize(args);
    if (words.length > 1) {
      await ack({ response_type: 'ephemeral', text: `Usage: \`${USAGE}\`` });
      return;
    }
    const [account] = words;
    if (account !== undefined && !deps.aws.names.includes(account)) {
      await ack({
        response_type: 'ephemeral',
        text: `I know no account \`${esc(account)}\`. Accounts: ${deps.aws.names.map((n) => `\`${esc(n)}\``).join(', ')}.`,
      });
      return;
    }
    if (!(await isApprover(deps, command.user_id))) {
      await ack({
        response_type: 'ephemeral',
        text: 'Only approvers can see the compliance report. `/iam users` shows the IAM users you own and their keys.',
      });
      return;
    }
    try {
      await requireFullMember(deps, command.user_id, 'see the compliance report');
    } catch (error) {
      await ack({ response_type: 'ephemeral', text: (error as Error).message });
      return;
    }
    await ack({
      response_type: 'ephemeral',
      text: `Preparing the report of ${account ? `*${esc(account)}*` : 'every account'}: I'll send it to you by DM, with a CSV file.`,
    });
    await deps.dispatcher.dispatch({
      id: `report:${command.trigger_id}`,
      type: 'report',
      payload: { user: command.user_id, ...(account ? { account } : {}) },
    });
  },
};
