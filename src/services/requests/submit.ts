/**
 * Submitting a new request of any kind, one path: the kind's checked draft becomes a request (newRequest), which is
 * stored with what its kind reserves (its IAM user name) and its audit event, then handed to the worker to be posted
 * for approval (after the people it names are checked against Slack) or, when allowed, run at once (submitNew).
 */
import { requestPostedMessage } from '../../blocks/request.js';
import { BotError, ConflictError, ValidationError } from '../../errors.js';
import type { Job } from '../../jobs/types.js';
import { atOnceAnswer } from '../../kinds/change.js';
import type { ChangeKind } from '../../kinds/change-rules.js';
import { kindChecks, kindOf } from '../../kinds/registry.js';
import type { PersonCheck, Verified, VerifyDeps } from '../../kinds/types.js';
import { logger } from '../../logger.js';
import type { AccessRequest } from '../../store/requests.js';
import type { OutgoingMessage } from '../ports.js';
import { nameConflict } from '../request-names.js';
import type { CheckedDraft } from '../request-validation.js';
import { startProvisioning } from './approve.js';
import { audit, auditEvent } from './audit.js';
import { MAX_TRIES, newRequestId, type RequestDeps } from './common.js';
import { refreshApproverHomes } from './follow-up.js';
import { renderApprovalMessage, syncApprovalMessage, tell } from './tell.js';

/**
 * What posting a request needs: a kind's check asks AWS (RequestKindModule.verify; the kinds that have one are
 * submitted by callers that pass it).
 */
type PublishDeps = RequestDeps & Partial<Pick<VerifyDeps, 'aws'>>;

export interface SubmitOptions {
  /** Also DM the requester that the request is waiting (the form closes without a word otherwise). */
  confirmToRequester?: boolean;
  /** The channel it was asked in, for the audit trail. */
  channel?: string;
  /** Where to answer if the request cannot be posted (a slash command's response_url); else a DM. */
  responseUrl?: string;
  /**
   * No retry will follow (the post is made inline because the worker could not be reached): a failure of any kind
   * ends the request, rather than leaving it pending with no message for anyone to approve.
   */
  lastChance?: boolean;
}

type CannotAct = 'a bot' | 'deactivated' | 'unknown';

/**
 * Why someone a request names cannot act on it (a bot, deactivated in Slack, or an id Slack does not know);
 * undefined for a person in the workspace. A transient failure of users.info throws (the job is retried), except on
 * the last chance, where the request goes on unchecked.
 */
async function cannotAct(deps: RequestDeps, user: string, options: SubmitOptions): Promise<CannotAct | undefined> {
  let status: Awaited<ReturnType<RequestDeps['messenger']['memberStatus']>>;
  try {
    status = await deps.messenger.memberStatus(user);
  } catch (error) {
    if (options.lastChance) return undefined;
    throw new Error(`Could not check ${user} with Slack; retried`, { cause: error });
  }
  return status === 'bot'
    ? 'a bot'
    : status === 'deleted'
      ? 'deactivated'
      : status === 'not-found'
        ? 'unknown'
        : undefined;
}

/**
 * The kind's check before posting (RequestKindModule.verify). A transient failure throws (the job is retried), except
 * on the last chance, where the request ends: nothing can be posted that was never checked.
 */
async function verify(deps: PublishDeps, request: AccessRequest, options: SubmitOptions): Promise<Verified> {
  const check = kindOf(request).verify;
  if (!check) return {};
  try {
    if (!deps.aws) throw new Error(`A ${request.kind} request is checked with AWS; no AWS clients were given`);
    const draftChecks = kindChecks(request.kind as ChangeKind);
    const { aws, config, store, messenger, clock } = deps;
    return await check({ aws, config, store, messenger, clock, draftChecks }, request);
  } catch (error) {
    if (!options.lastChance)
      throw new Error(`Could not check request ${request.id} with AWS; retried`, { cause: error });
    const why =
      error instanceof BotError ? error.message : `I could not check it with AWS (${(error as Error)?.name}).`;
    return { refusal: { code: 'unchecked', text: `${why} Nothing was created; try again.` } };
  }
}

/** Who someone is, for a refusal (see PersonCheck.refusal). */
const whoIs = (user: string, unable: CannotAct) =>
  unable === 'a bot'
    ? `<@${user}> is a bot`
    : unable === 'deactivated'
      ? `<@${user}> is deactivated in Slack`
      : `\`${user}\` is not a member of this workspace (Slack does not know that id)`;

/** The first person the request's kind says must be in the workspace who is not, with why; undefined if none. */
async function firstWhoCannotAct(
  deps: RequestDeps,
  request: AccessRequest,
  options: SubmitOptions,
): Promise<{ check: PersonCheck; unable: CannotAct } | undefined> {
  for (const check of kindOf(request).people?.(request) ?? []) {
    const unable = await cannotAct(deps, check.user, options);
    if (unable) return { check, unable };
  }
  return undefined;
}

/**
 * Ends a request that was not posted (expired, name released, audited) and tells the requester why, through the
 * command's response_url or a DM.
 */
async function endUnposted(
  deps: RequestDeps,
  request: AccessRequest,
  code: string,
  text: string,
  options: SubmitOptions,
  blocks?: OutgoingMessage['blocks'],
): Promise<void> {
  const channel = deps.config.policy.approvals.channel;
  const now = deps.clock.now();
  const ended = await deps.store.requests.update(
    request,
    { status: 'expired', decision: { by: 'system', at: now.toISOString(), reason: `not posted (${code})` } },
    now,
  );
  if (ended) await audit(deps, ended, 'system', 'not-posted', { channel, error: code });
  const message = { text, ...(blocks ? { blocks } : {}) };
  if (options.responseUrl) await answerCommand(deps, request, options.responseUrl, message);
  else await tell(deps, request.requester, request, message);
}

/**
 * Posts the one answer under the requester's command (acked with no message: a slash command's response_url adds a
 * message, replace_original or not, bolt-js#2287). A failure is logged: the request stands as it is.
 */
async function answerCommand(
  deps: RequestDeps,
  request: AccessRequest,
  responseUrl: string,
  message: string | OutgoingMessage,
) {
  await deps.messenger
    .respond(responseUrl, typeof message === 'string' ? { text: message } : message)
    .catch((e) => logger.error('Could not answer a command', { requestId: request.id, errorName: (e as Error)?.name }));
}

/**
 * Starts a request its kind's check recorded approved to run at once (the worker tells the requester it runs), and
 * gives the command its one answer (the kind's `render.atOnce`).
 */

/**
 * Slack's answers to chat.postMessage that mean the bot cannot post in the approval channel at all. Anything else
 * (a 429 past the client's retries, a 5xx, `fatal_error`, a network failure) is transient: the job fails and is
 * retried, and the request keeps its user name meanwhile.
 */
export const CANNOT_POST = new Set(['not_in_channel', 'channel_not_found', 'is_archived']);

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

/** What every new request starts with; the kind's draft gives the rest (see newRequest). */
type RequestFields = Omit<
  AccessRequest,
  | 'id'
  | 'status'
  | 'requester'
  | 'approvals'
  | 'attempt'
  | 'credentialIssue'
  | 'createdAt'
  | 'expiresAt'
  | 'updatedAt'
  | 'version'
>;

/** A new request of `requester` from a kind's checked draft (`fields`): pending, or `approved` to run at once. */
export function newRequest(
  deps: RequestDeps,
  requester: string,
  fields: RequestFields,
  status: 'pending' | 'approved' = 'pending',
): AccessRequest {
  const now = deps.clock.now();
  return {
    ...fields,
    id: newRequestId(deps),
    status,
    requester,
    approvals: [],
    attempt: 1,
    credentialIssue: 0,
    createdAt: now.toISOString(),
    expiresAt: new Date(now.getTime() + deps.config.policy.requests.lifetimeHours * 3_600_000).toISOString(),
    updatedAt: now.toISOString(),
    version: 0,
  };
}

/**
 * The one submit path of every kind: stores a new request (see newRequest) with its `requested` audit event and
 * what its kind reserves (its IAM user name: see storeReservingName; or the kind's own, RequestKindModule.store),
 * in one transaction, then hands it to the
 * worker: a pending request to be posted for approval (publishRequest, run here when the worker cannot be reached),
 * an approved one (a change allowed at once) to run. Throws ValidationError when another active request holds the
 * name; nothing is stored then.
 */
export async function submitNew(
  deps: PublishDeps,
  request: AccessRequest,
  requested: ReturnType<typeof auditEvent>,
  options: SubmitOptions = {},
): Promise<AccessRequest> {
  const kind = kindOf(request);
  if (kind.store) await kind.store(deps, request, [deps.store.audit.transactionItem(requested)]);
  else if (kind.reservesName) await storeReservingName(deps, request, requested);
  else await deps.store.requests.create(request, [deps.store.audit.transactionItem(requested)]);
  if (request.status === 'approved') {
    await startProvisioning(deps, request, request.requester, true); // the worker tells the requester it runs
    return request;
  }
  try {
    await deps.dispatcher.dispatch(publishRequestJob(request, options));
  } catch (error) {
    logger.error('Could not hand the posting of a request to the worker; posting it here', {
      requestId: request.id,
      errorName: (error as Error)?.name,
    });
    await publishRequest(deps, request.id, { ...options, lastChance: true });
  }
  return request;
}

/**
 * Submits a checked create-user draft (see submitNew): a pending request with its user name reserved, posted by the
 * worker. Throws ValidationError when another active request holds the name.
 */
export async function submitRequest(
  deps: PublishDeps,
  requester: string,
  draft: CheckedDraft,
  options: SubmitOptions = {},
): Promise<AccessRequest> {
  const request = newRequest(deps, requester, {
    kind: 'create-user',
    recipient: draft.recipient,
    account: draft.account,
    accountId: draft.accountId,
    userName: draft.userName,
    path: deps.config.policy.users.path,
    groups: draft.groups,
    accessType: draft.accessType,
    tags: draft.tags,
    justification: draft.justification,
  });
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
  return submitNew(deps, request, requested, options);
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
 * A request stored before its checks that the worker's check found needs no approval (Verified `atOnce`: the owner's
 * removal, break-glass): approved with what the check learned and why, in one conditional write with its audit event,
 * then the requester's answer and its run started, as submitNew starts one decided at submission. A request changed
 * meanwhile (cancelled) throws: the retry decides from what is stored.
 */
async function runAtOnce(
  deps: PublishDeps,
  request: AccessRequest,
  fields: Partial<AccessRequest>,
  atOnce: { allowed: string; answer: string },
  options: SubmitOptions,
): Promise<void> {
  const approved = await deps.store.requests.update(
    request,
    { ...fields, status: 'approved', allowedAtOnce: atOnce.allowed },
    deps.clock.now(),
    [],
    (next) => [
      deps.store.audit.transactionItem(
        auditEvent(deps, next, 'system', 'allowed-at-once', { allowedAtOnce: atOnce.allowed }),
      ),
    ],
  );
  if (!approved) throw new Error(`Request ${request.id} changed while it was checked; retried`);
  if (options.responseUrl) await answerCommand(deps, approved, options.responseUrl, atOnce.answer);
  else await tell(deps, approved.requester, approved, { text: atOnce.answer });
  await startProvisioning(deps, approved, approved.requester, true);
}

/**
 * Worker side of submitNew: first runs the kind's check of what submission left to the worker
 * (RequestKindModule.verify: an inline create-user's IAM user and groups; a refusal ends the request unposted, as
 * below, and what it learned is recorded on the request), then checks that the people the request's kind names
 * (RequestKindModule.people: a new IAM user's recipient, a new owner) are persons in the workspace (a bot, a deactivated member or an unknown id ends the
 * request before approvers are asked), then posts the pending request to the approval channel with Approve / Deny,
 * records where, answers the requester's command (`responseUrl`, acked with no message) that it is waiting, and with
 * `confirmToRequester` DMs the requester that it is waiting. Posts once (a request that has its message is
 * only answered again: a retry after a kill may not have answered). When Slack says the bot cannot post in the channel (CANNOT_POST) the request ends (expired, name
 * released, audited) and the requester is told why, through `responseUrl` or a DM; any other failure is rethrown,
 * so that the job is retried with the request still pending (with `lastChance`, it ends the request too).
 */
export async function publishRequest(deps: PublishDeps, requestId: string, options: SubmitOptions = {}): Promise<void> {
  let request = await deps.store.requests.get(requestId);
  const channel = deps.config.policy.approvals.channel;
  // Decided at once by a try killed before its run began (see runAtOnce): answered (again: the kill may have come
  // after the answer) and started again (the job is one per attempt).
  if (request?.status === 'approved' && request.allowedAtOnce && !request.message && !request.run) {
    const answer =
      kindOf(request).render.atOnce?.(request, deps.config.policy) ??
      atOnceAnswer(request, request.allowedAtOnce, channel);
    if (options.responseUrl) await answerCommand(deps, request, options.responseUrl, answer);
    await startProvisioning(deps, request, request.requester, true);
    return;
  }
  if (request?.status !== 'pending') return;
  if (request.message) {
    // A retry of a job killed after the post was recorded: its answer may not have gone out (the command was acked
    // with no message), so it is given again; the user sees it twice only when the kill fell right after it.
    if (options.responseUrl)
      await answerCommand(deps, request, options.responseUrl, kindOf(request).render.waiting(request, channel));
    return;
  }
  // What submission left to the worker (an inline create-user: IAM's user and groups, the account id).
  const verified = await verify(deps, request, options);
  if ('refusal' in verified) {
    const { code, text, blocks } = verified.refusal;
    await endUnposted(deps, request, code, text, options, blocks);
    return;
  }
  if (verified.atOnce) {
    await runAtOnce(deps, request, verified.fields ?? {}, verified.atOnce, options);
    return;
  }
  if (verified.fields && Object.keys(verified.fields).length) {
    const recorded = await deps.store.requests.update(request, verified.fields, deps.clock.now());
    // Changed meanwhile (cancelled, or another try recorded it): the retry decides again from what is stored.
    if (!recorded) throw new Error(`Request ${requestId} changed while it was checked; retried`);
    request = recorded;
  }
  // The people the kind names (a new user's recipient, a new owner) must be persons in the workspace.
  const cannot = await firstWhoCannotAct(deps, request, options);
  if (cannot) {
    const { check, unable } = cannot;
    await endUnposted(deps, request, `${check.role} ${unable}`, check.refusal(whoIs(check.user, unable)), options);
    return;
  }
  let posted: { channel: string; ts: string };
  try {
    posted = await deps.messenger.post(channel, renderApprovalMessage(deps, request));
  } catch (error) {
    const code = (error as { data?: { error?: string } })?.data?.error ?? (error as Error)?.name ?? 'error';
    if (!CANNOT_POST.has(code) && !options.lastChance) {
      logger.warn('Could not post a request to the approval channel; the job is retried', {
        requestId,
        error: code,
      });
      throw new Error(`Posting request ${requestId} failed (${code}); retried`, { cause: error });
    }
    // Nobody can see it to approve it: end it now, which gives the user name back.
    const text = `I could not post your request to <#${channel}> (${code}); is the bot a member of that channel? Nothing was created.`;
    await endUnposted(deps, request, code, text, options);
    return;
  }
  const rendered = request.version;
  request = await deps.store.requests.setMessage(requestId, posted);
  // The command's one answer, now that it is true (the command was acked with no message).
  if (request?.status === 'pending' && options.responseUrl)
    await answerCommand(deps, request, options.responseUrl, kindOf(request).render.waiting(request, channel));
  // Decided (or changed) between the post and now: the follow-up found no message to update, so bring it up to date.
  if (request && request.version !== rendered) await syncApprovalMessage(deps, request);
  if (request) await refreshApproverHomes(deps, request, `req:${requestId}:posted`);
  if (options.confirmToRequester && request)
    await tell(deps, request.requester, request, requestPostedMessage(request, channel));
}
