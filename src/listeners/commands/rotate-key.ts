import { helpOf } from '../../blocks/command-help.js';
import { esc } from '../../blocks/text.js';
import type { RotationDraft } from '../../kinds/rotate-key/rotation.js';
import { answerRotation } from '../../services/rotate-key-answer.js';
import type { Subcommand } from './subcommand.js';

const USAGE = helpOf('rotate-key').usage;

/** Reads `<user> [key-id] [--account name]`. */
export function parseRotateArgs(args: string): { draft: RotationDraft; problems: string[] } {
  const words = args.trim().split(/\s+/).filter(Boolean);
  const draft: RotationDraft = {};
  const problems: string[] = [];
  const positional: string[] = [];
  for (let i = 0; i < words.length; i++) {
    const w = words[i] as string;
    if (w === '--account') {
      const name = words[++i];
      if (!name) problems.push('`--account` needs an account name.');
      else draft.account = name;
    } else if (w.startsWith('--')) problems.push(`I don't know \`${esc(w)}\`.`);
    else positional.push(w);
  }
  if (positional.length > 2) problems.push('Name one user and at most one key.');
  if (positional[0]) draft.userName = positional[0];
  if (positional[1]) draft.keyId = positional[1];
  if (!draft.userName) problems.push('Name the IAM user whose key to rotate.');
  return { draft, problems };
}

/** `/iam rotate-key`: rotates an access key (new key by one-time link, old key retired after a grace period). */
export const rotateKey: Subcommand = {
  ...helpOf('rotate-key'),
  async run({ deps, args, command, ack }) {
    const { draft, problems } = parseRotateArgs(args);
    if (problems.length) {
      await ack({ response_type: 'ephemeral', text: `${problems.join('\n')}\nUsage: \`${esc(USAGE)}\`` });
      return;
    }
    // One answer under the command: a refusal, the offer to delete an inactive key first, or "it runs now" in the
    // ack; a rotation posted for approval is acked with no message and answered by the worker ("waiting", or why it
    // could not be posted), since a slash command's response_url cannot replace an ack's message (bolt-js#2287).
    const answer = await answerRotation(deps, command.user_id, draft, command.channel_id, command.response_url);
    await ack(answer ? { response_type: 'ephemeral', ...answer } : undefined);
  },
};
