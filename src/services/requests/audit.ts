/** A request's audit trail, and the one write of a transition (the change and its audit event together). */
import type { Deps } from '../../deps.js';
import type { AccessRequest } from '../../store/requests.js';
import { auditSubject } from './common.js';

export type AuditExtra = Record<string, string | number | boolean | string[] | null>;

/** Records an audit event of the system's own (the worker's) on a request, with its attempt. */
export async function recordSystemAudit(
  deps: Pick<Deps, 'store' | 'clock'>,
  request: AccessRequest,
  action: string,
  extra: AuditExtra,
): Promise<void> {
  await deps.store.audit.record(auditEvent(deps, request, 'system', action, { attempt: request.attempt, ...extra }));
}

/** An audit event of a request, built from its state (for a transaction or a plain write). */
export const auditEvent = (
  deps: Pick<Deps, 'clock'>,
  request: AccessRequest,
  actor: string,
  action: string,
  extra: AuditExtra,
) => ({
  subject: auditSubject(request.id),
  at: deps.clock.now(),
  actor,
  action,
  detail: { status: request.status, version: request.version, ...extra },
});

export async function audit(
  deps: Pick<Deps, 'store' | 'clock'>,
  request: AccessRequest,
  actor: string,
  action: string,
  extra: AuditExtra = {},
) {
  await deps.store.audit.record(auditEvent(deps, request, actor, action, extra));
}

/**
 * The Slack function's one write for a transition: the request's change (conditional on the version read) and its
 * audit event, in one DynamoDB transaction. Returns the new state, or undefined when someone changed it first.
 */
export function transition(
  deps: Pick<Deps, 'store' | 'clock'>,
  current: AccessRequest,
  changes: Parameters<Deps['store']['requests']['update']>[1],
  audited: { actor: string; action: string; extra?: AuditExtra; remove?: (keyof AccessRequest)[] },
): Promise<AccessRequest | undefined> {
  return deps.store.requests.update(current, changes, deps.clock.now(), (audited.remove ?? []) as never, (next) => [
    deps.store.audit.transactionItem(auditEvent(deps, next, audited.actor, audited.action, audited.extra ?? {})),
  ]);
}
