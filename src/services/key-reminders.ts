/**
 * The buttons of a key-age reminder ("Rotate now", "Snooze"), decided from stored state, never from the payload: the
 * payload only names a key; the ownership projection (read consistently) must say the clicker owns its user and that
 * the key is still that user's.
 */
import * as z from 'zod/mini';
import { parseButtonValue } from '../blocks/button-value.js';
import type { Deps } from '../deps.js';
import { ConflictError, NotAuthorizedError } from '../errors.js';
import type { ProjectedUser } from '../store/users.js';

/** A key as a reminder's button names it. */
export interface KeyRef {
  account: string;
  userName: string;
  keyId: string;
}

const valueSchema = z.object({
  a: z.string().check(z.minLength(1), z.maxLength(40)),
  u: z.string().check(z.minLength(1), z.maxLength(64)),
  k: z.string().check(z.regex(/^[A-Z0-9]{16,128}$/)),
});

/** The key a button's value names (`{"a","u","k"}`), or undefined for a value this bot did not render. */
export function parseKeyRef(value: string | undefined): KeyRef | undefined {
  const parsed = parseButtonValue(valueSchema, value);
  return parsed && { account: parsed.a, userName: parsed.u, keyId: parsed.k };
}

const code = (s: string) => `\`${s}\``;

/**
 * Re-authorizes a click on a key's button from the projection (one consistent read): the clicker must be the owner of
 * the key's IAM user and the key must still be one of that user's. Throws NotAuthorizedError or ConflictError.
 */
export async function authorizeKeyClick(
  deps: Pick<Deps, 'store'>,
  clicker: string,
  ref: KeyRef,
): Promise<ProjectedUser> {
  const user = await deps.store.users.get(ref.account, ref.userName, { consistent: true });
  if (!user || user.owner !== clicker)
    throw new NotAuthorizedError(`Only the owner of IAM user ${code(ref.userName)} can do this.`);
  if (!user.keys.some((k) => k.id === ref.keyId))
    throw new ConflictError(`That access key is no longer a key of ${code(ref.userName)}: nothing to do.`);
  return user;
}

/**
 * Snoozes a key's reminders for the policy's `keys.snooze.days` (one transaction: the snooze and its audit event),
 * only for the owner of its user. Idempotent: a key snoozed now is not snoozed again (a double click answers when it
 * resumes). Refused politely past `keys.snooze.maxDaysPerKey` days in all. Returns when the reminders resume.
 */
export async function snoozeKey(
  deps: Pick<Deps, 'store' | 'clock' | 'config'>,
  clicker: string,
  ref: KeyRef,
): Promise<{ until: string; already: boolean }> {
  await authorizeKeyClick(deps, clicker, ref);
  const { days, maxDaysPerKey } = deps.config.policy.keys.snooze;
  const now = deps.clock.now();
  const current = await deps.store.reminders.snoozeOf(ref.account, ref.keyId);
  if (current && Date.parse(current.until) > now.getTime()) return { until: current.until, already: true };
  if (maxDaysPerKey === 0) throw new ConflictError('The policy does not allow snoozing key reminders: rotate the key.');
  if ((current?.days ?? 0) + days > maxDaysPerKey)
    throw new ConflictError(
      `This key's reminders were snoozed ${current?.days ?? 0} days already, and the policy allows ${maxDaysPerKey} in all. Time to rotate it: *Rotate now* does it in a minute.`,
    );
  const until = new Date(now.getTime() + days * 86_400_000).toISOString();
  const done = await deps.store.reminders.snooze(
    ref.account,
    ref.keyId,
    { until, days, maxDays: maxDaysPerKey, by: clicker, now },
    deps.store.audit.transactionItem({
      subject: `key#${ref.account}#${ref.keyId}`,
      at: now,
      actor: clicker,
      action: 'key.snoozed',
      detail: { account: ref.account, userName: ref.userName, keyId: ref.keyId, until, days },
    }),
  );
  if (!done) {
    const again = await deps.store.reminders.snoozeOf(ref.account, ref.keyId);
    if (again && Date.parse(again.until) > now.getTime()) return { until: again.until, already: true };
    throw new ConflictError('The snooze of this key changed just now; try again.');
  }
  return { until, already: false };
}
