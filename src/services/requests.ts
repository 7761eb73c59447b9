/**
 * The life cycle of a request for a new IAM user, and who may decide it. Every transition is a conditional write
 * on the stored request (its version), decided from the stored request and the policy only, and recorded in the
 * audit trail; the approval message and the requester follow each change.
 */
import {
  changeApprovalMessage,
  changeApproverFailureMessage,
  changeRequesterUpdateMessage,
} from '../blocks/change-request.js';
import { offboardMessage } from '../blocks/offboard.js';
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
import { refreshHomes } from './home-refresh.js';
import type { RequestKind } from './plans/types.js';
import type { OutgoingMessage } from './ports.js';
import { ENDED, nameConflict } from './request-names.js';
import type { CheckedDraft } from './request-validation.js';

export type RequestDeps = Pick<Deps, 'config' | 'clock' | 'store' | 'messenger' | 'dispatcher' | 'randomToken'>;

/** A transition lost to a concurrent one is decided again from the new state, this many times at most. */
const MAX_TRIES = 8;

export const auditSubject = (id: string) => `request#${id}`;

/** A request's kind (requests stored before kinds existed are create-user). */
export const kindOf = (request: Pick<AccessRequest, 'kind'>): RequestKind => request.kind ?? 'create-user';

/** Only create-user requests reserve their IAM user name. */
export const reservesName = (request: Pick<AccessRequest, 'kind'>) => kindOf(request) === 'create-user';

/** The provisioning job of a request's attempt: `provision:<id>` first, `provision:<id>:<n>` for retry n. */
export function provisionJob(request: Pick<AccessRequest, 'id' | 'attempt'>, announce = false): Job {
  const id = request.attempt === 1 ? `provision:${request.id}` : `provision:${request.id}:${request.attempt}`;
  return { id, type: 'provision', payload: { requestId: request.id, attempt: request.attempt, announce } };
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
 * kind's (`approvals.kinds`), else the global ones) and the highest required approval count among the policy, the
 * kind and the groups. A group the policy no longer lists has no approver. A request without groups (set-owner) is
 * approved by the kind's approvers, else the global ones.
 */
export function approvalRule(
  policy: Deps['config']['policy'],
  groups: string[],
  kind: RequestKind = 'create-user',
): ApprovalRule {
  const forKind = policy.approvals.kinds[kind];
  const fallback = forKind?.approvers ?? policy.approvals.approvers;
  const defined = new Map(policy.groups.map((g) => [g.name, g]));
  const entries = groups.map((name) => {
    const g = defined.get(name);
    return {
      name,
      approvers: g ? (g.approvers ?? fallback) : undefined,
      required: g?.requiredApprovals,
    };
  });
  const requiredApprovals = Math.max(
    forKind?.requiredApprovals ?? policy.approvals.requiredApprovals,
    ...entries.map((e) => e.required ?? 0),
  );
  const list = entries.length ? entries : [{ name: '', approvers: fallback }];
  return { requiredApprovals, groups: list.map(({ name, approvers }) => ({ name, approvers })) };
}

/** Whether `user` is among `principals` (listed, or a member of a listed Slack user group). */
export async function isAmong(deps: Pick<Deps, 'messenger'>, principals: Principals | undefined, user: string) {
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

/** The approval rule of a stored request under the current policy. */
export const ruleOf = (policy: Deps['config']['policy'], request: AccessRequest) =>
  approvalRule(policy, request.groups, kindOf(request));

function refuseSelf(request: AccessRequest, user: string, verb: string): void {
  if (user === request.requester)
    throw new NotAuthorizedError(`You asked for this request, so you cannot ${verb} it: another approver must.`);
  const kind = kindOf(request);
  if (kind !== 'create-user') {
    if (request.owner && user === request.owner)
      throw new NotAuthorizedError(
        `You own IAM user ${request.userName}, so you cannot ${verb} a change to it: another approver must.`,
      );
    if (kind === 'set-owner' && user === request.recipient)
      throw new NotAuthorizedError(
        `This request makes you the owner of IAM user ${request.userName}, so you cannot ${verb} it: another approver must.`,
      );
    return;
  }
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
  const rule = ruleOf(deps.config.policy, request);
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
  const rule = ruleOf(deps.config.policy, request);
  for (const g of rule.groups) if (await isAmong(deps, g.approvers, user)) return;
  throw new NotAuthorizedError('Only an approver of one of the requested groups can deny this request.');
}

/**
 * What `user` may do with a pending request now, decided as Approve and Deny decide it (same rules, read-only): for
 * showing the buttons only; every click is authorized again from the stored request.
 */
export async function mayDecide(
  deps: Pick<Deps, 'config' | 'messenger'>,
  request: AccessRequest,
  user: string,
): Promise<{ approve: boolean; deny: boolean }> {
  const allowed = async (check: () => Promise<void>) => {
    try {
      await check();
      return true;
    } catch (error) {
      if (error instanceof NotAuthorizedError) return false;
      throw error;
    }
  };
  return {
    approve: await allowed(() => authorizeApprover(deps, request, user)),
    deny: await allowed(() => authorizeDenier(deps, request, user)),
  };
}

/** Every Slack user the rule of a request names as approver, user group members included (deduplicated). */
export async function approversOf(deps: Pick<Deps, 'config' | 'messenger'>, request: AccessRequest): Promise<string[]> {
  return membersOf(
    deps,
    ruleOf(deps.config.policy, request).groups.map((g) => g.approvers),
  );
}

async function membersOf(deps: Pick<Deps, 'messenger'>, list: (Principals | undefined)[]): Promise<string[]> {
  const out = new Set<string>();
  for (const p of list) {
    for (const u of p?.users ?? []) out.add(u);
    for (const g of p?.usergroups ?? []) for (const u of await deps.messenger.usergroupMembers(g)) out.add(u);
  }
  return [...out];
}

/**
 * Whether `user` approves anything under the policy: a global approver, an approver of a kind
 * (`approvals.kinds`) or of a group, listed or a member of a listed Slack user group.
 */
export async function isApprover(deps: Pick<Deps, 'config' | 'messenger'>, user: string): Promise<boolean> {
  const { policy } = deps.config;
  const all = [
    policy.approvals.approvers,
    ...Object.values(policy.approvals.kinds).map((k) => k?.approvers),
    ...policy.groups.map((g) => g.approvers),
  ];
  for (const p of all) if (await isAmong(deps, p, user)) return true;
  return false;
}

// ---------------------------------------------------------------------------------------------------------------
// Telling people

/** The approval message of a request as it stands. */
export function renderApprovalMessage(deps: Pick<Deps, 'config'>, request: AccessRequest): OutgoingMessage {
  const { policy } = deps.config;
  const ctx = {
    requiredApprovals: ruleOf(policy, request).requiredApprovals,
    groupDescriptions: Object.fromEntries(policy.groups.map((g) => [g.name, g.description])),
  };
  if (kindOf(request) === 'offboard')
    return offboardMessage(request, { ...ctx, recoveryDays: policy.leavers.recoveryDays });
  return kindOf(request) === 'create-user' ? approvalMessage(request, ctx) : changeApprovalMessage(request, ctx);
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
  tell(
    deps,
    request.requester,
    request,
    kindOf(request) === 'create-user' ? requesterUpdateMessage(request) : changeRequesterUpdateMessage(request),
  );

/** Tells the approvers who approved a failed request what happened (the message itself shows Retry). */
export async function tellApproversOfFailure(deps: Pick<Deps, 'config' | 'messenger'>, request: AccessRequest) {
  const channel = request.message?.channel ?? deps.config.policy.approvals.channel;
  const message =
    kindOf(request) === 'create-user'
      ? approverFailureMessage(request, channel)
      : changeApproverFailureMessage(request, channel);
  for (const a of request.approvals) await tell(deps, a.user, request, message);
}

type AuditExtra = Record<string, string | number | boolean | string[] | null>;

/** A new request's id: `req-` and 12 random letters and digits. */
export const newRequestId = (deps: Pick<Deps, 'randomToken'>) =>
  `req-${deps
    .randomToken()
    .replace(/[^A-Za-z0-9]/g, '')
    .slice(0, 12)}`;

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

async function audit(
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
function transition(
  deps: Pick<Deps, 'store' | 'clock'>,
  current: AccessRequest,
  changes: Parameters<Deps['store']['requests']['update']>[1],
  audited: { actor: string; action: string; extra?: AuditExtra; remove?: (keyof AccessRequest)[] },
): Promise<AccessRequest | undefined> {
  return deps.store.requests.update(current, changes, deps.clock.now(), (audited.remove ?? []) as never, (next) => [
    deps.store.audit.transactionItem(auditEvent(deps, next, audited.actor, audited.action, audited.extra ?? {})),
  ]);
}

/** When a request failing now is abandoned unless retried (the policy's failed-request lifetime). */
export function abandonAtFrom(deps: Pick<Deps, 'config' | 'clock'>): string {
  return new Date(
    deps.clock.now().getTime() + deps.config.policy.requests.failedLifetimeDays * 86_400_000,
  ).toISOString();
}

// ---------------------------------------------------------------------------------------------------------------
// Follow-ups: what a transition decided on the Slack function leaves to the worker

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
async function handOff(deps: RequestDeps, request: AccessRequest, followUp: FollowUp = {}): Promise<void> {
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

// ---------------------------------------------------------------------------------------------------------------
// Transitions

async function load(deps: Pick<Deps, 'store'>, requestId: string): Promise<AccessRequest> {
  const request = await deps.store.requests.get(requestId);
  if (!request) throw new ConflictError('I have no such request any more.');
  return request;
}

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
async function ensurePending(deps: RequestDeps, request: AccessRequest, responseUrl?: string): Promise<void> {
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

export interface SubmitOptions {
  /** Also DM the requester that the request is waiting (the form closes without a word otherwise). */
  confirmToRequester?: boolean;
  /** The channel it was asked in, for the audit trail. */
  channel?: string;
  /** Where to answer if the request cannot be posted (a slash command's response_url); else a DM. */
  responseUrl?: string;
}

/** The job that posts a new request to the approval channel (see publishRequest). */
export function publishRequestJob(request: Pick<AccessRequest, 'id'>, options: SubmitOptions = {}): Job {
  return {
    id: `publish-request:${request.id}`,
    type: 'publish-request',
    payload: {
      requestId: request.id,
      confirmToRequester: options.confirmToRequester ?? false,
      ...(options.responseUrl ? { responseUrl: options.responseUrl } : {}),
    },
  };
}

/**
 * Stores a new pending request from a checked draft with its user name reserved and its audit event, in one
 * transaction, then hands its posting to the approval channel (and the requester's DM, with `confirmToRequester`)
 * to the worker: see publishRequest. Throws ValidationError when another active request holds the name.
 */
export async function submitRequest(
  deps: RequestDeps,
  requester: string,
  draft: CheckedDraft,
  options: SubmitOptions = {},
): Promise<AccessRequest> {
  const { policy } = deps.config;
  const now = deps.clock.now();
  const request: AccessRequest = {
    kind: 'create-user',
    id: newRequestId(deps),
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
  const requested = auditEvent(deps, request, requester, 'requested', {
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
  await storeReservingName(deps, request, requested);
  try {
    await deps.dispatcher.dispatch(publishRequestJob(request, options));
  } catch (error) {
    logger.error('Could not hand the posting of a request to the worker; posting it here', {
      requestId: request.id,
      errorName: (error as Error)?.name,
    });
    await publishRequest(deps, request.id, options);
  }
  return request;
}

/**
 * Stores a new request and reserves its IAM user name in one transaction (see RequestStore.createReserving), so
 * that no interleaving gives two active requests one name. A name held by a request that has ended is taken over;
 * one held by an active request refuses this one, naming it (ValidationError on the user name).
 */
async function storeReservingName(
  deps: RequestDeps,
  request: AccessRequest,
  requested: ReturnType<typeof auditEvent>,
): Promise<void> {
  let takeOverFrom: string | undefined;
  for (let tries = 0; tries < MAX_TRIES; tries++) {
    const result = await deps.store.requests.createReserving(
      request,
      [deps.store.audit.transactionItem(requested)],
      takeOverFrom,
    );
    if (result.reserved) return;
    // Read consistently (RequestStore.get): a stale read could miss a holder just created and take its name.
    const held = result.holder ? await deps.store.requests.get(result.holder) : undefined;
    const conflict = held ? nameConflict(held) : undefined;
    if (conflict) throw new ValidationError(conflict, { userName: conflict });
    takeOverFrom = result.holder;
  }
  throw new ConflictError('Too many requests for this user name at once; try again.');
}

/**
 * Worker side of submitRequest: posts a pending request to the approval channel with Approve / Deny, records where,
 * and with `confirmToRequester` DMs the requester that it is waiting. Posts once (a request that has its message is
 * left alone). When the message cannot be posted the request ends (expired, name released, audited) and the
 * requester is told why, through `responseUrl` or a DM.
 */
export async function publishRequest(deps: RequestDeps, requestId: string, options: SubmitOptions = {}): Promise<void> {
  let request = await deps.store.requests.get(requestId);
  if (!request || request.message || request.status !== 'pending') return;
  const channel = deps.config.policy.approvals.channel;
  let posted: { channel: string; ts: string };
  try {
    posted = await deps.messenger.post(channel, renderApprovalMessage(deps, request));
  } catch (error) {
    const code = (error as { data?: { error?: string } })?.data?.error ?? (error as Error)?.name ?? 'error';
    // Nobody can see it to approve it: end it now, which gives the user name back.
    const now = deps.clock.now();
    const ended = await deps.store.requests.update(
      request,
      { status: 'expired', decision: { by: 'system', at: now.toISOString(), reason: `not posted (${code})` } },
      now,
    );
    if (ended) await audit(deps, ended, 'system', 'not-posted', { channel, error: code });
    const text = `I could not post your request to <#${channel}> (${code}); is the bot a member of that channel? Nothing was created.`;
    if (options.responseUrl) {
      await deps.messenger
        .respond(options.responseUrl, { text, replaceOriginal: true })
        .catch((e) => logger.error('Could not answer a command', { requestId, errorName: (e as Error)?.name }));
    } else {
      await tell(deps, request.requester, request, { text });
    }
    return;
  }
  const rendered = request.version;
  request = await deps.store.requests.setMessage(requestId, posted);
  // Decided (or changed) between the post and now: the follow-up found no message to update, so bring it up to date.
  if (request && request.version !== rendered) await syncApprovalMessage(deps, request);
  if (request) await refreshApproverHomes(deps, request, `req:${requestId}:posted`);
  if (options.confirmToRequester && request)
    await tell(deps, request.requester, request, requestPostedMessage(request, channel));
}

export type ApprovalOutcome =
  | { kind: 'approved'; request: AccessRequest }
  | { kind: 'waiting'; request: AccessRequest; approvals: number; requiredApprovals: number };

/** Where the worker answers the person who clicked (a click's response_url), if anywhere. */
export interface ClickOptions {
  responseUrl?: string;
}

/**
 * Records `user`'s approval, decided from the stored request (read consistently) and the policy only, in one
 * conditional write with its audit event. When it completes the required approvals the request is approved and its
 * provisioning job dispatched, exactly once however many clicks race; otherwise the worker updates the message and
 * (given `responseUrl`) tells the clicker how many approvals there are. Makes no other call. Throws
 * NotAuthorizedError or ConflictError, changing nothing, when the click may not count.
 */
export async function approveRequest(
  deps: RequestDeps,
  requestId: string,
  user: string,
  options: ClickOptions = {},
): Promise<ApprovalOutcome> {
  for (let tries = 0; tries < MAX_TRIES; tries++) {
    const request = await load(deps, requestId);
    await ensurePending(deps, request, options.responseUrl);
    try {
      await authorizeApprover(deps, request, user);
    } catch (error) {
      if (error instanceof NotAuthorizedError)
        await audit(deps, request, user, 'approval-refused', { reason: error.message });
      throw error;
    }
    const { requiredApprovals } = ruleOf(deps.config.policy, request);
    if (request.approvals.some((a) => a.user === user))
      throw new ConflictError(
        `You already approved this request. It needs ${requiredApprovals} approvals from different approvers (${request.approvals.length} so far).`,
      );
    const now = deps.clock.now();
    const approvals = [...request.approvals, { user, at: now.toISOString() }];
    const complete = approvals.length >= requiredApprovals;
    const next = await transition(deps, request, complete ? { approvals, status: 'approved' } : { approvals }, {
      actor: user,
      action: complete ? 'approved' : 'approval-recorded',
      extra: { approvals: approvals.length, requiredApprovals },
    });
    if (!next) continue;
    if (!complete) {
      const text = `Your approval is recorded: ${approvals.length} of ${requiredApprovals}. It now needs another approver.`;
      await handOff(deps, next, options.responseUrl ? { reply: { responseUrl: options.responseUrl, text } } : {});
      return { kind: 'waiting', request: next, approvals: approvals.length, requiredApprovals };
    }
    await startProvisioning(deps, next, user, true);
    return { kind: 'approved', request: next };
  }
  throw new ConflictError('Too many people changed this request at once; try again.');
}

/**
 * Dispatches the provisioning job (the worker updates the message, and with `announce` tells the requester it was
 * approved); if that fails, the request fails at once so that approvers get Retry.
 */
export async function startProvisioning(
  deps: RequestDeps,
  request: AccessRequest,
  actor: string,
  announce: boolean,
): Promise<void> {
  try {
    await deps.dispatcher.dispatch(provisionJob(request, announce));
  } catch (error) {
    logger.error('Could not dispatch provisioning', { requestId: request.id, errorName: (error as Error)?.name });
    const failed = await deps.store.requests.update(
      request,
      {
        status: 'failed',
        error: `could not start provisioning (${(error as Error)?.name ?? 'error'})`,
        remaining: [],
        abandonAt: abandonAtFrom(deps),
      },
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

/**
 * Checks that `user` may deny the request now (before the reason form opens). Throws as `denyRequest` would; a
 * request found past its lifetime is expired and, given `responseUrl`, the worker answers (AnsweredConflictError).
 */
export async function checkCanDeny(
  deps: RequestDeps,
  requestId: string,
  user: string,
  options: ClickOptions = {},
): Promise<AccessRequest> {
  const request = await load(deps, requestId);
  await ensurePending(deps, request, options.responseUrl);
  await authorizeDenier(deps, request, user);
  return request;
}

/**
 * Denies a pending request with a reason: an approver of at least one requested group, not the requester or the
 * recipient, decides alone. One conditional write (with its audit event); the worker updates the message, releases
 * the name and tells the requester. Throws NotAuthorizedError or ConflictError, changing nothing, otherwise.
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
    const next = await transition(
      deps,
      request,
      { status: 'denied', decision: { by: user, at: now.toISOString(), reason: reason.trim() } },
      { actor: user, action: 'denied', extra: { reason: reason.trim() } },
    );
    if (!next) continue;
    await handOff(deps, next, { tellRequester: true });
    return next;
  }
  throw new ConflictError('Too many people changed this request at once; try again.');
}

/** Expires a pending request found past its lifetime by a click: one write, the rest to the worker. */
async function expireOnTheSpot(deps: RequestDeps, request: AccessRequest, reply?: Reply): Promise<boolean> {
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

/** Refuses a Retry or Abandon unless the request is failed. */
function ensureFailed(request: AccessRequest, verb: 'retry' | 'abandon'): void {
  if (request.status === 'failed') return;
  const state: Partial<Record<RequestStatus, string>> = {
    approved: 'is being provisioned already',
    provisioning: 'is being provisioned already',
    done: 'is done already',
    pending: 'is waiting for approval',
  };
  throw new ConflictError(
    `This request ${state[request.status] ?? `is ${request.status}`}; there is nothing to ${verb}.`,
  );
}

export type RetryOutcome =
  | { kind: 'retrying'; request: AccessRequest }
  /** Approved longer ago than the request lifetime: back to pending, approvals cleared. */
  | { kind: 'needs-approval'; request: AccessRequest };

/**
 * Retries the provisioning of a failed request: the clicker must be an approver of every group (not the requester
 * or the recipient), decided from the stored request. Within the request lifetime (`requests.lifetimeHours`)
 * after its approval: back to approved with the next attempt number, dispatching `provision:<id>:<attempt>` once
 * however many clicks race. Later: the approval is too old to act on, so the request returns to pending with its
 * approvals cleared and a new lifetime, and needs a fresh approval (the worker updates the message, tells the
 * requester and, given `responseUrl`, the clicker). One conditional write with its audit event either way.
 */
export async function retryRequest(
  deps: RequestDeps,
  requestId: string,
  user: string,
  options: ClickOptions = {},
): Promise<RetryOutcome> {
  const { lifetimeHours } = deps.config.policy.requests;
  for (let tries = 0; tries < MAX_TRIES; tries++) {
    const request = await load(deps, requestId);
    ensureFailed(request, 'retry');
    await authorizeApprover(deps, request, user, 'retry');
    const now = deps.clock.now();
    const approvedAt = Date.parse(request.approvals.at(-1)?.at ?? request.createdAt);
    const remove: (keyof AccessRequest)[] = ['error', 'remaining', 'abandonAt'];
    if (now.getTime() >= approvedAt + lifetimeHours * 3_600_000) {
      const next = await transition(
        deps,
        request,
        {
          status: 'pending',
          approvals: [],
          attempt: request.attempt + 1,
          expiresAt: new Date(now.getTime() + lifetimeHours * 3_600_000).toISOString(),
        },
        {
          actor: user,
          action: 'returned-for-approval',
          extra: {
            approvedAt: new Date(approvedAt).toISOString(),
            error: request.error ?? null,
            remaining: request.remaining ?? [],
          },
          remove,
        },
      );
      if (!next) continue;
      const text = `This request was approved more than ${lifetimeHours} hours ago, so it needs a fresh approval before I retry: it is back to waiting for approval.`;
      await handOff(deps, next, {
        tellRequester: true,
        ...(options.responseUrl ? { reply: { responseUrl: options.responseUrl, text } } : {}),
      });
      return { kind: 'needs-approval', request: next };
    }
    const next = await transition(
      deps,
      request,
      { status: 'approved', attempt: request.attempt + 1 },
      { actor: user, action: 'retried', extra: { attempt: request.attempt + 1 }, remove },
    );
    if (!next) continue;
    await startProvisioning(deps, next, user, false);
    return { kind: 'retrying', request: next };
  }
  throw new ConflictError('Too many people changed this request at once; try again.');
}

/**
 * Abandons a failed request (an approver of every group, not the requester or the recipient): it ends, releasing
 * its IAM user name; what it left in IAM (`remaining`, listed on the message and in the audit event) stays for
 * someone to clean up. One conditional write with its audit event; the worker updates the message, releases the
 * name and tells the requester.
 */
export async function abandonRequest(deps: RequestDeps, requestId: string, user: string): Promise<AccessRequest> {
  for (let tries = 0; tries < MAX_TRIES; tries++) {
    const request = await load(deps, requestId);
    ensureFailed(request, 'abandon');
    await authorizeApprover(deps, request, user, 'abandon');
    const now = deps.clock.now();
    const next = await transition(
      deps,
      request,
      { status: 'abandoned', decision: { by: user, at: now.toISOString() } },
      { actor: user, action: 'abandoned', extra: { remaining: request.remaining ?? [] }, remove: ['abandonAt'] },
    );
    if (!next) continue;
    await handOff(deps, next, { tellRequester: true });
    return next;
  }
  throw new ConflictError('Too many people changed this request at once; try again.');
}

/**
 * Abandons every failed request past its failed-request lifetime (`abandonAt`): it ends and releases its IAM user
 * name, audited with what it left in IAM; the message is updated and the requester told. Safe to run again.
 */
export async function abandonExpiredFailures(deps: RequestDeps): Promise<{ abandoned: number }> {
  let abandoned = 0;
  const now = deps.clock.now();
  for (const request of await deps.store.requests.failedPastLifetimeAt(now)) {
    const next = await deps.store.requests.update(
      request,
      {
        status: 'abandoned',
        decision: { by: 'system', at: now.toISOString(), reason: 'failed-request lifetime over' },
      },
      now,
      ['abandonAt'],
    );
    if (!next) continue;
    abandoned++;
    await audit(deps, next, 'system', 'abandoned', {
      remaining: request.remaining ?? [],
      abandonAt: request.abandonAt ?? null,
    });
    await syncApprovalMessage(deps, next);
    await tellRequester(deps, next);
  }
  return { abandoned };
}

/**
 * Fails requests whose provisioning stopped midway (the worker timed out or crashed, and Lambda's retries were
 * skipped while the job was still claimed), so that approvers get Retry, which continues from what exists. Undoes
 * nothing itself. Safe to run again: each change is a conditional write.
 */
export async function failStalledProvisioning(deps: RequestDeps): Promise<{ stalled: number }> {
  let stalled = 0;
  for (const request of await deps.store.requests.stalledAt(deps.clock.now())) {
    if (request.run?.attempt === request.attempt) continue; // the runner's: resumeStalledRuns resumes it
    const failed = await deps.store.requests.update(
      request,
      {
        status: 'failed',
        error:
          request.status === 'approved'
            ? 'provisioning never started (the worker was not reached)'
            : 'provisioning stopped before it finished (the worker timed out or crashed)',
        remaining: [
          reservesName(request)
            ? `whatever it had created for IAM user ${request.userName}; Retry continues from there`
            : `whatever steps of its plan had run on IAM user ${request.userName}; Retry continues from there`,
        ],
        abandonAt: abandonAtFrom(deps),
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
