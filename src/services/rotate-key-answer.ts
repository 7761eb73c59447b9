import { offerDeleteFirstMessage } from '../blocks/rotation.js';
import { esc } from '../blocks/text.js';
import type { Deps } from '../deps.js';
import { BotError, ConflictError, ValidationError } from '../errors.js';
import { rotationRefusal } from '../kinds/rotate-key/check.js';
import {
  checkRotation,
  type RotationDraft,
  submitRotation,
  submitTypedRotation,
} from '../kinds/rotate-key/rotation.js';
import type { OutgoingMessage } from './ports.js';

/**
 * Checks and submits a rotation; the answer for the requester: the refusal, the offer to delete an inactive key
 * first (a button), or what happens next. With `responseUrl` (a slash command's, acked with no message), a rotation
 * posted for approval has no answer here (undefined): the worker gives it there once the request is posted, or the
 * refusal if it cannot be.
 */
export async function answerRotation(
  deps: Deps,
  requester: string,
  draft: RotationDraft,
  channel: string,
): Promise<OutgoingMessage>;
export async function answerRotation(
  deps: Deps,
  requester: string,
  draft: RotationDraft,
  channel: string,
  responseUrl: string | undefined,
): Promise<OutgoingMessage | undefined>;
export async function answerRotation(
  deps: Deps,
  requester: string,
  draft: RotationDraft,
  channel: string,
  responseUrl?: string,
): Promise<OutgoingMessage | undefined> {
  try {
    const check = await checkRotation(deps, draft);
    if (check.kind === 'offer-delete') {
      const value = JSON.stringify({ u: check.userName, a: check.account, k: check.keyId, d: check.inactiveKeyId });
      return offerDeleteFirstMessage(check.userName, check.keyId, check.inactiveKeyId, value);
    }
    const { request, atOnce } = await submitRotation(deps, requester, check.rotation, {
      channel,
      ...(responseUrl ? { responseUrl } : {}),
    });
    if (!atOnce && responseUrl) return undefined;
    const text = atOnce
      ? `Rotation \`${request.id}\` of access key \`${check.rotation.oldKeyId}\` of \`${esc(request.userName)}\`: you own this user, so it needs no approval. The new key comes by one-time link in a DM; the old key stays active for ${deps.config.policy.keys.rotationGraceDays} days.`
      : `Your rotation \`${request.id}\` of access key \`${check.rotation.oldKeyId}\` of \`${esc(request.userName)}\` is waiting for approval in <#${deps.config.policy.approvals.channel}>. The new key goes to <@${request.recipient}>.`;
    return { text };
  } catch (error) {
    if (error instanceof ValidationError) return { text: rotationRefusal(error.message) };
    if (error instanceof BotError) return { text: error.message };
    throw error;
  }
}

/**
 * `/iam rotate-key` as typed: stores the rotation checked without the network and hands it to the worker, which asks
 * IAM and gives the command its one answer through `responseUrl` (see submitTypedRotation). Returns the answer to
 * give at once instead: a malformed command, or a rotation of the user under way; undefined otherwise.
 */
export async function submitRotationCommand(
  deps: Deps,
  requester: string,
  draft: RotationDraft,
  channel: string,
  responseUrl: string,
): Promise<OutgoingMessage | undefined> {
  try {
    await submitTypedRotation(deps, requester, draft, { channel, responseUrl });
    return undefined;
  } catch (error) {
    if (error instanceof ValidationError) return { text: rotationRefusal(error.message) };
    if (error instanceof ConflictError || error instanceof BotError) return { text: error.message };
    throw error;
  }
}
