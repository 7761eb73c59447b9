import { helpOf } from '../../blocks/command-help.js';
import { esc } from '../../blocks/text.js';
import { parseChangeArgs } from './change-args.js';
import { submitInline } from './change-reply.js';
import type { Subcommand } from './subcommand.js';

const USAGE = helpOf('set-owner').usage;

/**
 * `/iam set-owner`: asks to make someone the owner of an IAM user (its `slack-user-id` tag), through approval:
 * checked without the network and stored; the worker asks IAM before posting and gives the command its one answer.
 */
export const setOwner: Subcommand = {
  ...helpOf('set-owner'),
  async run({ deps, args, command, ack }) {
    const { draft, problems } = parseChangeArgs('set-owner', args);
    if (!draft.userName) problems.push('Name the IAM user.');
    if (!draft.newOwner) problems.push('Name the new owner as a Slack mention (type @ and pick the person).');
    if (!draft.justification?.trim()) problems.push('Say why with `--reason "..."`.');
    if (problems.length) {
      await ack({ response_type: 'ephemeral', text: `${problems.join('\n')}\nUsage: \`${esc(USAGE)}\`` });
      return;
    }
    const text = await submitInline(deps, command.user_id, draft, {
      channel: command.channel_id,
      responseUrl: command.response_url,
    });
    await ack(text === undefined ? undefined : { response_type: 'ephemeral', text });
  },
};
