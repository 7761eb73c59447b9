import type { Deps } from '../deps.js';
import { logger } from '../logger.js';
import { refreshHomes } from './home-refresh.js';
import { errorName } from './provisioning.js';
import { readUser } from './user-projection.js';

/** What caused a change: the request whose execution changed the user (recorded on the projection). */
export interface UserChangeCause {
  requestId?: string;
  /** Hand the owners' App Home refresh to the worker (default true); false when the caller does it once for many. */
  homes?: boolean;
}

/**
 * Called by the worker after the bot changed an IAM user (created it, changed its groups, owner, keys or password),
 * so that what the bot knows of the user (the ownership projection) follows at once, not only at the next scheduled
 * refresh: reads the user live and writes its projection item (adding `cause.requestId` to the requests that changed
 * it), or removes the item when the user no longer exists or is not under the managed paths. Idempotent; never
 * throws: the change itself stands whatever happens here (a failure is logged, and the scheduled refresh heals it).
 * Then hands the refresh of the App Home of its owner (and previous owner) to the worker.
 */
export async function userChanged(
  deps: Pick<Deps, 'aws' | 'store' | 'clock' | 'config' | 'dispatcher'>,
  account: string,
  userName: string,
  cause: UserChangeCause = {},
): Promise<void> {
  try {
    const [read, known] = await Promise.all([
      readUser(deps.aws.account(account).iam, deps.config.policy, account, userName, deps.clock.now()),
      deps.store.users.get(account, userName, { consistent: true }),
    ]);
    const why = `user:${account}#${userName.toLowerCase()}:${deps.clock.now().getTime()}`;
    if (read.state !== 'found') {
      if (known) {
        await deps.store.users.remove(known);
        if (cause.homes !== false) await refreshHomes(deps, [known.owner], why);
      }
      return;
    }
    // The request that created the user too (from its tag): an item may be new when another request changes it.
    const requestIds = [cause.requestId, read.createdByRequest].filter((id): id is string => Boolean(id));
    await deps.store.users.put(read.user, { requestIds, ...(known ? { previousOwner: known.owner ?? null } : {}) });
    // The owner's App Home lists the user (and a previous owner's did).
    if (cause.homes !== false) await refreshHomes(deps, [read.user.owner, known?.owner], why);
  } catch (error) {
    logger.error('Could not update the user projection after a change', {
      account,
      userName,
      errorName: errorName(error),
    });
  }
}
