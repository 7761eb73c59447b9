/**
 * `/iam reissue <request-id>` (approvers): a one-time link that nobody opened (lost, or expired) is replaced by a
 * fresh access key and a new link; the undelivered key is deleted and its link retired. Never for a link that was
 * opened: those credentials were received.
 */
import type { Deps } from '../../deps.js';
import { ConflictError, NotAuthorizedError, ValidationError } from '../../errors.js';
import { kindOf } from '../../kinds/registry.js';
import type { AccessRequest, RunStep } from '../../store/requests.js';
import { auditEvent, isAmong, ruleOf } from '../requests.js';
import { runNext } from '../runner/engine.js';
import { requireFullMember } from '../slack-members.js';

/** The steps of a reissue on the request's run (see reissueSteps), run by reissueStep (reissue-run.ts). */
export const REISSUE_OPS = { deliver: 'reissue', tell: 'reissue-tell', answer: 'reissue-answer' } as const;

/**
 * The steps a reissue adds to the request's run, the same for every kind: the new key minted, stored and delivered
 * (one step: its secret is never checkpointed), then one notification step for each person the kind tells about a
 * new delivery, then the approver's answer (through `responseUrl`).
 */
export function reissueSteps(
  told: string[],
  issue: number,
  approver: string,
  responseUrl: string | undefined,
): RunStep[] {
  const args = { issue: String(issue) };
  return [
    { t: 'deliver', op: REISSUE_OPS.deliver, args: { ...args, approver } },
    ...told.map((to): RunStep => ({ t: 'notify', op: REISSUE_OPS.tell, args: { ...args, to } })),
    ...(responseUrl ? [{ t: 'notify', op: REISSUE_OPS.answer, args: { ...args, responseUrl } } as RunStep] : []),
  ];
}

/** Link states whose credentials nobody received. */
export const UNRECEIVED = ['pending', 'expired', 'superseded'];

/**
 * The Slack side of a reissue, re-checked from stored state: the request exists, its kind can reissue (a ReissueHook)
 * and it delivered an access key, its link was not opened, the kind's own refusal (if any) does not apply, and `user` approves this kind of request and is not the one who receives the credentials.
 * One conditional write signals the request's run (see runNext): the credential issue bumped, the kind's changes,
 * the reissue's steps next on the run, with its audit event; the worker runs them. Returns the request.
 */
export async function requestReissue(
  deps: Pick<Deps, 'store' | 'clock' | 'config' | 'messenger' | 'dispatcher'>,
  requestId: string,
  user: string,
  responseUrl?: string,
) {
  const request = await deps.store.requests.get(requestId.trim());
  if (!request) throw new ValidationError(`There is no request \`${requestId}\`.`, { requestId: 'unknown' });
  const rule = ruleOf(deps.config.policy, request);
  for (const g of rule.groups)
    if (!(await isAmong(deps, g.approvers, user)))
      throw new NotAuthorizedError('Only an approver of this request can send a new link for it.');
  if (user === request.recipient)
    throw new NotAuthorizedError('The credentials go to you, so another approver must send the new link.');
  await requireFullMember(deps, user, 'send a new link');
  const hook = kindOf(request).reissue;
  if (!hook || request.status !== 'done' || !request.linkId || request.accessType === 'console')
    throw new ConflictError(`Request \`${request.id}\` has no delivered access key to reissue (${request.status}).`);
  const link = await deps.store.links.getByLinkId(request.linkId);
  // The request's own record first: the link item may be gone (TTL) long after it was opened.
  if (request.linkOpened?.linkId === request.linkId)
    throw new ConflictError(
      `The link of request \`${request.id}\` was opened: those credentials were received. Rotate the key instead.`,
    );
  if (link && !UNRECEIVED.includes(link.status))
    throw new ConflictError(
      `The link of request \`${request.id}\` was opened (${link.status}): those credentials were received. Rotate the key instead.`,
    );
  const refused = hook.refusal(request);
  if (refused) throw new ConflictError(refused);
  const issue = request.credentialIssue + 1;
  const changes: Partial<AccessRequest> = { ...hook.asked(request, deps.clock.now()), credentialIssue: issue };
  const steps = reissueSteps(
    hook.told(request).map((t) => t.to),
    issue,
    user,
    responseUrl,
  );
  const next = await runNext(deps, request, steps, changes, (n) => [
    deps.store.audit.transactionItem(
      auditEvent(deps, n, user, 'reissue-requested', { issue, oldLinkId: request.linkId ?? null }),
    ),
  ]);
  if (!next) throw new ConflictError('The request changed just now; try again.');
  return next;
}

/**
 * The newest request that sent credentials for an IAM user (a create-user or a key rotation with a link), from the
 * ownership projection's record of the requests that changed the user: two reads, no IAM call. Undefined if none.
 */
export async function latestDeliveryOf(
  deps: Pick<Deps, 'store'>,
  account: string,
  userName: string,
): Promise<string | undefined> {
  const projected = await deps.store.users.get(account, userName);
  if (!projected?.requestIds.length) return undefined;
  const requests = await deps.store.requests.getMany(projected.requestIds);
  return requests
    .filter((r) => r.linkId)
    .sort((a, b) => b.createdAt.localeCompare(a.createdAt))
    .at(0)?.id;
}
