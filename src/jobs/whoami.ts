import * as z from 'zod/mini';
import { whoamiMessage } from '../blocks/whoami.js';
import type { Deps } from '../deps.js';
import { describeAccounts } from '../services/accounts.js';

/** `responseUrl` is absent when an approver re-ran the failed job from `/iam jobs`: nobody is left to answer. */
const payloadSchema = z.object({ responseUrl: z.optional(z.url()) });

/** Looks up the accounts (slow: STS per account) and answers the `/iam whoami` that asked. */
export async function whoamiJob(deps: Deps, payload: Record<string, unknown>): Promise<void> {
  const { responseUrl } = payloadSchema.parse(payload);
  if (!responseUrl) return;
  const accounts = await describeAccounts(deps);
  // the command was acked with no message: this is its only answer (replace_original would add one anyway)
  await deps.messenger.respond(responseUrl, whoamiMessage(accounts));
}
