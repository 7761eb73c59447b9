import { helpOf } from '../../blocks/command-help.js';
import { esc } from '../../blocks/text.js';
import type { RotationDraft } from '../../kinds/rotate-key/rotation.js';
import { submitRotationCommand } from '../../services/rotate-key-answer.js';
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
    // One answer under the command, given by the worker once it has asked IAM (the kind's verify step): the refusal,
    // the offer to delete an inactive key first, "it runs now", or "waiting for approval". The command is acked with
    // no message (a slash command's response_url cannot replace an ack's message, bolt-js#2287); only a malformed
    // command or a rotation of the user under way is answered here. Before the answer: the user's rotation pointer,
    // one transactional write (whose condition checks that an earlier rotation of the user has ended: no read of it)
    // and the hand-off (issue 19: no STS or IAM call on a cold container before Slack's 3 s; 3 calls in every case).
    const answer = await submitRotationCommand(deps, command.user_id, draft, command.channel_id, command.response_url);
    await ack(answer ? { response_type: 'ephemeral', ...answer } : undefined);
  },
};
