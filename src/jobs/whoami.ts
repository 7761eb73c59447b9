import * as z from 'zod/mini';
import { whoamiMessage } from '../blocks/whoami.js';
import type { Deps } from '../deps.js';
import { describeAccounts } from '../services/accounts.js';
import { approverStandings } from '../services/approver-standing.js';
import { isApprover } from '../services/requests.js';

/**
 * `responseUrl` is absent when an approver re-ran the failed job from `/iam jobs`: nobody is left to answer. `user`:
 * who asked (absent in a job queued before it was added).
 */
const payloadSchema = z.object({ responseUrl: z.optional(z.url()), user: z.optional(z.string()) });

/**
 * Looks up the accounts (slow: STS per account) and answers the `/iam whoami` that asked; to an approver, also which
 * listed approvers cannot approve (users.info about each, see approverStandings).
 */
export async function whoamiJob(deps: Deps, payload: Record<string, unknown>): Promise<void> {
  const { responseUrl, user } = payloadSchema.parse(payload);
  if (!responseUrl) return;
  const [accounts, approvers] = await Promise.all([
    describeAccounts(deps),
    user && (await isApprover(deps, user)) ? approverStandings(deps) : undefined,
  ]);
  // the command was acked with no message: this is its only answer (replace_original would add one anyway)
  await deps.messenger.respond(responseUrl, whoamiMessage(accounts, approvers));
}
