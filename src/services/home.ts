import { helpMessage } from '../blocks/help.js';
import { type HomeInput, homeView, type WaitingRequest } from '../blocks/home.js';
import { esc } from '../blocks/text.js';
import { maskKeyId } from '../blocks/users.js';
import type { Deps } from '../deps.js';
import { homeSections } from '../kinds/registry.js';
import { type RotationView, rotationStateOf } from '../kinds/rotate-key/rotation.js';
import { logger } from '../logger.js';
import type { AccessRequest } from '../store/requests.js';
import { reviewsToAnswer } from './access-review.js';
import { isApprover, mayDecide, ruleOf } from './requests.js';
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
 * The requests `viewer` may decide now (Approve or Deny, by the same rules as the clicks), oldest first. Reads the
 * pending requests (see RequestStore.pendingAt; `pendingNow`: a read shared by several viewers), no IAM.
 */
export async function requestsWaitingFor(
  deps: Pick<Deps, 'store' | 'messenger' | 'clock' | 'config'>,
  viewer: string,
  pendingNow?: () => Promise<AccessRequest[]>,
): Promise<WaitingRequest[]> {
  const pending = await (pendingNow?.() ?? deps.store.requests.pendingAt(deps.clock.now()));
  const out: WaitingRequest[] = [];
  for (const request of pending) {
    const may = await mayDecide(deps, request, viewer);
    // Who approved already has nothing more to approve (a second click is refused): Deny only.
    const approve = may.approve && !request.approvals.some((a) => a.user === viewer);
    if (approve || may.deny)
      out.push({
        request,
        approve,
        deny: may.deny,
        requiredApprovals: ruleOf(deps.config.policy, request).requiredApprovals,
      });
  }
  return out;
}

/**
 * Publishes a person's App Home (see homeView): the IAM users they own (from the ownership projection: one read) with
 * each key's age, status, last use and Rotate now / Snooze buttons, where the first few users' key rotations stand,
 * for approvers the requests waiting for them with Approve / Deny, then how to use the bot. Runs in the worker (on
 * app_home_opened, and after a change that concerns the viewer). Reads only, so publishing twice is harmless; a part
 * that cannot be read is said so and the rest still shows; a Slack failure is thrown (the job is retried).
 */
export async function publishHome(
  deps: Pick<Deps, 'store' | 'messenger' | 'clock' | 'config'>,
  viewer: string,
  commands: Parameters<typeof helpMessage>[0],
  pendingNow?: () => Promise<AccessRequest[]>,
): Promise<void> {
  const now = deps.clock.now();
  let owned: Awaited<ReturnType<typeof usersOwnedBy>> | undefined;
  try {
    owned = await usersOwnedBy(deps, viewer);
  } catch (error) {
    // The tab still shows how to use the bot.
    logger.error("Could not read the App Home viewer's IAM users", { errorName: (error as Error)?.name });
  }
  const channel = deps.config.policy.approvals.channel;
  let approver: HomeInput['approver'];
  try {
    if (await isApprover(deps, viewer)) {
      approver = { waiting: [], channel, unreadable: true };
      approver = { waiting: await requestsWaitingFor(deps, viewer, pendingNow), channel };
    }
  } catch (error) {
    logger.error('Could not read the requests waiting for the App Home viewer', {
      errorName: (error as Error)?.name,
    });
  }
  const users = owned?.users ?? [];
  const rotations = (
    await Promise.all(
      users.slice(0, ROTATIONS_SHOWN).map(async (u) => {
        const v = await rotationStateOf(deps, u.account, u.userName);
        return v && v.phase !== 'deleted' && v.phase !== 'cancelled' ? rotationSummary(u.userName, v) : undefined;
      }),
    )
  ).filter((line): line is string => Boolean(line));
  // the kinds' sections (e.g. the memberships for a time under way), each on its own: one that fails is left out
  const kindSections = (
    await Promise.all(
      homeSections().map(async (section) => {
        try {
          return await section.blocks(deps, users, now);
        } catch (error) {
          logger.error(`Could not read the App Home viewer's ${section.name}`, { errorName: (error as Error)?.name });
          return [];
        }
      }),
    )
  ).flat();
  // the access reviews waiting for the viewer's answers (left out when they cannot be read)
  let reviews: HomeInput['reviews'];
  try {
    reviews = await reviewsToAnswer(deps, viewer, users);
  } catch (error) {
    logger.error("Could not read the App Home viewer's access reviews", { errorName: (error as Error)?.name });
  }
  const blocks = homeView({
    viewer,
    owned,
    now,
    keys: deps.config.policy.keys,
    rotations,
    ...(reviews?.length ? { reviews } : {}),
    kindSections,
    ...(approver ? { approver } : {}),
    help: helpMessage(commands).blocks,
  });
  await deps.messenger.publishHome(viewer, blocks);
}
