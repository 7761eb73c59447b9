import { helpOf } from '../../blocks/command-help.js';
import { esc } from '../../blocks/text.js';
import { type DeleteUserDraft, submitDeleteUser } from '../../kinds/delete-user/submit.js';
import { tokenizeCommand, unescapeSlack } from './create-user-args.js';
import type { Subcommand } from './subcommand.js';

const USAGE = helpOf('delete-user').usage;

/** Reads `<user> --reason "..." [--account name]` (flags also `--flag=value`). Checks nothing against IAM. */
export function parseDeleteUserArgs(text: string): { draft: DeleteUserDraft; problems: string[] } {
  const draft: DeleteUserDraft = {};
  const problems: string[] = [];
  const { words, problem } = tokenizeCommand(text.trim());
  if (problem) problems.push(problem);
  for (let i = 0; i < words.length; i++) {
    const word = words[i] as string;
    if (!word.startsWith('--')) {
      if (draft.userName === undefined) draft.userName = unescapeSlack(word);
      else problems.push(`Name one IAM user: I don't know what \`${esc(unescapeSlack(word))}\` is for.`);
      continue;
    }
    const eq = word.indexOf('=');
    const name = (eq < 0 ? word : word.slice(0, eq)).toLowerCase();
    if (!['--reason', '--justification', '--account'].includes(name)) {
      problems.push(`Unknown option \`${esc(name)}\`.`);
      continue;
    }
    let value = eq < 0 ? undefined : word.slice(eq + 1);
    if (value === undefined) {
      const next = words[i + 1];
      if (next === undefined || next.startsWith('--')) {
        problems.push(`\`${name}\` needs a value.`);
        continue;
      }
      value = next;
      i++;
    }
    if (name === '--account') draft.account = unescapeSlack(value);
    else draft.justification = unescapeSlack(value);
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
