/**
 * What each change kind asks, as one line ("add IAM user `build-bot` in *home* (`1234…`) to `ci-deployers`"): the
 * change messages' first line and DMs (src/blocks/change-request.ts) and the command replies read it here, by the
 * request's kind, instead of switching on its name. Imports only text helpers (./titles.ts) and the kinds' own lines
 * that import no more, so the blocks that render a change can import it without a cycle through the kind modules
 * (which import those blocks).
 */
import { esc, user } from '../blocks/text.js';
import type { RequestKind } from '../services/plans/types.js';
import type { AccessRequest } from '../store/requests.js';
import { kindIdOf } from './facts.js';
import { temporaryMembershipSummary } from './temporary-membership/summary.js';
import { changeTitle, groupsOf } from './titles.js';

export { changeTitle, durationText } from './titles.js';

const code = (s: string) => `\`${esc(s)}\``;

/** Each change kind's line; a kind without one is named by its user alone. */
export const KIND_SUMMARIES: Readonly<Partial<Record<RequestKind, (r: AccessRequest) => string>>> = {
  'add-to-group': (r) => `add ${changeTitle(r)} to ${groupsOf(r)}`,
  'remove-from-group': (r) => `remove ${changeTitle(r)} from ${groupsOf(r)}`,
  'set-owner': (r) => `make ${user(r.recipient)} the owner of ${changeTitle(r)}`,
  'rotate-key': (r) =>
    `rotate access key ${code(r.rotation?.oldKeyId ?? '?')} of ${changeTitle(r)} (new key to ${user(r.recipient)})`,
  'temporary-membership': temporaryMembershipSummary,
  'delete-user': (r) => `delete ${changeTitle(r)} (disabled at once, deleted after a safety window)`,
  offboard: (r) => `offboard ${user(r.offboard?.member ?? r.recipient)} (disable the IAM users they own)`,
};

/** One line saying what a change request asks, for the message's first line and DMs. */
export function changeSummary(r: AccessRequest): string {
  return KIND_SUMMARIES[kindIdOf(r)]?.(r) ?? `change ${changeTitle(r)}`;
}
