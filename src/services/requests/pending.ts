/** Checks a click on a pending request: refuses one already decided, expires one past its lifetime on the spot. */
import { ConflictError } from '../../errors.js';
import type { AccessRequest, RequestStatus } from '../../store/requests.js';
import { transition } from './audit.js';
import { kindOf, type RequestDeps } from './common.js';
import { handOff, type Reply } from './follow-up.js';

/** A refusal whose answer the worker sends (with the follow-up of the change it made): the listener says nothing. */
export class AnsweredConflictError extends ConflictError {
  constructor(message: string) {
    super(message);
    this.name = 'AnsweredConflictError';
  }
}

const DECIDED: Partial<Record<RequestStatus, string>> = {
  approved: 'was already approved',
  provisioning: 'was already approved',
  done: 'was already approved and done',
  failed: 'was already approved (its provisioning failed; approvers can retry)',
};

const expiredText = (request: AccessRequest) =>
  `This request has expired and can no longer be approved. Ask again with \`/iam ${kindOf(request)}\`.`;

/**
 * Throws ConflictError unless the request is pending and within its lifetime. A pending request found past its
 * lifetime is expired on the spot (one conditional write; the worker updates the message, tells the requester
 * and, given `responseUrl`, answers the clicker: then AnsweredConflictError).
 */
export async function ensurePending(deps: RequestDeps, request: AccessRequest, responseUrl?: string): Promise<void> {
  const when = (iso?: string) => (iso ? ` on ${iso.slice(0, 16).replace('T', ' ')} UTC` : '');
  if (request.status === 'pending' && deps.clock.now().getTime() >= Date.parse(request.expiresAt)) {
    const EXPIRED_TEXT = expiredText(request);
    const reply = responseUrl ? { responseUrl, text: EXPIRED_TEXT } : undefined;
    const expired = await expireOnTheSpot(deps, request, reply);
    if (expired && reply) throw new AnsweredConflictError(EXPIRED_TEXT);
    throw new ConflictError(EXPIRED_TEXT);
  }
  if (request.status === 'expired') throw new ConflictError(expiredText(request));
  if (request.status === 'denied')
    throw new ConflictError(
      `This request was already denied by <@${request.decision?.by}>${when(request.decision?.at)}.`,
    );
  if (request.status === 'abandoned')
    throw new ConflictError(`This request was abandoned after its provisioning failed${when(request.decision?.at)}.`);
  const decided = DECIDED[request.status];
  if (decided) {
    const by = request.approvals.map((a) => `<@${a.user}>`).join(', ');
    throw new ConflictError(`This request ${decided} by ${by}${when(request.approvals.at(-1)?.at)}.`);
  }
}

/** Expires a pending request found past its lifetime by a click: one write, the rest to the worker. */
export async function expireOnTheSpot(deps: RequestDeps, request: AccessRequest, reply?: Reply): Promise<boolean> {
  const now = deps.clock.now();
  const next = await transition(
    deps,
    request,
    { status: 'expired', decision: { by: 'system', at: now.toISOString() } },
    { actor: 'system', action: 'expired', extra: { expiresAt: request.expiresAt } },
  );
  if (!next) return false;
  await handOff(deps, next, { tellRequester: true, ...(reply ? { reply } : {}) });
  return true;
}
