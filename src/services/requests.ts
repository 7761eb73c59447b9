/**
 * The life cycle of a request for a new IAM user, and who may decide it. Every transition is a conditional write
 * on the stored request (its version), decided from the stored request and the policy only, and recorded in the
 * audit trail; the approval message and the requester follow each change.
 */
import {
  approvalMessage,
  approverFailureMessage,
  requesterUpdateMessage,
  requestPostedMessage,
} from '../blocks/request.js';
import type { Principals } from '../config.js';
import type { Deps } from '../deps.js';
import { BotError, ConflictError, NotAuthorizedError, ValidationError } from '../errors.js';
import type { Job } from '../jobs/types.js';
import { logger } from '../logger.js';
import type { AccessRequest, RequestStatus } from '../store/requests.js';
import type { OutgoingMessage } from './ports.js';
import { nameConflict } from './request-names.js';
import type { CheckedDraft } from './request-validation.js';

type RequestDeps = Pick<Deps, 'config' | 'clock' | 'store' | 'messenger' | 'dispatcher' | 'randomToken'>;

/** A transition lost to a concurrent one is decided again from the new state, this many times at most. */
const MAX_TRIES = 8;

export const auditSubject = (id: string) => `request#${id}`;

/** The provisioning job of a request's attempt: `provision:<id>` first, `provision:<id>:<n>` for retry n. */
export function provisionJob(request: Pick<AccessRequest, 'id' | 'attempt'>): Job {
  const id = request.attempt === 1 ? `provision:${request.id}` : `provision:${request.id}:${request.attempt}`;
  return { id, type: 'provision', payload: { requestId: request.id, attempt: request.attempt } };
}

// ---------------------------------------------------------------------------------------------------------------
// Who decides

/** Who may approve each requested group, and how many distinct approvals the request needs. */
export interface ApprovalRule {
  requiredApprovals: number;
  groups: { name: string; approvers: Principals | undefined }[];
}

/**
 * The approval rule of a request under the current policy: per group its approvers (the group's own, else the
 * global ones) and the highest required approval count among the policy and the groups. A group the policy no
 * longer lists has no approver.
 */
export function approvalRule(policy: Deps['config']['policy'], groups: string[]): ApprovalRule {
  const defined = new Map(policy.groups.map((g) => [g.name, g]));
  const entries = groups.map((name) => {
    const g = defined.get(name);
    return {
      name,
      approvers: g ? (g.approvers ?? policy.approvals.approvers) : undefined,
      required: g?.requiredApprovals,
    };
  });
  const requiredApprovals = Math.max(policy.approvals.requiredApprovals, ...entries.map((e) => e.required ?? 0));
  const list = entries.length ? entries : [{ name: '', approvers: policy.approvals.approvers }];
  return { requiredApprovals, groups: list.map(({ name, approvers }) => ({ name, approvers })) };
}

async function isAmong(deps: Pick<Deps, 'messenger'>, principals: Principals | undefined, user: string) {
  if (!principals) return false;
  if (principals.users.includes(user)) return true;
  for (const group of principals.usergroups) {
    if ((await deps.messenger.usergroupMembers(group)).includes(user)) return true;
  }
  return false;
}

const describePrincipals = (p: Principals | undefined) =>
  p
    ? [...p.users.map((u) => `<@${u}>`), ...p.usergroups.map((g) => `<!subteam^${g}>`)].join(', ') || 'nobody'
    : 'nobody';

function refuseSelf(request: AccessRequest, user: string, verb: string): void {
  if (user === request.requester)
    throw new NotAuthorizedError(`You asked for this request, so you cannot ${verb} it: another approver must.`);
  if (user === request.recipient)
    throw new NotAuthorizedError(
      `This request gives you the credentials, so you cannot ${verb} it: another approver must.`,
    );
}

/**
 * Throws NotAuthorizedError unless `user` may approve the request: an approver of every requested group (user ids
 * or Slack user group members), neither its requester nor its recipient.
 */
export async function authorizeApprover(
  deps: Pick<Deps, 'config' | 'messenger'>,
  request: AccessRequest,
  user: string,
  verb = 'approve',
): Promise<void> {
  refuseSelf(request, user, verb);
  const rule = approvalRule(deps.config.policy, request.groups);
  const missing: ApprovalRule['groups'] = [];
  for (const g of rule.groups) if (!(await isAmong(deps, g.approvers, user))) missing.push(g);
  if (missing.length) {
    const lines = missing.map(
      (g) => `${g.name ? `\`${g.name}\`` : 'this request'}: ${describePrincipals(g.approvers)}`,
    );
    throw new NotAuthorizedError(
      `You are not an approver for every group of this request, so you cannot ${verb} it. Approvers: ${lines.join('; ')}.`,
    );
  }
}

/** Throws NotAuthorizedError unless `user` may deny: an approver of at least one requested group, not requester or recipient. */
async function authorizeDenier(deps: Pick<Deps, 'config' | 'messenger'>, request: AccessRequest, user: string) {
  refuseSelf(request, user, 'deny');
  const rule = approvalRule(deps.config.policy, request.groups);
  for (const g of rule.groups) if (await isAmong(deps, g.approvers, user)) return;
  throw new NotAuthorizedError('Only an approver of one of the requested groups can deny this request.');
}

// ---------------------------------------------------------------------------------------------------------------
// Telling people

/** The approval message of a request as it stands. */
export function renderApprovalMessage(deps: Pick<Deps, 'config'>, request: AccessRequest): OutgoingMessage {
  const { policy } = deps.config;
  return approvalMessage(request, {
    requiredApprovals: approvalRule(policy, request.groups).requiredApprovals,
    groupDescriptions: Object.fromEntries(policy.groups.map((g) => [g.name, g.description])),
  });
}

/** Brings the approval message up to date. A Slack failure is logged, never thrown: the transition stands. */
export async function syncApprovalMessage(deps: Pick<Deps, 'config' | 'messenger'>, request: AccessRequest) {
  if (!request.message) return;
  try {
    await deps.messenger.update(request.message.channel, request.message.ts, renderApprovalMessage(deps, request));
  } catch (error) {
    logger.error('Could not update the approval message', { requestId: request.id, errorName: (error as Error)?.name });
  }
}

/** DMs someone about a request. A Slack failure is logged, never thrown. */
export async function tell(
  deps: Pick<Deps, 'messenger'>,
  who: string,
  request: AccessRequest,
  message: OutgoingMessage,
) {
  try {
    await deps.messenger.post(who, message);
  } catch (error) {
    logger.error('Could not DM about a request', { requestId: request.id, errorName: (error as Error)?.name });
  }
}

/** Tells the requester the request's current state. */
export const tellRequester = (deps: Pick<Deps, 'messenger'>, request: AccessRequest) =>
  tell(deps, request.requester, request, requesterUpdateMessage(request));

/** Tells the approvers who approved a failed request what happened (the message itself shows Retry). */
export async function tellApproversOfFailure(deps: Pick<Deps, 'config' | 'messenger'>, request: AccessRequest) {
  const channel = request.message?.channel ?? deps.config.policy.approvals.channel;
  for (const a of request.approvals) await tell(deps, a.user, request, approverFailureMessage(request, channel));
}

async function audit(
  deps: Pick<Deps, 'store' | 'clock'>,
  request: AccessRequest,
  actor: string,
  action: string,
  extra: Record<string, string | number | boolean | string[] | null> = {},
) {
  await deps.store.audit.record({
    subject: auditSubject(request.id),
    at: deps.clock.now(),
    actor,
    action,
    detail: { status: request.status, version: request.version, ...extra },
  });
}

// ---------------------------------------------------------------------------------------------------------------
// Transitions

async function load(deps: Pick<Deps, 'store'>, requestId: string): Promise<AccessRequest> {
  const request = await deps.store.requests.get(requestId);
  if (!request) throw new ConflictError('I have no such request any more.');
  return request;
}

const DECIDED: Partial<Record<RequestStatus, string>> = {
  approved: 'was already approved',
  provisioning: 'was already approved',
  done: 'was already approved and done',
  failed: 'was already approved (its provisioning failed; approvers can retry)',
};

/**
 * Throws ConflictError unless the request is pending and within its lifetime. A pending request found past its
 * lifetime is expired on the spot (as the scheduled task would).
 */
async function ensurePending(deps: RequestDeps, request: AccessRequest): Promise<void> {
  const when = (iso?: string) => (iso ? ` on ${iso.slice(0, 16).replace('T', ' ')} UTC` : '');
  if (request.status === 'pending' && deps.clock.now().getTime() >= Date.parse(request.expiresAt)) {
    await expireRequest(deps, request);
    throw new ConflictError(
      'This request has expired and can no longer be approved. Ask again with `/iam create-user`.',
    );
  }
  if (request.status === 'expired')
    throw new ConflictError(
      'This request has expired and can no longer be approved. Ask again with `/iam create-user`.',
    );
  if (request.status === 'denied')
    throw new ConflictError(
      `This request was already denied by <@${request.decision?.by}>${when(request.decision?.at)}.`,
    );
  const decided = DECIDED[request.status];
  if (decided) {
    const by = request.approvals.map((a) => `<@${a.user}>`).join(', ');
    throw new ConflictError(`This request ${decided} by ${by}${when(request.approvals.at(-1)?.at)}.`);
  }
}

export interface SubmitOptions {
  /** Also DM the requester that the request is waiting (the form closes without a word otherwise). */
  confirmToRequester?: boolean;
  /** The channel it was asked in, for the audit trail. */
  channel?: string;
}

/**
 * Stores a new pending request from a checked draft, records it, and posts it to the approval channel with
 * Approve / Deny. With `confirmToRequester`, also DMs the requester that it is waiting. Throws BotError when the
 * approval message cannot be posted (the request then stays pending and unseen until it expires).
 */
export async function submitRequest(
  deps: RequestDeps,
  requester: string,
  draft: CheckedDraft,
  options: SubmitOptions = {},
): Promise<AccessRequest> {
  const { policy } = deps.config;
  const now = deps.clock.now();
  let request: AccessRequest = {
    id: `req-${deps
      .randomToken()
      .replace(/[^A-Za-z0-9]/g, '')
      .slice(0, 12)}`,
    status: 'pending',
    requester,
    recipient: draft.recipient,
    account: draft.account,
    accountId: draft.accountId,
    userName: draft.userName,
    path: policy.users.path,
    groups: draft.groups,
    accessType: draft.accessType,
    tags: draft.tags,
    justification: draft.justification,
    approvals: [],
    attempt: 1,
    credentialIssue: 0,
    createdAt: now.toISOString(),
    expiresAt: new Date(now.getTime() + policy.requests.lifetimeHours * 3_600_000).toISOString(),
    updatedAt: now.toISOString(),
    version: 0,
  };
  await reserveUserName(deps, request);
  await deps.store.requests.create(request);
  await audit(deps, request, requester, 'requested', {
    userName: request.userName,
    path: request.path,
    account: request.account,
    accountId: request.accountId,
    recipient: request.recipient,
    groups: request.groups,
    accessType: request.accessType,
    tags: request.tags.map((t) => `${t.key}=${t.value}`),
    channel: options.channel ?? null,
  });
  const channel = policy.approvals.channel;
  let posted: { channel: string; ts: string };
  try {
    posted = await deps.messenger.post(channel, renderApprovalMessage(deps, request));
  } catch (error) {
    const code = (error as { data?: { error?: string } })?.data?.error ?? (error as Error)?.name ?? 'error';
    // Nobody can see it to approve it: end it now, which gives the user name back.
    const ended = await deps.store.requests.update(
      request,
      { status: 'expired', decision: { by: 'system', at: now.toISOString(), reason: `not posted (${code})` } },
      deps.clock.now(),
    );
    if (ended) await audit(deps, ended, 'system', 'not-posted', { channel, error: code });
    throw new BotError(
      `I could not post your request to <#${channel}> (${code}); is the bot a member of that channel? Nothing was created.`,
      { cause: error },
    );
  }
  request =
    (await deps.store.requests.update(request, { message: posted }, deps.clock.now())) ??
    (await load(deps, request.id));
  if (options.confirmToRequester) await tell(deps, requester, request, requestPostedMessage(request, channel));
  return request;
}

/**
 * Reserves the request's IAM user name in its account, so that two requests never race to create one user. A name
 * held by a request that has ended is taken over; one held by an active request refuses this one, naming it.
 */
export async function reserveUserName(deps: RequestDeps, request: AccessRequest): Promise<void> {
  const { account, userName, id } = request;
  let takeOverFrom: string | undefined;
  for (let tries = 0; tries < MAX_TRIES; tries++) {
    const holder = await deps.store.requests.reserveName(account, userName, id, deps.clock.now(), takeOverFrom);
    if (holder === undefined || holder === id) return;
    const held = await deps.store.requests.get(holder);
    const conflict = held ? nameConflict(held) : undefined;
    if (conflict) throw new ValidationError(conflict, { userName: conflict });
    takeOverFrom = holder;
  }
  throw new ConflictError('Too many requests for this user name at once; try again.');
}

export type ApprovalOutcome =
  | { kind: 'approved'; request: AccessRequest }
  | { kind: 'waiting'; request: AccessRequest; approvals: number; requiredApprovals: number };

/**
 * Records `user`'s approval, decided from the stored request and the policy only. When it completes the
 * required approvals, moves the request to approved and dispatches its provisioning job, exactly once however
 * many clicks race (conditional write on the version). Makes no AWS call. Throws NotAuthorizedError or
 * ConflictError, changing nothing, when the click may not count.
 */
export async function approveRequest(deps: RequestDeps, requestId: string, user: string): Promise<ApprovalOutcome> {
  for (let tries = 0; tries < MAX_TRIES; tries++) {
    const request = await load(deps, requestId);
    await ensurePending(deps, request);
    try {
      await authorizeApprover(deps, request, user);
    } catch (error) {
      if (error instanceof NotAuthorizedError)
        await audit(deps, request, user, 'approval-refused', { reason: error.message });
      throw error;
    }
    const { requiredApprovals } = approvalRule(deps.config.policy, request.groups);
    if (request.approvals.some((a) => a.user === user))
      throw new ConflictError(
        `You already approved this request. It needs ${requiredApprovals} approvals from different approvers (${request.approvals.length} so far).`,
      );
    const now = deps.clock.now();
    const approvals = [...request.approvals, { user, at: now.toISOString() }];
    const complete = approvals.length >= requiredApprovals;
    const next = await deps.store.requests.update(
      request,
      complete ? { approvals, status: 'approved' } : { approvals },
      now,
    );
    if (!next) continue;
    await audit(deps, next, user, complete ? 'approved' : 'approval-recorded', {
      approvals: approvals.length,
      requiredApprovals,
    });
    await syncApprovalMessage(deps, next);
    if (!complete) return { kind: 'waiting', request: next, approvals: approvals.length, requiredApprovals };
    await startProvisioning(deps, next, user);
    await tellRequester(deps, next);
    return { kind: 'approved', request: next };
  }
  throw new ConflictError('Too many people changed this request at once; try again.');
}

/** Dispatches the provisioning job; if that fails, the request fails at once so that approvers get Retry. */
async function startProvisioning(deps: RequestDeps, request: AccessRequest, actor: string): Promise<void> {
  try {
    await deps.dispatcher.dispatch(provisionJob(request));
  } catch (error) {
    logger.error('Could not dispatch provisioning', { requestId: request.id, errorName: (error as Error)?.name });
    const failed = await deps.store.requests.update(
      request,
      { status: 'failed', error: `could not start provisioning (${(error as Error)?.name ?? 'error'})`, remaining: [] },
      deps.clock.now(),
    );
    if (failed) {
      await audit(deps, failed, actor, 'provisioning-failed', { error: failed.error ?? '' });
      await syncApprovalMessage(deps, failed);
    }
    throw new BotError('Approved, but I could not start creating the user. Use Retry on the request message.', {
      cause: error,
    });
  }
}

/** Checks that `user` may deny the request now (before the reason form opens). Throws as `denyRequest` would. */
export async function checkCanDeny(deps: RequestDeps, requestId: string, user: string): Promise<AccessRequest> {
  const request = await load(deps, requestId);
  await ensurePending(deps, request);
  await authorizeDenier(deps, request, user);
  return request;
}

/**
 * Denies a pending request with a reason: an approver of at least one requested group, not the requester or the
 * recipient, decides alone. Conditional on the stored version; tells the requester. Throws NotAuthorizedError or
 * ConflictError, changing nothing, otherwise.
 */
export async function denyRequest(
  deps: RequestDeps,
  requestId: string,
  user: string,
  reason: string,
): Promise<AccessRequest> {
  for (let tries = 0; tries < MAX_TRIES; tries++) {
    const request = await checkCanDeny(deps, requestId, user);
    const now = deps.clock.now();
    const next = await deps.store.requests.update(
      request,
      { status: 'denied', decision: { by: user, at: now.toISOString(), reason: reason.trim() } },
      now,
    );
    if (!next) continue;
    await audit(deps, next, user, 'denied', { reason: reason.trim() });
    await syncApprovalMessage(deps, next);
    await tellRequester(deps, next);
    return next;
  }
  throw new ConflictError('Too many people changed this request at once; try again.');
}

/**
 * Expires a pending request (conditional on its version): message updated, buttons gone, requester told.
 * Returns false when the request had changed meanwhile (someone decided it first).
 */
export async function expireRequest(deps: RequestDeps, request: AccessRequest): Promise<boolean> {
  if (request.status !== 'pending') return false;
  const now = deps.clock.now();
  const next = await deps.store.requests.update(
    request,
    { status: 'expired', decision: { by: 'system', at: now.toISOString() } },
    now,
  );
  if (!next) return false;
  await audit(deps, next, 'system', 'expired', { expiresAt: request.expiresAt });
  await syncApprovalMessage(deps, next);
  await tellRequester(deps, next);
  return true;
}

/** Expires every pending request past its lifetime. Safe to run again: each expiry is a conditional write. */
export async function expireDueRequests(deps: RequestDeps): Promise<{ expired: number }> {
  let expired = 0;
  for (const request of await deps.store.requests.pendingExpiredAt(deps.clock.now())) {
    if (await expireRequest(deps, request)) expired++;
  }
  return { expired };
}

/**
 * Retries the provisioning of a failed request: the clicker must be an approver of every group (not the requester
 * or the recipient), decided from the stored request. Moves it back to approved with the next attempt number and
 * dispatches `provision:<id>:<attempt>`, once however many clicks race.
 */
export async function retryRequest(deps: RequestDeps, requestId: string, user: string): Promise<AccessRequest> {
  for (let tries = 0; tries < MAX_TRIES; tries++) {
    const request = await load(deps, requestId);
    if (request.status !== 'failed') {
      const state: Partial<Record<RequestStatus, string>> = {
        approved: 'is being provisioned already',
        provisioning: 'is being provisioned already',
        done: 'is done already',
      };
      throw new ConflictError(
        `This request ${state[request.status] ?? `is ${request.status}`}; there is nothing to retry.`,
      );
    }
    await authorizeApprover(deps, request, user, 'retry');
    const next = await deps.store.requests.update(
      request,
      { status: 'approved', attempt: request.attempt + 1 },
      deps.clock.now(),
      ['error', 'remaining'],
    );
    if (!next) continue;
    await audit(deps, next, user, 'retried', { attempt: next.attempt });
    await syncApprovalMessage(deps, next);
    await startProvisioning(deps, next, user);
    return next;
  }
  throw new ConflictError('Too many people changed this request at once; try again.');
}

/**
 * Fails requests whose provisioning stopped midway (the worker timed out or crashed, and Lambda's retries were
 * skipped while the job was still claimed), so that approvers get Retry, which continues from what exists. Undoes
 * nothing itself. Safe to run again: each change is a conditional write.
 */
export async function failStalledProvisioning(deps: RequestDeps): Promise<{ stalled: number }> {
  let stalled = 0;
  for (const request of await deps.store.requests.stalledAt(deps.clock.now())) {
    const failed = await deps.store.requests.update(
      request,
      {
        status: 'failed',
        error:
          request.status === 'approved'
            ? 'provisioning never started (the worker was not reached)'
            : 'provisioning stopped before it finished (the worker timed out or crashed)',
        remaining: [`whatever it had created for IAM user ${request.userName}; Retry continues from there`],
      },
      deps.clock.now(),
    );
    if (!failed) continue;
    stalled++;
    await audit(deps, failed, 'system', 'provisioning-stalled', { since: request.updatedAt });
    await syncApprovalMessage(deps, failed);
    await tellRequester(deps, failed);
    await tellApproversOfFailure(deps, failed);
  }
  return { stalled };
}
