import { offerDeleteFirstMessage } from '../../blocks/rotation.js';
import { esc } from '../../blocks/text.js';
import type { Deps } from '../../deps.js';
import { BotError, ValidationError } from '../../errors.js';
import { checkRotation, type RotationDraft, submitRotation } from '../../services/kinds/rotate-key.js';
import type { OutgoingMessage } from '../../services/ports.js';
import type { Subcommand } from './subcommand.js';

const USAGE = '/iam rotate-key <iam-user> [key-id] [--account name]';

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

/**
 * Checks and submits a rotation; the answer for the requester: the refusal, the offer to delete an inactive key
 * first (a button), or what happens next.
 */
export async function answerRotation(
  deps: Deps,
  requester: string,
  draft: RotationDraft,
  channel: string,
): Promise<OutgoingMessage> {
  try {
    const check = await checkRotation(deps, draft);
    if (check.kind === 'offer-delete') {
      const value = JSON.stringify({ u: check.userName, a: check.account, k: check.keyId, d: check.inactiveKeyId });
      return offerDeleteFirstMessage(check.userName, check.keyId, check.inactiveKeyId, value);
    }
    const { request, atOnce } = await submitRotation(deps, requester, check.rotation, { channel });
    const text = atOnce
      ? `Rotation \`${request.id}\` of access key \`${check.rotation.oldKeyId}\` of \`${esc(request.userName)}\`: you own this user, so it needs no approval. The new key comes by one-time link in a DM; the old key stays active for ${deps.config.policy.keys.rotationGraceDays} days.`
      : `Your rotation \`${request.id}\` of access key \`${check.rotation.oldKeyId}\` of \`${esc(request.userName)}\` is waiting for approval in <#${deps.config.policy.approvals.channel}>. The new key goes to <@${request.recipient}>.`;
    return { text };
  } catch (error) {
    if (error instanceof ValidationError) return { text: `I can't rotate that key:\n• ${esc(error.message)}` };
    if (error instanceof BotError) return { text: error.message };
    throw error;
  }
}

/** `/iam rotate-key`: rotates an access key (new key by one-time link, old key retired after a grace period). */
export const rotateKey: Subcommand = {
  name: 'rotate-key',
  summary:
    "rotates an access key: a new key by one-time link, the old one deactivated after the grace period and deleted after the recovery period; at once for the user's owner, else after approval.",
  usage: USAGE,
  example: '/iam rotate-key build-bot',
  async run({ deps, args, command, ack }) {
    const { draft, problems } = parseRotateArgs(args);
    if (problems.length) {
      await ack({ response_type: 'ephemeral', text: `${problems.join('\n')}\nUsage: \`${esc(USAGE)}\`` });
      return;
    }
    const answer = await answerRotation(deps, command.user_id, draft, command.channel_id);
    await ack({ response_type: 'ephemeral', ...answer });
  },
};
