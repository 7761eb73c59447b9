import { helpMessage } from '../blocks/help.js';
import { context, esc, sections } from '../blocks/text.js';
import { maskKeyId, usersMessage } from '../blocks/users.js';
import type { Deps } from '../deps.js';
import { logger } from '../logger.js';
import { type RotationView, rotationStateOf } from './kinds/rotate-key.js';
import { usersOwnedBy } from './user-lookup.js';

/** Users whose key rotation the App Home looks up (two reads each). */
const ROTATIONS_SHOWN = 10;

/** One line on where a user's key rotation stands, from its state. */
export function rotationSummary(userName: string, v: RotationView): string {
  const old = `\`${maskKeyId(v.oldKeyId)}\``;
  const until = (iso?: string) => (iso ? `<!date^${Math.floor(Date.parse(iso) / 1000)}^{date_short}|${iso}>` : 'soon');
  const phase = v.phase ?? v.status;
  const what: Record<string, string> = {
    grace: `new key delivered; old key ${old} stays active until ${until(v.graceEndsAt)}`,
    'still-in-use': `old key ${old} is still in use; it stays active until ${until(v.graceEndsAt)}`,
    reactivated: `old key ${old} reactivated; deactivated again ${until(v.graceEndsAt)}`,
    deactivated: `old key ${old} inactive; deleted ${until(v.deleteAt)} (Reactivate works until then)`,
    deleted: `done: old key ${old} deleted`,
    cancelled: `cancelled: the new key's link was never opened; old key ${old} untouched`,
    escalated: `old key ${old} still in use after the grace period: the approvers were asked`,
  };
  return `• \`${esc(userName)}\`: ${what[phase] ?? `${esc(phase)} (old key ${old})`}`;
}

/**
 * Publishes a person's App Home: the IAM users they own (from the ownership projection: one read) with where each
 * one's key rotation stands (for the first few), then how to use the bot. Runs in the worker, after the Slack function
 * acknowledged the event. Reads only; a Slack failure is thrown (the job is retried).
 */
export async function publishHome(
  deps: Pick<Deps, 'store' | 'messenger' | 'clock' | 'config'>,
  viewer: string,
  commands: Parameters<typeof helpMessage>[0],
): Promise<void> {
  const now = deps.clock.now();
  let owned: Awaited<ReturnType<typeof usersOwnedBy>> | undefined;
  try {
    owned = await usersOwnedBy(deps, viewer);
  } catch (error) {
    // The tab still shows how to use the bot.
    logger.error("Could not read the App Home viewer's IAM users", { errorName: (error as Error)?.name });
  }
  const { users, more } = owned ?? { users: [], more: false };
  const rotations = (
    await Promise.all(
      users.slice(0, ROTATIONS_SHOWN).map(async (u) => {
        const v = await rotationStateOf(deps, u.account, u.userName);
        return v && v.phase !== 'deleted' && v.phase !== 'cancelled' ? rotationSummary(u.userName, v) : undefined;
      }),
    )
  ).filter((line): line is string => Boolean(line));
  const mine = owned
    ? usersMessage({ owner: viewer, users, more, now, keys: deps.config.policy.keys }).blocks
    : sections(['I could not read your IAM users just now; `/iam users` shows them.']);
  const blocks = [
    ...sections(['*Your IAM users*']),
    ...mine,
    ...(rotations.length ? sections(['*Key rotations under way*', ...rotations]) : []),
    { type: 'divider' },
    ...(helpMessage(commands).blocks as unknown[]),
    context('Refreshed each time you open this tab.'),
  ];
  await deps.messenger.publishHome(viewer, blocks.slice(0, 100));
}
