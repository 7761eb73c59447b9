/**
 * Break-glass's rules at submission (src/kinds/temporary-membership/break-glass.ts): pure, against the policy, so the
 * kind's draft checks (./draft.ts, loaded by the Slack function) import no request life cycle.
 */

import { esc } from '../../blocks/text.js';
import { durationMs, type Policy } from '../../config.js';
import { ValidationError } from '../../errors.js';

/** The default time an approver has to mark a break-glass grant Reviewed. */
export const DEFAULT_REVIEW_WITHIN = '24h';

const code = (s: string) => `\`${esc(s)}\``;

/**
 * What forbids a break-glass grant of `groups` for `ms` under the policy (one line), or undefined: every group must
 * allow break-glass, and `ms` be within each group's break-glass `maxDuration`.
 */
export function breakGlassProblem(policy: Policy, groups: readonly string[], ms: number): string | undefined {
  const listed = policy.groups.filter((g) => groups.includes(g.name));
  const closed = listed.filter((g) => !g.breakGlass);
  if (closed.length)
    return `${closed.map((g) => code(g.name)).join(', ')} ${closed.length > 1 ? 'do' : 'does'} not allow break-glass: ask without \`--break-glass\`, for approval.`;
  const tooLong = listed.filter((g) => ms > (durationMs(g.breakGlass?.maxDuration ?? '') ?? 0));
  if (tooLong.length)
    return `${tooLong.map((g) => `${code(g.name)} allows break-glass for at most ${g.breakGlass?.maxDuration}`).join('; ')}: ask for less.`;
  return undefined;
}

/**
 * Throws ValidationError unless `requester` may break glass on the checked change: they own its IAM user (its
 * `slack-user-id` tag, as IAM says now), and the groups allow it for that long (see breakGlassProblem).
 */
export function checkBreakGlass(
  policy: Policy,
  change: { userName: string; groups: string[]; owner?: string; durationMs?: number },
  requester: string,
): void {
  const problems: Record<string, string> = {};
  if (change.owner !== requester)
    problems.userName = `Break-glass is for an IAM user you own: ${code(change.userName)} is not yours (its owner tag names ${change.owner ? 'someone else' : 'nobody'}). Ask without \`--break-glass\`, for approval.`;
  const problem = breakGlassProblem(policy, change.groups, change.durationMs ?? 0);
  if (problem) problems.duration = problem;
  if (Object.keys(problems).length) throw new ValidationError(Object.values(problems).join('\n'), problems);
}
