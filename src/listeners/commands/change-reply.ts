import { changeSummary } from '../../blocks/change-request.js';
import { esc } from '../../blocks/text.js';
import type { Deps } from '../../deps.js';
import { ValidationError } from '../../errors.js';
import { atOnceAnswer } from '../../kinds/change.js';
import {
  type ChangeDraft,
  type ChangeOutcome,
  checkChangeLocally,
  submitChangeRequest,
} from '../../services/kinds/change-requests.js';

/** What the requester reads once a change request is stored. */
export function submittedText(deps: Pick<Deps, 'config'>, outcome: ChangeOutcome): string {
  const { request, atOnce } = outcome;
  const channel = deps.config.policy.approvals.channel;
  if (atOnce) return atOnceAnswer(request, atOnce, channel);
  return `Your request \`${request.id}\` to ${changeSummary(request)} is waiting for approval in <#${channel}>. I'll DM you when it is decided.`;
}

/**
 * Checks and submits a change typed inline; returns the reply for the requester's ack: the problems, one per line, or
 * undefined once the request is stored: the worker answers the command (a slash command's response_url cannot
 * replace an ack's message, bolt-js#2287, so a "checking" ack would stay above the real answer). The change is
 * checked here without the network and stored (one write, one hand-off): the worker asks IAM and STS (the kind's
 * verify step), then decides whether it needs approval at all (a removal by the user's owner, which only IAM's tag
 * says; break-glass) and runs it at once or posts it, so on a cold container the answer waits for 2 calls, not 7
 * (issue 19). Throws only what is not a ValidationError.
 */
export async function submitInline(
  deps: Deps,
  requester: string,
  draft: ChangeDraft,
  where: { channel: string; responseUrl: string },
): Promise<string | undefined> {
  try {
    const checked = checkChangeLocally(deps.config.policy, draft);
    await submitChangeRequest(deps, requester, checked, { channel: where.channel, responseUrl: where.responseUrl });
    return undefined;
  } catch (error) {
    if (!(error instanceof ValidationError)) throw error;
    const lines = Object.values(error.fields).map((m) => `• ${esc(m)}`);
    return `I can't ask for that yet:\n${(lines.length ? lines : [`• ${esc(error.message)}`]).join('\n')}`;
  }
}
