/**
 * Reasons that say something: a group of policy.yml may require the reason of a request for it to match a pattern
 * (`reasonPattern`, e.g. a ticket id), with a hint of what to write (`reasonHint`).
 */
import { type Policy, reasonRegExp } from '../config.js';

const compiled = new Map<string, RegExp>();
const regExpOf = (pattern: string): RegExp => {
  let re = compiled.get(pattern);
  if (!re) {
    re = reasonRegExp(pattern);
    compiled.set(pattern, re);
  }
  return re;
};

/**
 * Why `reason` will not do for a request about `groups`, or undefined when it matches the pattern of every one of
 * them that has one (groups the policy does not list are left to the caller's own check). Pure: reads the policy
 * only (its patterns were checked at load).
 */
export function reasonProblem(
  policy: Pick<Policy, 'groups'>,
  groups: readonly string[],
  reason: string,
): string | undefined {
  const unmet = policy.groups.filter(
    (g) => groups.includes(g.name) && g.reasonPattern !== undefined && !regExpOf(g.reasonPattern).test(reason.trim()),
  );
  if (!unmet.length) return undefined;
  return unmet
    .map(
      (g) =>
        `\`${g.name}\` needs a reason that matches \`${g.reasonPattern}\`${g.reasonHint ? `: ${g.reasonHint}` : ''}.`,
    )
    .join(' ');
}
