import { helpOf } from '../../blocks/command-help.js';
import { esc } from '../../blocks/text.js';
import { type DeleteUserDraft, submitDeleteUser } from '../../kinds/delete-user/submit.js';
import { commandTokens, SHARED_FLAGS } from './change-args.js';
import { unescapeSlack } from './create-user-args.js';
import type { Subcommand } from './subcommand.js';

const USAGE = helpOf('delete-user').usage;

/**
 * Reads `<user> --reason "..." [--account name]` (flags also `--flag=value`) with the change commands' reader
 * (commandTokens: the shared flags, no kind's). Checks nothing against IAM.
 */
export function parseDeleteUserArgs(text: string): { draft: DeleteUserDraft; problems: string[] } {
  const draft: DeleteUserDraft = {};
  const problems: string[] = [];
  for (const token of commandTokens(text, SHARED_FLAGS)) {
    if (token.type === 'problem') problems.push(token.text);
    else if (token.type === 'word') {
      if (draft.userName === undefined) draft.userName = unescapeSlack(token.text);
      else problems.push(`Name one IAM user: I don't know what \`${esc(unescapeSlack(token.text))}\` is for.`);
    } else if (token.name === '--account') draft.account = unescapeSlack(token.value);
    else draft.justification = unescapeSlack(token.value);
  }
  if (!draft.userName) problems.push('Name the IAM user to delete.');
  if (!draft.justification?.trim()) problems.push('Say why with `--reason "..."`.');
  return { draft, problems };
}

/**
 * `/iam delete-user`: asks to delete an IAM user, through approval (disabled at approval, deleted after the window).
 * A refusal is the ack's answer; a request posted for approval is acked with no message and answered by the worker.
 */
export const deleteUser: Subcommand = {
  ...helpOf('delete-user'),
  async run({ deps, args, command, ack }) {
    const { draft, problems } = parseDeleteUserArgs(args);
    if (problems.length) {
      await ack({ response_type: 'ephemeral', text: `${problems.join('\n')}\nUsage: \`${esc(USAGE)}\`` });
      return;
    }
    // a ValidationError or NotAuthorizedError (BotError) is answered by the router in the ack
    await submitDeleteUser(deps, command.user_id, draft, {
      channel: command.channel_id,
      responseUrl: command.response_url,
    });
    await ack();
  },
};
