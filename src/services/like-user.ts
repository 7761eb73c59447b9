/**
 * "Copy permissions from an existing user", as the IAM console offers it (issue 22): `--like <user>` on create-user and
 * add-to-group takes the groups of an existing managed user, only those the policy lets the bot grant; the others are
 * named as skipped. From the ownership projection (one consistent read per user named), never from IAM.
 */
import { HOME } from '../aws/accounts.js';
import type { Deps } from '../deps.js';
import { ValidationError } from '../errors.js';

/** The groups `--like` copies, and those it leaves out with why. */
export interface LikeGroups {
  /** The existing user, as IAM spells it. */
  like: string;
  /** Its groups the policy lists, that the target does not hold yet. */
  groups: string[];
  /** Its groups the policy does not list: the bot never grants them. */
  skipped: string[];
  /** Its groups the target holds already. */
  held: string[];
}

const code = (s: string) => `\`${s}\``;

/**
 * The groups of managed IAM user `like` in `account` (default home) that the policy allows, minus those IAM user
 * `target` holds already (when named and known), from the projection read consistently. Throws ValidationError when
 * the bot knows no such user under the managed paths.
 */
export async function groupsLike(
  deps: Pick<Deps, 'store' | 'config'>,
  account: string | undefined,
  like: string,
  target?: string,
): Promise<LikeGroups> {
  const where = account ?? HOME;
  const [user, targetUser] = await Promise.all([
    deps.store.users.get(where, like, { consistent: true }),
    target ? deps.store.users.get(where, target, { consistent: true }) : undefined,
  ]);
  if (!user) {
    const message = `I know no IAM user ${code(like)} under the managed paths in ${where}: \`--like\` copies the groups of a user the bot manages.`;
    throw new ValidationError(message, { like: message });
  }
  const listed = new Set(deps.config.policy.groups.map((g) => g.name));
  const mine = new Set(targetUser?.groups ?? []);
  return {
    like: user.userName,
    groups: user.groups.filter((g) => listed.has(g) && !mine.has(g)),
    skipped: user.groups.filter((g) => !listed.has(g)),
    held: user.groups.filter((g) => listed.has(g) && mine.has(g)),
  };
}

/** What the requester is told of a copy: the groups taken, and those skipped with why. */
export function likeNote(copied: LikeGroups): string {
  const lines = [
    copied.groups.length
      ? `Copying the groups of ${code(copied.like)}: ${copied.groups.map(code).join(', ')}.`
      : `${code(copied.like)} has no group to copy.`,
  ];
  if (copied.skipped.length)
    lines.push(
      `Skipped (the policy does not let me grant ${copied.skipped.length > 1 ? 'them' : 'it'}): ${copied.skipped.map(code).join(', ')}.`,
    );
  if (copied.held.length) lines.push(`Already held: ${copied.held.map(code).join(', ')}.`);
  return lines.join('\n');
}
