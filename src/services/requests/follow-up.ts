/**
 * What a transition decided on the Slack function leaves to the worker: the message, the name, the DMs, the App
 * Homes.
 */
import type { Job } from '../../jobs/types.js';
import { logger } from '../../logger.js';
import type { AccessRequest } from '../../store/requests.js';
import { refreshHomes } from '../home-refresh.js';
import { ENDED } from '../request-names.js';
import { type RequestDeps, reservesName } from './common.js';
import { approversOf } from './rules.js';
import { syncApprovalMessage, tellRequester } from './tell.js';

/** An ephemeral answer for whoever clicked, sent by the worker through the click's response_url. */
export interface Reply {
  responseUrl: string;
  text: string;
}

export interface FollowUp {
  /** DM the requester the request's new state. */
  tellRequester?: boolean;
  reply?: Reply;
}

/**
 * The job that follows a request's change to `version`: brings the approval message up to date, releases the user
 * name of an ended request, DMs the requester and answers the clicker, as asked. One per version: a repeated
 * delivery is skipped by the worker's claim.
 */
export function requestUpdateJob(request: Pick<AccessRequest, 'id' | 'version'>, followUp: FollowUp = {}): Job {
  return {
    id: `request-update:${request.id}:${request.version}`,
    type: 'request-update',
    payload: {
      requestId: request.id,
      version: request.version,
      tellRequester: followUp.tellRequester ?? false,
      ...(followUp.reply ? { responseUrl: followUp.reply.responseUrl, reply: followUp.reply.text } : {}),
    },
  };
}

/**
 * Hands a request's follow-up to the worker. If the hand-off fails, the follow-up runs here instead (slower, but
 * the message and the people still learn of the change, which stands either way).
 */
export async function handOff(deps: RequestDeps, request: AccessRequest, followUp: FollowUp = {}): Promise<void> {
  try {
    await deps.dispatcher.dispatch(requestUpdateJob(request, followUp));
  } catch (error) {
    logger.error('Could not hand a request update to the worker; running it here', {
      requestId: request.id,
      errorName: (error as Error)?.name,
    });
    await followUpRequest(deps, request.id, request.version, followUp);
  }
}

/**
 * Worker side of a change (see requestUpdateJob): releases the IAM user name of an ended request, brings the
 * approval message up to date (again if the request changed meanwhile, so the last render is the latest state),
 * DMs the requester unless a later change took over, and answers the clicker. Slack failures are logged.
 */
export async function followUpRequest(
  deps: RequestDeps,
  requestId: string,
  version: number,
  followUp: FollowUp,
): Promise<void> {
  let request = await deps.store.requests.get(requestId);
  if (!request) return;
  if (ENDED.includes(request.status) && reservesName(request)) {
    await deps.store.requests.releaseName(request.account, request.userName, request.id);
  }
  const asOf = request;
  for (let i = 0; i < 3 && request; i++) {
    await syncApprovalMessage(deps, request);
    const now: AccessRequest | undefined = await deps.store.requests.get(requestId);
    if (!now || now.version === request.version) break;
    request = now;
  }
  await refreshApproverHomes(deps, asOf, `req:${requestId}:${version}`);
  if (followUp.tellRequester && asOf.version === version) await tellRequester(deps, asOf);
  if (followUp.reply) {
    await deps.messenger
      .respond(followUp.reply.responseUrl, { text: followUp.reply.text })
      .catch((error) => logger.error('Could not answer a click', { requestId, errorName: (error as Error)?.name }));
  }
}

/**
 * The App Home of the request's approvers lists what waits for them: a request posted or decided refreshes theirs
 * (one `publish-home` job for all of them, once per version: see refreshHomes). Never throws.
 */
export async function refreshApproverHomes(deps: RequestDeps, request: AccessRequest, cause: string): Promise<void> {
  try {
    await refreshHomes(deps, await approversOf(deps, request), cause);
  } catch (error) {
    logger.error("Could not refresh the approvers' App Home", {
      requestId: request.id,
      errorName: (error as Error)?.name,
    });
  }
}
