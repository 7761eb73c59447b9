/**
 * Break-glass (issue 21): the owner of an IAM user adds it at once, without approval, to groups whose policy allows
 * it (`groups[].breakGlass`), for at most their break-glass duration, with a reason. It is a temporary membership
 * (the same run: added now, removed at the end by its wait step), with a loud post in the approval channel that an
 * approver must mark Reviewed within `reviewWithin` (default 24h), else the run posts an escalation naming the
 * approvers. The checks at submission, the messages and the Reviewed click live here; the run's steps in ./run.ts.
 * Store and Slack port only (no IAM call, no `@slack/*` import).
 */

import { context, esc, section, slackDate, user } from '../../blocks/text.js';
import { durationMs, type Policy } from '../../config.js';
import type { Deps } from '../../deps.js';
import { ConflictError, NotAuthorizedError } from '../../errors.js';
import type { Job } from '../../jobs/types.js';
import { logger } from '../../logger.js';
import { auditEvent } from '../../services/requests/audit.js';
import { authorizeApprover } from '../../services/requests/rules.js';
import { signalRun } from '../../services/runner/engine.js';
import type { AccessRequest } from '../../store/requests.js';
import { changeTitle, durationText } from '../summaries.js';
import { DEFAULT_REVIEW_WITHIN } from './break-glass-rules.js';

/** Action id of the Reviewed button (the break-glass post and its escalation). */
export const GRANT_REVIEWED = 'grant_break_glass_reviewed';

export { breakGlassProblem, checkBreakGlass, DEFAULT_REVIEW_WITHIN } from './break-glass-rules.js';

const code = (s: string) => `\`${esc(s)}\``;
const at = (iso: string | undefined) => (iso ? slackDate(new Date(iso)) : 'an unknown time');

/** How long after the addition an approver should review a break-glass grant of `groups`: the shortest `reviewWithin`. */
export function reviewWithinMs(policy: Policy, groups: readonly string[]): number {
  const of = policy.groups
    .filter((g) => groups.includes(g.name))
    .map((g) => durationMs(g.breakGlass?.reviewWithin ?? DEFAULT_REVIEW_WITHIN) ?? 86_400_000);
  return of.length ? Math.min(...of) : (durationMs(DEFAULT_REVIEW_WITHIN) as number);
}

const reviewedButton = (r: AccessRequest) => ({
  type: 'actions',
  elements: [
    {
      type: 'button',
      text: { type: 'plain_text', text: 'Reviewed' },
      action_id: GRANT_REVIEWED,
      value: r.id,
      style: 'primary',
    },
  ],
});

/** The loud post in the approval channel: break-glass, who, which user and groups, until when, why; Reviewed. */
export function breakGlassPost(r: AccessRequest) {
  const reviewed = r.grant?.breakGlass?.reviewed;
  const lines = [
    `:rotating_light: *BREAK-GLASS* by ${user(r.requester)}: ${changeTitle(r)} was added to ${r.groups.map(code).join(', ')} at once, without approval, for ${durationText(r.grant?.durationMs ?? 0)}, until ${at(r.grant?.endsAt)}.`,
    `*Reason:* ${esc(r.justification)}`,
    reviewed
      ? `:white_check_mark: Reviewed by ${user(reviewed.by)} ${at(reviewed.at)}.`
      : `An approver of ${r.groups.map(code).join(', ')} must review it by ${at(r.grant?.breakGlass?.reviewDueAt)}: press *Reviewed*.`,
  ];
  return {
    text: `BREAK-GLASS: ${r.userName} added to ${r.groups.join(', ')} by ${r.requester} until ${r.grant?.endsAt ?? '?'}`,
    blocks: [section(lines.join('\n')), ...(reviewed ? [] : [reviewedButton(r)]), context(`Request ${code(r.id)}`)],
  };
}

/** The escalation when nobody reviewed it in time: names (mentions) the approvers, with Reviewed. */
export function breakGlassEscalation(r: AccessRequest, approvers: readonly string[]) {
  const text = `:warning: *Break-glass not reviewed:* ${user(r.requester)} added ${changeTitle(r)} to ${r.groups.map(code).join(', ')} without approval ${at(r.grant?.startedAt)}, and nobody has marked it Reviewed since (due ${at(r.grant?.breakGlass?.reviewDueAt)}). ${approvers.length ? approvers.map(user).join(', ') : 'No approver is listed'}: please review it.\n*Reason:* ${esc(r.justification)}`;
  return {
    text: `Break-glass ${r.id} not reviewed: ${approvers.join(', ')}`,
    blocks: [section(text), reviewedButton(r), context(`Request ${code(r.id)}`)],
  };
}

/**
 * Reviewed, by `user`, on a break-glass grant (the button's value: its request id): only someone who may approve
 * its groups (listed, a full member of this workspace, not its requester: authorizeApprover) may mark it; once.
 * One conditional write with the `break-glass.reviewed` audit event, which wakes the run if asleep (its wait then
 * stops looking for an escalation); then the post shows who reviewed it (best effort). A second click, or a click
 * that loses a race, changes nothing. Throws NotAuthorizedError or ConflictError with the clicker's answer.
 */
export async function reviewBreakGlass(
  deps: Pick<Deps, 'store' | 'clock' | 'config' | 'messenger'>,
  value: string,
  who: string,
): Promise<{ request: AccessRequest; job?: Job; text: string }> {
  const r = await deps.store.requests.get(value);
  const glass = r?.grant?.breakGlass;
  if (r?.kind !== 'temporary-membership' || !r.grant || !glass)
    throw new NotAuthorizedError('There is no such break-glass grant.');
  await authorizeApprover(deps, r, who, 'review');
  if (glass.reviewed) throw new ConflictError(`Already reviewed by ${user(glass.reviewed.by)}.`);
  const now = deps.clock.now().toISOString();
  const grant = { ...r.grant, breakGlass: { ...glass, reviewed: { by: who, at: now } } };
  const out = await signalRun(deps, r, { grant }, (n) => [
    deps.store.audit.transactionItem(
      auditEvent(deps, n, who, 'break-glass.reviewed', { groups: r.groups, userName: r.userName }),
    ),
  ]);
  if (!out) throw new ConflictError('The grant changed just now: look again and press Reviewed if it is still needed.');
  if (glass.post)
    try {
      await deps.messenger.update(glass.post.channel, glass.post.ts, breakGlassPost(out.request));
    } catch (error) {
      logger.error('Could not update the break-glass post', { requestId: r.id, errorName: (error as Error)?.name });
    }
  return { ...out, text: `Marked reviewed: break-glass \`${r.id}\` (${r.userName} in ${r.groups.join(', ')}).` };
}
