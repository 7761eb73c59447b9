import { changeSummary } from '../../blocks/change-request.js';
import { esc } from '../../blocks/text.js';
import type { Deps } from '../../deps.js';
import { ValidationError } from '../../errors.js';
import { CHANGE_RULES } from '../../kinds/change-rules.js';
import { kindOf } from '../../kinds/registry.js';
import {
  type ChangeDraft,
  type ChangeOutcome,
  checkChangeDraft,
  checkChangeLocally,
  submitChangeRequest,
} from '../../services/kinds/change-requests.js';

/** What the requester reads once a change request is stored. */
export function submittedText(deps: Pick<Deps, 'config'>, outcome: ChangeOutcome): string {
  const { request, atOnce } = outcome;
  const what = changeSummary(request);
  if (atOnce === 'break-glass')
    return `:rotating_light: Break-glass \`${request.id}\`: ${what}, at once and without approval. The approval channel <#${deps.config.policy.approvals.channel}> is told, and an approver will review it. I'll DM you once it is added.`;
  if (atOnce)
    return `Request \`${request.id}\`: ${what}. ${atOnce === 'owner' ? 'You own this user' : 'You approve these groups'}, so it needs no approval: I'm doing it now and will DM you when it is done.`;
  return `Your request \`${request.id}\` to ${what} is waiting for approval in <#${deps.config.policy.approvals.channel}>. I'll DM you when it is decided.`;
}

/**
 * Checks and submits a change typed inline; returns the reply for the requester's ack: the problems, one per line,
 * what happens next for a change done at once, or undefined for one sent for approval: the worker answers the
 * command once it is posted or refused (a slash command's response_url cannot replace an ack's message,
 * bolt-js#2287, so a "waiting" ack would stay above a refusal). A kind that always goes to approval is checked here
 * without the network and stored (one write, one hand-off): the worker asks IAM and STS before it posts (the kind's
 * verify step), so on a cold container the answer waits for 2 calls, not 7 (issue 19). A removal may be done at
 * once for the user's owner, which only IAM's tag says: it is checked with IAM here. Throws only what is not a
 * ValidationError.
 */
export async function submitInline(
  deps: Deps,
  requester: string,
  draft: ChangeDraft,
  where: { channel: string; responseUrl: string },
): Promise<string | undefined> {
  try {
    const checked =
      CHANGE_RULES[draft.kind].atOnce || kindOf({ kind: draft.kind }).draft?.mayBeAtOnce?.(draft)
        ? await checkChangeDraft(deps, draft)
        : checkChangeLocally(deps.config.policy, draft);
    const outcome = await submitChangeRequest(deps, requester, checked, {
      channel: where.channel,
      responseUrl: where.responseUrl,
    });
    return outcome.atOnce ? submittedText(deps, outcome) : undefined;
  } catch (error) {
    if (!(error instanceof ValidationError)) throw error;
    const lines = Object.values(error.fields).map((m) => `• ${esc(m)}`);
    return `I can't ask for that yet:\n${(lines.length ? lines : [`• ${esc(error.message)}`]).join('\n')}`;
  }
}
