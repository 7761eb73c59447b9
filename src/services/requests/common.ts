/** What every verb of the request life cycle shares: the deps it takes, the request's kind, its jobs' ids. */
import type { Deps } from '../../deps.js';
import { ConflictError } from '../../errors.js';
import type { Job } from '../../jobs/types.js';
import { kindOf as kindModuleOf, reservesName as kindReservesName } from '../../kinds/registry.js';
import type { AccessRequest } from '../../store/requests.js';
import type { RequestKind } from '../plans/types.js';

export type RequestDeps = Pick<Deps, 'config' | 'clock' | 'store' | 'messenger' | 'dispatcher' | 'randomToken'>;

/** A transition lost to a concurrent one is decided again from the new state, this many times at most. */
export const MAX_TRIES = 8;

export const auditSubject = (id: string) => `request#${id}`;

/** A request's kind's id (requests stored before kinds existed are create-user: see src/kinds/registry.ts). */
export const kindOf = (request: Pick<AccessRequest, 'kind'>): RequestKind => kindModuleOf(request).id;

/** Whether the request holds its IAM user name until it ends (its kind says). */
export const reservesName = (request: Pick<AccessRequest, 'kind'>): boolean => kindReservesName(request);

/** The provisioning job of a request's attempt: `provision:<id>` first, `provision:<id>:<n>` for retry n. */
export function provisionJob(request: Pick<AccessRequest, 'id' | 'attempt'>, announce = false): Job {
  const id = request.attempt === 1 ? `provision:${request.id}` : `provision:${request.id}:${request.attempt}`;
  return { id, type: 'provision', payload: { requestId: request.id, attempt: request.attempt, announce } };
}

/** A new request's id: `req-` and 12 random letters and digits. */
export const newRequestId = (deps: Pick<Deps, 'randomToken'>) =>
  `req-${deps
    .randomToken()
    .replace(/[^A-Za-z0-9]/g, '')
    .slice(0, 12)}`;

/** When a request failing now is abandoned unless retried (the policy's failed-request lifetime). */
export function abandonAtFrom(deps: Pick<Deps, 'config' | 'clock'>): string {
  return new Date(
    deps.clock.now().getTime() + deps.config.policy.requests.failedLifetimeDays * 86_400_000,
  ).toISOString();
}

export async function load(deps: Pick<Deps, 'store'>, requestId: string): Promise<AccessRequest> {
  const request = await deps.store.requests.get(requestId);
  if (!request) throw new ConflictError('I have no such request any more.');
  return request;
}

/** Where the worker answers the person who clicked (a click's response_url), if anywhere. */
export interface ClickOptions {
  responseUrl?: string;
}
