import { helpOf } from '../../blocks/command-help.js';
import { esc } from '../../blocks/text.js';
import { BotError } from '../../errors.js';
import { submitOffboardRequest } from '../../services/kinds/offboard.js';
import { MAX_JUSTIFICATION } from '../../services/request-validation.js';
import { tokenizeCommand, unescapeSlack, userId } from './create-user-args.js';
import type { Subcommand } from './subcommand.js';

const USAGE = helpOf('offboard').usage;

/** Reads `@someone --reason "..."` (also `--reason=...`). Checks nothing against the policy. */
export function parseOffboardArgs(text: string): { member?: string; reason?: string; problems: string[] } {
  const problems: string[] = [];
  const { words, problem } = tokenizeCommand(text.trim());
  if (problem) problems.push(problem);
  let member: string | undefined;
  let reason: string | undefined;
  for (let i = 0; i < words.length; i++) {
    const word = words[i] as string;
    if (word === '--reason' || word === '--justification') {
      reason = words[i + 1] === undefined ? undefined : unescapeSlack(words[++i] as string);
      continue;
    }
    if (/^--(reason|justification)=/.test(word)) {
      reason = unescapeSlack(word.slice(word.indexOf('=') + 1));
      continue;
    }
    const id = userId(word);
    if (id && !member) member = id;
    else problems.push(`I don't know what \`${esc(unescapeSlack(word))}\` is for.`);
  }
  if (!member) problems.push('Name the person as a Slack mention (type @ and pick them).');
  if (!reason?.trim()) problems.push('Say why with `--reason "..."`.');
  else if (reason.length > MAX_JUSTIFICATION) problems.push(`Keep the reason within ${MAX_JUSTIFICATION} characters.`);
  return { ...(member ? { member } : {}), ...(reason ? { reason: reason.trim() } : {}), problems };
}

/**
 * `/iam offboard @someone --reason "..."`: approvers only. Asks, through approval, to do for someone still in Slack
 * (their last day, say) what the bot does when someone leaves: disable every IAM user they own.
 */
export const offboard: Subcommand = {
  ...helpOf('offboard'),
  async run({ deps, args, command, ack }) {
    const { member, reason, problems } = parseOffboardArgs(args);
    if (problems.length || !member || !reason) {
      await ack({ response_type: 'ephemeral', text: `${problems.join('\n')}\nUsage: \`${esc(USAGE)}\`` });
      return;
    }
    try {
      await submitOffboardRequest(deps, command.user_id, member, reason, {
        channel: command.channel_id,
        responseUrl: command.response_url,
      });
      // An empty ack: the worker answers once the request is posted (a slash command's response_url cannot replace
      // an ack's message, bolt-js#2287, so a "waiting" ack would stay above a refusal).
      await ack();
    } catch (error) {
      if (!(error instanceof BotError)) throw error;
      await ack({ response_type: 'ephemeral', text: error.message });
    }
  },
};
