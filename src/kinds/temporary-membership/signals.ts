/**
 * The buttons of a temporary membership (the DM before its end, the App Home): Extend and "Done, remove now", each a
 * signal to the grant's run (src/services/runner/engine.ts signalRun), re-authorized from the stored request, never
 * from the payload. Loaded by the Slack function: the store only, no IAM call (the worker removes).
 */

import { durationMs } from '../../config.js';
import type { Deps } from '../../deps.js';
import { ConflictError, NotAuthorizedError } from '../../errors.js';
import type { Job } from '../../jobs/types.js';
import { auditEvent } from '../../services/requests/audit.js';
import { signalRun } from '../../services/runner/engine.js';
import type { AccessRequest } from '../../store/requests.js';
import { askExtension } from './extension.js';
import type { GrantState } from './item.js';

export type GrantClick = 'extend' | 'done';

/** What a click did: the request as stored, the worker job that wakes its run (if asleep), the clicker's answer. */
export interface GrantClickOutcome {
  request: AccessRequest;
  job?: Job;
  text: string;
}

const when = (iso: string) => `${iso.replace('T', ' ').slice(0, 16)} UTC`;

/**
 * The grant's limits under today's policy, across its groups: the fewest extensions, the shortest `maxDuration`, and
 * whether any group wants an extension approved.
 */
export function grantLimits(policy: Deps['config']['policy'], groups: string[]) {
  const listed = policy.groups.filter((g) => groups.includes(g.name));
  return {
    maxExtensions: Math.min(...listed.map((g) => g.maxExtensions), groups.length === listed.length ? 99 : 0),
    maxDurationMs: Math.min(...listed.map((g) => durationMs(g.maxDuration) ?? 0)),
    needsApproval: listed.some((g) => g.extensionNeedsApproval),
  };
}

/**
 * Extend or "Done, remove now", by `user`, on the button value `id|endsAt` (the end the reader saw). Only the user's
 * owner or the requester may click; only while the membership is added and not ending. Extend moves the end by the
 * grant's duration (at most the groups' shortest `maxDuration`), within the groups' `maxExtensions`, or, where a
 * group's `extensionNeedsApproval` says so, asks for that in the approval channel (./extension.ts); a click on an end that has moved since (a double click, a second
 * reader) changes nothing. Done asks the run to remove now; a second Done changes nothing. One conditional write each,
 * with its audit event, which wakes the run (see signalRun). Throws NotAuthorizedError or ConflictError with the
 * clicker's answer.
 */
export async function clickGrant(
  deps: Pick<Deps, 'store' | 'clock' | 'config' | 'messenger'>,
  value: string,
  user: string,
  click: GrantClick,
): Promise<GrantClickOutcome> {
  const [id = '', seenEnd = ''] = value.split('|');
  const r = await deps.store.requests.get(id);
  const grant = r?.grant;
  if (r?.kind !== 'temporary-membership' || !grant)
    throw new NotAuthorizedError('There is no such temporary membership.');
  if (user !== r.owner && user !== r.requester)
    throw new NotAuthorizedError(
      `Only ${r.owner ? `<@${r.owner}>, who owns IAM user ${r.userName}, or ` : ''}<@${r.requester}>, who asked for it, can do this.`,
    );
  if (r.status !== 'done' || !grant.endsAt)
    throw new ConflictError('The membership is not added (yet): nothing to change.');
  if (grant.endedAt || grant.endNow) throw new ConflictError('The membership has ended, or is being removed now.');
  const now = deps.clock.now();
  const signal = async (next: GrantState, action: string, detail: Record<string, string | number>, text: string) => {
    const out = await signalRun(deps, r, { grant: next }, (n) => [
      deps.store.audit.transactionItem(auditEvent(deps, n, user, action, { groups: r.groups, ...detail })),
    ]);
    if (!out) throw new ConflictError('The membership changed just now; look at your latest DM.');
    return { ...out, text };
  };
  if (click === 'done')
    return signal(
      { ...grant, endNow: { by: user, at: now.toISOString() } },
      'grant.done',
      { endsAt: grant.endsAt },
      `Removing IAM user ${r.userName} from ${r.groups.join(', ')} now; I'll DM you once it is done.`,
    );
  if (seenEnd !== grant.endsAt)
    throw new ConflictError(`Already extended: the membership now ends ${when(grant.endsAt)}.`);
  if (grant.breakGlass)
    throw new ConflictError(
      `A break-glass membership is not extended: it ends ${when(grant.endsAt)}. Ask \`/iam add-to-group ${r.userName} ${r.groups.join(' ')} --for <time> --reason "..."\` for approval, or break glass again once it ends.`,
    );
  const limits = grantLimits(deps.config.policy, r.groups);
  if (grant.extensions >= limits.maxExtensions)
    throw new ConflictError(
      `This membership was extended ${grant.extensions} time${grant.extensions === 1 ? '' : 's'}: the most its groups allow. It ends ${when(grant.endsAt)}.`,
    );
  const endsAt = new Date(Date.parse(grant.endsAt) + Math.min(grant.durationMs, limits.maxDurationMs)).toISOString();
  // a group wants it approved: an ask in the approval channel (./extension.ts), decided by its approvers
  if (limits.needsApproval) return askExtension(deps, r, { ...grant, endsAt: grant.endsAt }, user, endsAt);
  return signal(
    { ...grant, endsAt, extensions: grant.extensions + 1 },
    'grant.extended',
    { from: grant.endsAt, endsAt, extensions: grant.extensions + 1 },
    `Extended: IAM user ${r.userName} stays in ${r.groups.join(', ')} until ${when(endsAt)}.`,
  );
}
