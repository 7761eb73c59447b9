/**
 * What a killed worker run of a request had finished, read back from the request's audit trail. The worker records
 * an audit event right after the Slack messages of a stage (the start, the end), so a run that died before that
 * event does the stage again: its messages may go out twice only when the run died between a post and the event.
 */
import type { Deps } from '../deps.js';
import type { AccessRequest } from '../store/requests.js';
import { auditSubject } from './requests.js';

/**
 * Whether the system recorded `action` for this attempt of the request (read consistently: it decides whether a
 * resumed run sends the stage's messages again).
 */
export async function stageRecorded(
  deps: Pick<Deps, 'store'>,
  request: Pick<AccessRequest, 'id' | 'attempt'>,
  action: string,
): Promise<boolean> {
  const events = await deps.store.audit.list(auditSubject(request.id), { consistent: true });
  return events.some(
    (e) =>
      e.actor === 'system' &&
      e.action === action &&
      (e.detail as { attempt?: unknown } | undefined)?.attempt === request.attempt,
  );
}
