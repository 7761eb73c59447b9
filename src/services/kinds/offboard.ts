/**
 * Leavers: when a Slack member who owns IAM users is deactivated (the `user_change` event, the daily check of every
 * owner with users.info) or an approver asks for it (`/iam offboard`, through approval), every IAM user they own under
 * the managed paths that the policy does not exclude stops working: its active access keys are deactivated and its
 * console password deleted; their pending requests are cancelled; the approval channel gets one report with
 * Reactivate (approvers, within `leavers.recoveryDays`: the keys exactly as they were) and Give to (set-owner,
 * through approval).
 *
 * One offboarding is a request of kind `offboard`. An automatic one has the id `offboard-<member>`: the event, its
 * repeats and the daily check all create that one request at most once, so a member is handled once. Each IAM write
 * is audited as a step of the request, and what it deactivated is recorded per user before Reactivate may use it.
 */
import {
  DeleteLoginProfileCommand,
  GetAccountAuthorizationDetailsCommand,
  GetLoginProfileCommand,
  ListAccessKeysCommand,
  ListUserTagsCommand,
  UpdateAccessKeyCommand,
} from '@aws-sdk/client-iam';
import { HOME } from '../../aws/accounts.js';
import type { Deps } from '../../deps.js';
import { ConflictError, NotAuthorizedError } from '../../errors.js';
import type { Job } from '../../jobs/types.js';
import { deletedOnLeave } from '../../kinds/facts.js';
import { logger } from '../../logger.js';
import type { AccessRequest, OffboardedUser, Offboarding } from '../../store/requests.js';
import type { ProjectedUser } from '../../store/users.js';
import { refreshHomes } from '../home-refresh.js';
import type { PlanStep } from '../plans/types.js';
import { describeStep } from '../plans/types.js';
import { errorName } from '../provisioning.js';
import { submitNew } from '../requests/submit.js';
import {
  abandonAtFrom,
  approvalRule,
  auditEvent,
  isAmong,
  newRequestId,
  type RequestDeps,
  recordSystemAudit,
  renderApprovalMessage,
  reservesName,
  syncApprovalMessage,
  tellApproversOfFailure,
  tellRequester,
} from '../requests.js';
import { isIdle, RUN_LEASE_MS, type RunOutcome, resumeRun, runAttempt, runNext } from '../runner/engine.js';
import type { RunKind, RunState, RunStep, StepOutcome } from '../runner/types.js';
import { memberStates, requireFullMember } from '../slack-members.js';
import { userChanged } from '../user-changes.js';
import { isManagedPath, managedUserPaths, ownerFromTags } from '../user-projection.js';

/** The request of a member's automatic offboarding: one per member, whoever notices first. */
export const leaverRequestId = (member: string) => `offboard-${member}`;

/** Audit subject of what the bot noticed about a member that did not become an offboarding. */
const memberSubject = (member: string) => `member#${member}`;

/** Whether the policy's `leavers.exclude` names this user (its name, case-insensitive, or a path it is under). */
export function isExcluded(policy: Deps['config']['policy'], userName: string, path: string): boolean {
  return policy.leavers.exclude.some((e) =>
    e.startsWith('/') ? path.startsWith(e) : e.toLowerCase() === userName.toLowerCase(),
  );
}

/** The worker job that handles a member noticed as gone: by the event (`id` its event id) or the daily check. */
export function leaverJob(member: string, trigger: 'event' | 'scan', id: string): Job {
  return { id: `leaver:${member}:${id}`, type: 'leaver', payload: { member, trigger } };
}

/** The job that tells the approvers, once per id, that IAM users are owned by an id Slack does not know. */
export function ownerUnknown(member: string): Job {
  return { id: `owner-unknown:${member}`, type: 'owner-unknown', payload: { member } };
}

const userKey = (u: Pick<OffboardedUser, 'account' | 'userName'>) => `${u.account}#${u.userName.toLowerCase()}`;

/** The steps an offboarding ran (or, in `report` mode and before approval, would run), in order. */
export function offboardPlan(users: readonly OffboardedUser[]): PlanStep[] {
  return users.flatMap((u): PlanStep[] => [
    ...u.keys.map(
      (accessKeyId): PlanStep => ({ op: 'DeactivateAccessKey', userName: u.userName, accessKeyId, account: u.account }),
    ),
    ...(u.console ? [{ op: 'DeleteLoginProfile' as const, userName: u.userName, account: u.account }] : []),
  ]);
}

/** What the projection says the member owns, as the report lists it before anything ran (keys active now). */
function previewOf(policy: Deps['config']['policy'], owned: ProjectedUser[]): OffboardedUser[] {
  return owned.map((u) => {
    const excluded = isExcluded(policy, u.userName, u.path);
    const managed = isManagedPath(managedUserPaths(policy), u.path);
    const act = managed && !excluded;
    return {
      account: u.account,
      userName: u.userName,
      path: u.path,
      outcome: excluded ? 'excluded' : managed ? 'report' : 'unmanaged',
      keys: act ? u.keys.filter((k) => k.status === 'Active').map((k) => k.id) : [],
      console: act && u.console,
    };
  });
}

/**
 * Worker: handles a member noticed as gone (event or daily check). Does nothing for a member who owns no IAM user
 * (the projection), nor for one already handled (its `offboard-<member>` request exists: a repeat changes nothing and
 * posts nothing). Otherwise asks Slack again, fresh (never the event alone): active, nothing; Slack unreachable,
 * recorded in the audit trail and left to the next daily check; an id Slack does not know (user_not_found: a
 * mistyped tag, another workspace's id) is no leaver: nothing is created and `unknown` tells the caller to report it;
 * deactivated (users.info `deleted: true`, the only answer that means gone), creates the offboarding once (a
 * conditional write) and runs it.
 */
export async function handleLeaver(
  deps: Deps,
  member: string,
  trigger: 'event' | 'scan',
): Promise<'handled' | 'already' | 'no-users' | 'active' | 'unknown' | 'unreachable'> {
  const id = leaverRequestId(member);
  const existing = await deps.store.requests.get(id);
  if (existing) {
    // A run stopped midway (its part killed) resumes from its checkpoint; a run that died between its end and its
    // report (or whose report Slack refused) gets it posted now, and only then.
    if (existing.status === 'approved' || existing.status === 'provisioning' || isIdle(existing, deps.clock.now()))
      await runOffboard(deps, id, existing.attempt);
    else if (existing.status === 'done' && !existing.message) await postReport(deps, existing);
    return 'already';
  }
  const owned = await deps.store.users.ownedBy(member, { consistent: true });
  if (!owned.users.length) return 'no-users';
  const state = (await memberStates(deps, [member], { fresh: true })).get(member);
  if (!state) {
    await deps.store.audit.record({
      subject: memberSubject(member),
      at: deps.clock.now(),
      actor: 'system',
      action: 'leaver-check-failed',
      detail: { trigger, reason: 'Slack users.info did not answer; the daily check tries again' },
    });
    return 'unreachable';
  }
  if (state === 'active') {
    logger.info('A member reported gone is active in Slack; nothing done', { member, trigger });
    return 'active';
  }
  if (state === 'unknown') {
    logger.info('A member reported gone is unknown to Slack (user_not_found); nothing deactivated', {
      member,
      trigger,
    });
    return 'unknown';
  }
  const now = deps.clock.now();
  const users = previewOf(deps.config.policy, owned.users);
  const request: AccessRequest = {
    ...offboardRequestBase(deps, member, now),
    id,
    status: 'approved',
    requester: 'system',
    justification: `${trigger === 'event' ? 'Slack reported' : 'The daily check found'} <@${member}> deactivated.`,
    plan: offboardPlan(users),
    offboard: { member, trigger, users, cancelled: [] },
  };
  try {
    await deps.store.requests.create(request, [
      deps.store.audit.transactionItem(
        auditEvent(deps, request, 'system', 'requested', { kind: 'offboard', member, trigger, slackState: state }),
      ),
    ]);
  } catch (error) {
    if (await deps.store.requests.get(id)) return 'already'; // another delivery created it first
    throw error;
  }
  await runOffboard(deps, id, 1);
  return 'handled';
}

function offboardRequestBase(deps: Pick<Deps, 'config'>, member: string, now: Date) {
  return {
    kind: 'offboard' as const,
    owner: member,
    recipient: member,
    account: HOME,
    accountId: '',
    userName: member,
    path: deps.config.policy.users.path,
    groups: [],
    accessType: 'keys' as const, // create-user's field; an offboarding mints no credentials
    tags: [],
    approvals: [],
    attempt: 1,
    credentialIssue: 0,
    createdAt: now.toISOString(),
    expiresAt: new Date(now.getTime() + deps.config.policy.requests.lifetimeHours * 3_600_000).toISOString(),
    updatedAt: now.toISOString(),
    version: 0,
  };
}

/** Who approves offboardings and their Reactivate: `approvals.kinds.offboard`, else the global approvers. */
export async function isOffboardApprover(deps: Pick<Deps, 'config' | 'messenger'>, user: string): Promise<boolean> {
  const [rule] = approvalRule(deps.config.policy, [], 'offboard').groups;
  return isAmong(deps, rule?.approvers, user);
}

/**
 * Slack function: `/iam offboard @someone --reason` by an approver. Stores a pending `offboard` request listing what
 * the projection says the member owns (the worker reads IAM again once it is approved) through the one submit path
 * (submitNew: stored with its audit event, its posting handed to the worker). Throws NotAuthorizedError for a non-approver, ConflictError for someone who owns no IAM user.
 */
export async function submitOffboardRequest(
  deps: RequestDeps,
  requester: string,
  member: string,
  justification: string,
  options: { channel?: string; responseUrl?: string } = {},
): Promise<AccessRequest> {
  if (!(await isOffboardApprover(deps, requester)))
    throw new NotAuthorizedError('Only approvers can ask to offboard someone.');
  await requireFullMember(deps, requester, 'ask to offboard someone');
  if (member === requester) throw new NotAuthorizedError('You cannot offboard yourself: ask another approver.');
  const owned = await deps.store.users.ownedBy(member);
  if (!owned.users.length) throw new ConflictError(`<@${member}> owns no IAM user I know of: nothing to offboard.`);
  const now = deps.clock.now();
  const users = previewOf(deps.config.policy, owned.users);
  const request: AccessRequest = {
    ...offboardRequestBase(deps, member, now),
    id: newRequestId(deps),
    status: 'pending',
    requester,
    justification,
    plan: offboardPlan(users),
    offboard: { member, trigger: 'command', users, cancelled: [] },
  };
  const requested = auditEvent(deps, request, requester, 'requested', {
    kind: 'offboard',
    member,
    trigger: 'command',
    channel: options.channel ?? null,
  });
  await submitNew(deps, request, requested, options);
  return request;
}

/**
 * Worker: runs an approved offboarding for the attempt it was dispatched for, on the resumable runner (see
 * offboardRun): starts its run (approved -> provisioning; a repeat is skipped), or resumes it from its checkpoint
 * when no part holds it (a repeated event after a part was killed). Per IAM user the member owns: an excluded or
 * unmanaged one is listed, never touched; one someone else owns by now (read live) is left; otherwise (policy
 * `disable`) every active key is deactivated and the console password deleted, each step checkpointed with its audit
 * event, or (policy `report`) what would be done is recorded. Then cancels the member's pending requests, ends the
 * request (done, or failed with Retry for the users that failed) and posts (or updates) the one report.
 */
export const runOffboard = (deps: Deps, requestId: string, attempt: number): Promise<RunOutcome> =>
  runAttempt(deps, () => offboardRun, requestId, attempt);

/** Posts an offboarding's report in the approval channel and records where (a Slack failure is logged). */
async function postReport(deps: Deps, request: AccessRequest): Promise<void> {
  try {
    const posted = await deps.messenger.post(
      deps.config.policy.approvals.channel,
      renderApprovalMessage(deps, request),
    );
    await deps.store.requests.setMessage(request.id, posted);
  } catch (error) {
    logger.error('Could not post an offboarding report', { requestId: request.id, errorName: errorName(error) });
  }
}

const isNoSuchEntity = (e: unknown) => errorName(e) === 'NoSuchEntity' || errorName(e) === 'NoSuchEntityException';

const sameUser = (s: RunStep, u: Pick<OffboardedUser, 'account' | 'userName'>) =>
  (s.args.userName ?? '').toLowerCase() === u.userName.toLowerCase() && s.args.account === u.account;

/**
 * The per-user records of an offboarding's run, from its checkpointed steps: what each user's gate found, then
 * exactly the keys its steps deactivated and whether its password went (with what earlier attempts did, carried in
 * the gate's arguments). Whichever part ran a step, its checkpoint holds the result: this is what the report lists
 * and what Reactivate restores. `stopped`: users with a step not reached are failed.
 */
function recordsOfRun(run: RunState, stopped = false): OffboardedUser[] {
  const users: OffboardedUser[] = [];
  for (const [i, gate] of run.steps.entries()) {
    if (gate.op !== 'inspect-user') continue;
    const { account = '', userName = '', path = '' } = gate.args;
    const base = { account, userName, path };
    const mine = run.steps.map((s, at) => ({ s, at })).filter(({ s, at }) => at > i && sameUser(s, base));
    const keys = (gate.args.keys ?? '').split(',').filter(Boolean);
    let console = gate.args.console === 'yes';
    for (const { s } of mine) {
      if (s.op === 'deactivate-key' && s.result === 'done' && !keys.includes(s.args.accessKeyId ?? ''))
        keys.push(s.args.accessKeyId ?? '');
      if (s.op === 'delete-login-profile' && s.data?.deleted === true) console = true;
    }
    const outcome = gate.data?.outcome as OffboardedUser['outcome'] | undefined;
    const failedStep = [gate, ...mine.map(({ s }) => s)].find((s) => s.result === 'failed');
    const notReached = stopped && [i, ...mine.map(({ at }) => at)].some((at) => at >= run.cursor);
    if (notReached || failedStep || !outcome)
      users.push({
        ...base,
        outcome: 'failed',
        keys,
        console,
        error: failedStep?.detail ?? 'not reached: the run stopped',
      });
    else if (outcome === 'report')
      users.push({
        ...base,
        outcome,
        keys: Array.isArray(gate.data?.active) ? gate.data.active : [],
        console: gate.data?.console === true,
      });
    else users.push({ ...base, outcome, keys, console });
  }
  return users;
}

/** Every record of an offboarding: its run's users, then those it only lists (recorded when the run started). */
function allRecords(request: AccessRequest, stopped = false): OffboardedUser[] {
  const ran = request.run ? recordsOfRun(request.run, stopped) : [];
  const seen = new Set(ran.map(userKey));
  return [...ran, ...(request.offboard?.users ?? []).filter((u) => !seen.has(userKey(u)))];
}

/**
 * The plan of an offboarding's run, from the projection (read consistently) and the listing of the users the member
 * owns outside the managed paths: one `inspect-user` gate per IAM user to act on (it adds that user's key and
 * password steps once it has read them live), then cancel their pending requests, commit, and the report. Users an
 * earlier attempt handled keep their record and are not run again (a Retry runs the failed ones, carrying what they
 * did before). The records of the users only listed are stored now; the others' come from the steps.
 */
async function planOffboard(deps: Deps, request: AccessRequest) {
  const off = request.offboard as Offboarding;
  const { policy } = deps.config;
  const action = policy.leavers.action;
  // What earlier attempts did (not the preview of what the projection showed before the first run).
  const ran = off.users.filter((u) => u.outcome !== 'report' && u.outcome !== 'excluded' && u.outcome !== 'unmanaged');
  const previous = new Map(ran.map((u) => [userKey(u), u]));
  const owned = (await deps.store.users.ownedBy(off.member, { consistent: true })).users;
  const listed: OffboardedUser[] = [];
  const steps: RunStep[] = [];
  const seen = new Set<string>();
  for (const u of owned) {
    const key = userKey(u);
    if (seen.has(key)) continue;
    seen.add(key);
    const before = previous.get(key);
    const base = { account: u.account, userName: u.userName, path: u.path };
    if (before && before.outcome !== 'failed') listed.push(before);
    else if (isExcluded(policy, u.userName, u.path))
      listed.push({ ...base, outcome: 'excluded', keys: [], console: false });
    else if (!isManagedPath(managedUserPaths(policy), u.path))
      listed.push({ ...base, outcome: 'unmanaged', keys: [], console: false });
    else
      steps.push({
        t: 'gate',
        op: 'inspect-user',
        args: {
          ...base,
          ...(before?.keys.length ? { keys: before.keys.join(',') } : {}),
          ...(before?.console ? { console: 'yes' } : {}),
        },
      });
  }
  // Users an earlier attempt recorded (and the projection no longer shows under this owner) keep their record.
  // A failed one no longer under this owner is no longer this offboarding's to finish: what it deactivated stays
  // recorded (for Reactivate), the failure does not.
  const carried = ran
    .filter((u) => u.outcome !== 'failed' || u.keys.length || u.console)
    .map((u): OffboardedUser => {
      if (u.outcome !== 'failed') return u;
      const { error: _error, ...rest } = u;
      return { ...rest, outcome: 'owner-changed' };
    });
  for (const u of carried) {
    if (seen.has(userKey(u))) continue;
    seen.add(userKey(u));
    listed.push(u);
  }
  // The users owned outside the managed paths are listed by one step per account (a part's budget counts each: issue
  // 20, a plan that listed 100 accounts took 40 s of a part before its first step).
  for (const account of [HOME, ...policy.accounts.map((a) => a.name)])
    steps.push({ t: 'gate', op: 'list-unmanaged', args: { account } });
  if (action === 'disable') steps.push({ t: 'gate', op: 'cancel-pending', args: { member: off.member } });
  steps.push({ t: 'commit', op: 'commit', args: {} }, { t: 'notify', op: 'report', args: {} });
  // The preview's plan goes: the commit writes what was done.
  return { steps, changes: { offboard: { ...off, action, users: listed } }, remove: ['plan' as const] };
}

/** The gate of one IAM user: reads its owner, keys and password live and decides its steps. Never throws. */
async function inspectUser(deps: Deps, request: AccessRequest, step: RunStep): Promise<StepOutcome> {
  const { account = '', userName = '' } = step.args;
  const off = request.offboard as Offboarding;
  try {
    const iam = deps.aws.account(account).iam; // throws for an account the policy no longer names
    const tags = await iam.send(new ListUserTagsCommand({ UserName: userName }));
    if (ownerFromTags(tags.Tags) !== off.member)
      return { result: 'done', detail: 'someone else owns it', data: { outcome: 'owner-changed' } };
    const [keys, hasConsole] = await Promise.all([
      iam.send(new ListAccessKeysCommand({ UserName: userName })),
      iam.send(new GetLoginProfileCommand({ UserName: userName })).then(
        () => true,
        (e: unknown) => (isNoSuchEntity(e) ? false : Promise.reject(e)),
      ),
    ]);
    const active = (keys.AccessKeyMetadata ?? []).filter((k) => k.Status === 'Active').map((k) => k.AccessKeyId ?? '');
    const detail = `${active.length} active key${active.length === 1 ? '' : 's'}${hasConsole ? ', a console password' : ''}`;
    if ((off.action ?? 'disable') === 'report')
      return { result: 'done', detail, data: { outcome: 'report', active, console: hasConsole } };
    const base = { account, userName };
    const then: RunStep[] = [
      ...active.map((accessKeyId): RunStep => ({ t: 'op', op: 'deactivate-key', args: { ...base, accessKeyId } })),
      ...(hasConsole ? [{ t: 'op' as const, op: 'delete-login-profile', args: base }] : []),
    ];
    const last = then.at(-1);
    if (last) last.args = { ...last.args, refresh: 'yes' }; // the user's projection is refreshed after its last write
    return { result: 'done', detail, then, data: { outcome: 'disabled' } };
  } catch (error) {
    if (isNoSuchEntity(error)) return { result: 'done', detail: 'no longer in IAM', data: { outcome: 'gone' } };
    logger.error('Offboarding an IAM user failed', { requestId: request.id, userName, errorName: errorName(error) });
    return { result: 'failed', detail: errorName(error) };
  }
}

/**
 * One IAM write for a user (deactivate a key, delete the password), idempotent: a key already inactive is made
 * inactive again and counted as deactivated (its gate saw it active, so this offboarding did it, in this part or a
 * killed one); a password already gone is counted as deleted (its gate saw it). Skipped after an earlier step of the
 * user failed. Never throws.
 */
async function userWrite(deps: Deps, request: AccessRequest, step: RunStep): Promise<StepOutcome> {
  const { account = '', userName = '', accessKeyId = '' } = step.args;
  const steps = request.run?.steps.slice(0, request.run.cursor) ?? [];
  if (steps.some((s) => s.result === 'failed' && sameUser(s, { account, userName })))
    return { result: 'skipped', detail: 'an earlier step for this user failed' };
  let outcome: StepOutcome;
  try {
    const iam = deps.aws.account(account).iam;
    if (step.op === 'deactivate-key') {
      await iam.send(new UpdateAccessKeyCommand({ UserName: userName, AccessKeyId: accessKeyId, Status: 'Inactive' }));
      outcome = { result: 'done' };
    } else
      outcome = await iam.send(new DeleteLoginProfileCommand({ UserName: userName })).then(
        (): StepOutcome => ({ result: 'done', data: { deleted: true } }),
        (error: unknown): StepOutcome => {
          if (!isNoSuchEntity(error)) throw error;
          return { result: 'skipped', detail: 'already gone', data: { deleted: true } };
        },
      );
  } catch (error) {
    if (isNoSuchEntity(error) && step.op === 'deactivate-key')
      outcome = { result: 'skipped', detail: 'the key is gone' };
    else {
      logger.error('Offboarding an IAM user failed', { requestId: request.id, userName, errorName: errorName(error) });
      outcome = { result: 'failed', detail: errorName(error) };
    }
  }
  // the member's App Home is refreshed once, by the report step
  if (step.args.refresh) await userChanged(deps, account, userName, { requestId: request.id, homes: false });
  return outcome;
}

/**
 * The report step: posts the report once, recording where at once (before anything else runs, so that a part killed
 * after the post finds it and updates it instead), or updates it; hands the leaver's App Home refresh to the worker;
 * then adds the `tell` step (the requester and, when it failed, the approvers are DMed in their own step, so a kill
 * here never doubles them). The message is read fresh before posting: the report is doubled only when the part is
 * killed between Slack's answer to the post and the write that records it (Slack has no idempotency key). A Slack
 * failure is logged: a later event or daily check posts a missing report.
 */
async function reportStep(deps: Deps, request: AccessRequest): Promise<StepOutcome> {
  const stored = (await deps.store.requests.get(request.id)) ?? request;
  const then: RunStep[] = [{ t: 'notify', op: 'tell', args: {} }];
  let outcome: StepOutcome = { result: 'done', then };
  if (stored.message) await syncApprovalMessage(deps, stored);
  else
    try {
      const posted = await deps.messenger.post(
        deps.config.policy.approvals.channel,
        renderApprovalMessage(deps, stored),
      );
      await deps.store.requests.setMessage(request.id, posted);
      outcome = { result: 'done', then, changes: () => ({ message: posted }) };
    } catch (error) {
      logger.error('Could not post an offboarding report', { requestId: request.id, errorName: errorName(error) });
      outcome = { result: 'failed', detail: errorName(error), then };
    }
  await refreshHomes(deps, [request.offboard?.member], `offboard:${request.id}:${request.attempt}`);
  return outcome;
}

/** The `tell` step after the report: the requester of an offboarding asked for by command; the approvers when it
 * failed (they get Retry). */
async function tellStep(deps: Deps, request: AccessRequest): Promise<StepOutcome> {
  if (request.requester !== 'system') await tellRequester(deps, request);
  if (request.status === 'failed') await tellApproversOfFailure(deps, request);
  return { result: 'done' };
}

const planStepOf = (step: RunStep): PlanStep | undefined => {
  const { account, userName = '', accessKeyId = '' } = step.args;
  if (step.op === 'deactivate-key') return { op: 'DeactivateAccessKey', userName, accessKeyId, account };
  if (step.op === 'delete-login-profile') return { op: 'DeleteLoginProfile', userName, account };
  return undefined;
};

const disabled = (u: OffboardedUser) => u.outcome === 'disabled';

const remainingOf = (users: OffboardedUser[]) =>
  users
    .filter((u) => u.outcome === 'failed')
    .map((u) => `IAM user ${u.userName} (${u.account}) may still have active keys or a password`);

/** Offboarding on the resumable runner: its plan, its steps, its end. */
export const offboardRun: RunKind = {
  plan: planOffboard,
  async step(deps, request, step) {
    switch (step.op) {
      case 'inspect-user':
        return inspectUser(deps, request, step);
      case 'list-unmanaged':
        return listUnmanaged(deps, request, step);
      case 'deactivate-key':
      case 'delete-login-profile':
        return userWrite(deps, request, step);
      case 'cancel-pending': {
        const member = request.offboard?.member ?? '';
        const pending = await pendingOf(deps, member, request.id);
        const then = pending.map(
          (requestId): RunStep => ({ t: 'op', op: 'cancel-request', args: { member, requestId } }),
        );
        const detail = `${pending.length} pending request${pending.length === 1 ? '' : 's'}`;
        return { result: 'done', detail, data: { requests: pending }, then };
      }
      case 'cancel-request':
        return cancelRequest(deps, step);
      case 'report':
        return reportStep(deps, request);
      case 'tell':
        return tellStep(deps, request);
      case 'restore-key':
        return restoreKey(deps, request, step);
      case 'reactivated':
        return reactivated(request);
      case 'reactivated-report':
        await syncApprovalMessage(deps, request);
        await refreshHomes(deps, [request.offboard?.member], `offboard-reactivated:${request.id}`);
        return { result: 'done' };
      default:
        throw new Error(`An offboarding has no step ${step.op}`);
    }
  },
  describe(step) {
    const planStep = planStepOf(step);
    if (planStep) return describeStep(planStep);
    if (step.op === 'inspect-user') return `inspect ${step.args.userName} (${step.args.account})`;
    if (step.op === 'list-unmanaged') return `list the users outside the managed paths (${step.args.account})`;
    if (step.op === 'cancel-pending') return `cancel the pending requests of ${step.args.member}`;
    if (step.op === 'cancel-request') return `cancel request ${step.args.requestId} of ${step.args.member}`;
    if (step.op === 'restore-key')
      return describeStep({
        op: 'ActivateAccessKey',
        userName: step.args.userName ?? '',
        accessKeyId: step.args.accessKeyId ?? '',
        account: step.args.account,
      });
    return step.op;
  },
  commit(deps, request, failedSteps) {
    const off = request.offboard as Offboarding;
    const users = allRecords(request);
    const failed = users.filter((u) => u.outcome === 'failed');
    const now = deps.clock.now();
    const failing = failed.length > 0 || failedSteps.length > 0;
    // `leavers.deleteAfterDays`: the users it disabled are deleted on this day unless kept (see leaver-deletions.ts)
    const days = deps.config.policy.leavers.deleteAfterDays;
    const deleteAt =
      days && !failing && (off.action ?? deps.config.policy.leavers.action) === 'disable' && users.some(disabled)
        ? new Date(now.getTime() + days * 86_400_000).toISOString()
        : undefined;
    const offboard: Offboarding = { ...off, users, doneAt: now.toISOString(), ...(deleteAt ? { deleteAt } : {}) };
    const plan = offboardPlan(users.filter((u) => u.outcome !== 'report'));
    return {
      changes: failing
        ? {
            offboard,
            plan,
            error: failed.length
              ? failed.map((u) => `${u.userName}: ${u.error ?? 'failed'}`).join('; ')
              : failedSteps.map((s) => `${offboardRun.describe(s)}: ${s.detail ?? 'failed'}`).join('; '),
            remaining: remainingOf(users),
            abandonAt: abandonAtFrom(deps),
          }
        : { offboard, plan },
      audit: {
        action: failing ? 'provisioning-failed' : 'offboarded',
        detail: {
          action: off.action ?? deps.config.policy.leavers.action,
          member: off.member,
          steps: plan.map(describeStep),
          listedOnly: users.filter((u) => u.outcome !== 'disabled').map((u) => `${u.userName}: ${u.outcome}`),
          cancelled: off.cancelled,
          ...(deleteAt
            ? { deleteAt, toDelete: users.filter(disabled).map((u) => `${u.userName} (${u.account})`) }
            : {}),
        },
      },
    };
  },
  stopped(deps, request, reason) {
    const off = request.offboard as Offboarding;
    const users = allRecords(request, true);
    return {
      offboard: { ...off, users },
      plan: offboardPlan(users.filter((u) => u.outcome !== 'report')),
      error: reason,
      remaining: remainingOf(users),
      abandonAt: abandonAtFrom(deps),
    };
  },
  async tellStopped(deps, request) {
    if (request.message) await syncApprovalMessage(deps, request);
    else await postReport(deps, request);
    await tellApproversOfFailure(deps, request);
  },
};

/**
 * The gate listing the IAM users the member owns outside the managed paths in one account (see unmanagedOwned): they
 * are added to the offboarding's records (those it has already are kept), in the step's checkpoint. Never throws.
 */
async function listUnmanaged(deps: Deps, request: AccessRequest, step: RunStep): Promise<StepOutcome> {
  const { account = '' } = step.args;
  const found = await unmanagedOwned(deps, request.offboard?.member ?? '', account);
  if (!found) return { result: 'done', detail: 'could not list the account' };
  return {
    result: 'done',
    detail: `${found.length} user${found.length === 1 ? '' : 's'} outside the managed paths`,
    changes: (current) => {
      const off = current.offboard as Offboarding;
      const known = new Set(off.users.map(userKey));
      return { offboard: { ...off, users: [...off.users, ...found.filter((u) => !known.has(userKey(u)))] } };
    },
  };
}

/**
 * IAM users the member owns outside the managed paths (their `slack-user-id` tag names the member) in one account:
 * the report lists them; the bot never touches them. One GetAccountAuthorizationDetails page per 1,000 users. A read
 * that fails is logged and lists nothing (undefined).
 */
async function unmanagedOwned(deps: Deps, member: string, account: string): Promise<OffboardedUser[] | undefined> {
  const paths = managedUserPaths(deps.config.policy);
  const found: OffboardedUser[] = [];
  try {
    const iam = deps.aws.account(account).iam;
    let marker: string | undefined;
    do {
      const page = await iam.send(
        new GetAccountAuthorizationDetailsCommand({ Filter: ['User'], ...(marker ? { Marker: marker } : {}) }),
      );
      for (const u of page.UserDetailList ?? [])
        if (u.UserName && !isManagedPath(paths, u.Path ?? '/') && ownerFromTags(u.Tags) === member)
          found.push({
            account,
            userName: u.UserName,
            path: u.Path ?? '/',
            outcome: 'unmanaged',
            keys: [],
            console: false,
          });
      marker = page.IsTruncated ? page.Marker : undefined;
    } while (marker);
  } catch (error) {
    logger.error('Could not list the IAM users a leaver owns outside the managed paths', {
      account,
      errorName: errorName(error),
    });
    return undefined;
  }
  return found;
}

/** The ids of the pending requests the member asked for or would receive (read consistently), but `except`. */
async function pendingOf(deps: Deps, member: string, except: string): Promise<string[]> {
  return (await deps.store.requests.dueForSweep(new Date(8.64e15)))
    .filter((r) => r.status === 'pending' && r.id !== except && (r.requester === member || r.recipient === member))
    .map((r) => r.id);
}

const cancelReason = (member: string) => `cancelled: <@${member}> left (offboarded by the bot)`;

/**
 * One pending request of the leaver cancelled (denied by `system`, with the reason: a conditional write with its
 * audit event; its user name released), its message updated and its requester told; recorded on the offboarding.
 * Idempotent: a request this offboarding already cancelled (denied by `system` with this reason: a killed part did
 * it before its checkpoint) is recorded as cancelled, and its message and requester are brought up to date again
 * (the requester's DM is doubled only when the kill fell between that DM and the checkpoint). A request no longer
 * pending otherwise (approved, denied, gone meanwhile) is skipped.
 */
async function cancelRequest(deps: Deps, step: RunStep): Promise<StepOutcome> {
  const { member = '', requestId = '' } = step.args;
  const reason = cancelReason(member);
  for (let tries = 0; tries < 5; tries++) {
    const r = await deps.store.requests.get(requestId);
    if (!r) return { result: 'skipped', detail: 'no such request any more' };
    let cancelled: AccessRequest | undefined;
    if (r.status === 'denied' && r.decision?.by === 'system' && r.decision.reason === reason) cancelled = r;
    else if (r.status !== 'pending') return { result: 'skipped', detail: `no longer pending (${r.status})` };
    else {
      const now = deps.clock.now();
      cancelled = await deps.store.requests.update(
        r,
        { status: 'denied', decision: { by: 'system', at: now.toISOString(), reason } },
        now,
        [],
        (n) => [
          deps.store.audit.transactionItem(
            auditEvent(deps, n, 'system', 'cancelled', { attempt: n.attempt, reason, member }),
          ),
        ],
      );
      if (!cancelled) continue; // changed meanwhile: decide again
    }
    if (reservesName(cancelled))
      await deps.store.requests.releaseName(cancelled.account, cancelled.userName, cancelled.id);
    await syncApprovalMessage(deps, cancelled);
    if (cancelled.requester !== member) await tellRequester(deps, cancelled);
    return {
      result: 'done',
      data: { cancelled: requestId },
      changes: (o) => {
        const off = o.offboard as Offboarding;
        return { offboard: { ...off, cancelled: [...new Set([...off.cancelled, requestId])] } };
      },
      audit: { action: 'pending-cancelled', detail: { member, cancelled: [requestId] } },
    };
  }
  throw new Error(`Request ${requestId} kept changing while the offboarding of ${member} cancelled it`);
}

/**
 * Whether an offboarding stopped midway and nothing will finish it by itself: its run has steps left and no part
 * holds it, or it is approved or provisioning without a run of its attempt (its job was lost, or it is an item from
 * before the runner) and unchanged for longer than a part may hold a run. (The stall sweep resumes such runs too;
 * the daily check and a repeated event do not wait for it.)
 */
export function isStuck(request: AccessRequest, now: Date): boolean {
  if (request.run?.attempt === request.attempt) return isIdle(request, now);
  return (
    (request.status === 'approved' || request.status === 'provisioning') &&
    Date.parse(request.updatedAt) + RUN_LEASE_MS <= now.getTime()
  );
}

/** The job that restores what an offboarding deactivated, after an approver's Reactivate. */
export const reactivateJob = (requestId: string): Job => ({
  id: `offboard-reactivate:${requestId}`,
  type: 'offboard-reactivate',
  payload: { requestId },
});

/**
 * Slack function: an approver's Reactivate on an offboarding report, decided from the stored request: an approver of
 * offboardings (not the member), the offboarding done in `disable` mode, within `leavers.recoveryDays` of it, not
 * reactivated before. One conditional write with its audit event (phase `reactivating`), then the worker restores.
 * The users `leavers.deleteAfterDays` deleted are left out (a deleted user cannot be restored): returned, so that the
 * approver is told which; when only they had keys, it is refused as a whole, naming them. Throws NotAuthorizedError
 * or ConflictError, changing nothing (a refusal is audited).
 */
export async function clickOffboardReactivate(
  deps: RequestDeps,
  requestId: string,
  user: string,
): Promise<{ deleted: string[] }> {
  const request = await deps.store.requests.get(requestId);
  const off = request?.offboard;
  if (!request || !off) throw new ConflictError('I have no such offboarding any more.');
  const refuse = async (error: Error) => {
    await deps.store.audit.record(auditEvent(deps, request, user, 'reactivate-refused', { reason: error.message }));
    throw error;
  };
  if (user === off.member || !(await isOffboardApprover(deps, user)))
    return refuse(new NotAuthorizedError('Only an approver (not the person offboarded) can reactivate.'));
  try {
    await requireFullMember(deps, user, 'reactivate');
  } catch (error) {
    return refuse(error as Error);
  }
  if (request.status !== 'done' || off.action !== 'disable')
    return refuse(new ConflictError('This offboarding disabled nothing that could be reactivated.'));
  if (off.reactivation)
    return refuse(
      new ConflictError(`<@${off.reactivation.by}> already reactivated it on ${off.reactivation.at.slice(0, 16)} UTC.`),
    );
  const until = Date.parse(off.doneAt ?? request.updatedAt) + deps.config.policy.leavers.recoveryDays * 86_400_000;
  if (deps.clock.now().getTime() >= until)
    return refuse(
      new ConflictError(
        `The recovery period ended on ${new Date(until).toISOString().slice(0, 16)} UTC: the keys stay inactive. Ask for new ones.`,
      ),
    );
  if (!off.users.some((u) => u.keys.length))
    return refuse(new ConflictError('No access key was deactivated, so there is nothing to reactivate.'));
  const deleted = off.users.filter((u) => u.keys.length && deletedOnLeave(off, u));
  const gone = `${deleted.map((u) => `\`${u.userName}\``).join(', ')} ${deleted.length === 1 ? 'was' : 'were'} deleted on ${(off.deletions?.at ?? '').replace('T', ' ').slice(0, 16)} UTC (\`leavers.deleteAfterDays\`), and a deleted IAM user cannot be restored`;
  if (deleted.length && !off.users.some((u) => u.keys.length && !deletedOnLeave(off, u)))
    return refuse(
      new ConflictError(`Nothing to reactivate: ${gone}. For access again, ask for a new user (\`/iam create-user\`).`),
    );
  const next = await runNext(
    deps,
    request,
    reactivationSteps(off),
    { offboard: { ...off, reactivation: { by: user, at: deps.clock.now().toISOString(), phase: 'reactivating' } } },
    (n) => [deps.store.audit.transactionItem(auditEvent(deps, n, user, 'reactivate-requested', {}))],
    'end',
  );
  if (!next) throw new ConflictError('Someone changed this offboarding at the same moment; try again.');
  return { deleted: deleted.map((u) => u.userName) };
}

/**
 * The steps of a Reactivate, added to the offboarding's ended run: one `restore-key` per key the offboarding
 * deactivated (and no earlier reactivation restored) of a user its deletions did not delete, the user's projection refreshed after its last one; then
 * `reactivated` (records what was restored) and the report's update.
 */
function reactivationSteps(off: Offboarding): RunStep[] {
  const steps = off.users.flatMap((u) => {
    if (deletedOnLeave(off, u)) return []; // `leavers.deleteAfterDays` deleted it: nothing to restore
    const keys = u.keys.filter((k) => !u.restoredKeys?.includes(k));
    return keys.map(
      (accessKeyId, i): RunStep => ({
        t: 'op',
        op: 'restore-key',
        args: {
          account: u.account,
          userName: u.userName,
          accessKeyId,
          ...(i === keys.length - 1 ? { refresh: 'yes' } : {}),
        },
      }),
    );
  });
  return [...steps, { t: 'op', op: 'reactivated', args: {} }, { t: 'notify', op: 'reactivated-report', args: {} }];
}

/**
 * Worker: the job of a Reactivate asked for before Reactivate ran on the runner (in flight at deploy: its request is
 * `reactivating` and its run has no reactivation steps): adds them to the run (see clickOffboardReactivate) and runs
 * them; otherwise resumes the run if no part holds it. Safe to run again.
 */
export async function runOffboardReactivation(deps: Deps, requestId: string): Promise<void> {
  const request = await deps.store.requests.get(requestId);
  const off = request?.offboard;
  if (!request || !off || off.reactivation?.phase !== 'reactivating') return;
  if (request.run?.attempt === request.attempt && request.run.steps.some((s) => s.op === 'reactivated')) {
    await resumeRun(deps, offboardRun, request);
    return;
  }
  const next = await runNext(deps, request, reactivationSteps(off), {}, () => [], 'end');
  if (!next) throw new Error(`Offboarding ${requestId} changed while its reactivation was being planned`);
}

/**
 * One key of a Reactivate: made active again if it still exists and is inactive. A key already active counts as
 * restored (as a deactivation does: the offboarding deactivated it, so a killed part of this Reactivate made it active
 * before its checkpoint, or someone did it by hand; either way it is active again, as Reactivate asked). A key gone
 * is skipped and recorded so. A console password is never recreated (the report says so). An IAM error is recorded
 * as the step's failure. Never throws.
 */
async function restoreKey(deps: Deps, request: AccessRequest, step: RunStep): Promise<StepOutcome> {
  const { account = '', userName = '', accessKeyId = '' } = step.args;
  let outcome: StepOutcome;
  try {
    const iam = deps.aws.account(account).iam;
    const listed = await iam.send(new ListAccessKeysCommand({ UserName: userName }));
    const status = (listed.AccessKeyMetadata ?? []).find((k) => k.AccessKeyId === accessKeyId)?.Status;
    if (!status) outcome = { result: 'skipped', detail: 'the key is gone' };
    else if (status !== 'Inactive') outcome = { result: 'done', detail: 'already active', data: { restored: true } };
    else {
      await iam.send(new UpdateAccessKeyCommand({ UserName: userName, AccessKeyId: accessKeyId, Status: 'Active' }));
      outcome = { result: 'done', data: { restored: true } };
    }
  } catch (error) {
    if (isNoSuchEntity(error)) outcome = { result: 'skipped', detail: 'the user is gone' };
    else {
      logger.error('Reactivating a key failed', { requestId: request.id, userName, errorName: errorName(error) });
      outcome = { result: 'failed', detail: errorName(error) };
    }
  }
  if (step.args.refresh) await userChanged(deps, account, userName, { requestId: request.id, homes: false });
  return outcome;
}

/** The `reactivated` step: records per user the keys its run's `restore-key` steps made active, and the phase. */
function reactivated(request: AccessRequest): StepOutcome {
  const restoreSteps = (request.run?.steps ?? []).filter((s) => s.op === 'restore-key');
  const restoredOf = (u: OffboardedUser) =>
    restoreSteps.filter((s) => s.result === 'done' && sameUser(s, u)).map((s) => s.args.accessKeyId ?? '');
  const off = request.offboard as Offboarding;
  const keys = off.users.flatMap(restoredOf);
  return {
    result: 'done',
    changes: (r) => {
      const o = r.offboard as Offboarding;
      const users = o.users.map((u) => {
        const restored = [...new Set([...(u.restoredKeys ?? []), ...restoredOf(u)])];
        return restored.length ? { ...u, restoredKeys: restored } : u;
      });
      return {
        offboard: { ...o, users, reactivation: { ...(o.reactivation as ReactivationOf), phase: 'reactivated' } },
      };
    },
    audit: {
      action: 'reactivated',
      detail: {
        by: off.reactivation?.by ?? null,
        keys,
        skipped: restoreSteps.filter((s) => s.result === 'skipped').map((s) => `${s.args.accessKeyId}: ${s.detail}`),
        failed: restoreSteps.filter((s) => s.result === 'failed').map((s) => `${s.args.accessKeyId}: ${s.detail}`),
      },
    },
  };
}

type ReactivationOf = NonNullable<Offboarding['reactivation']>;

/**
 * Worker: a member handled as gone is active in Slack again (users.info, fresh). Gives nothing back: tells the
 * approval channel once (a conditional write of `returnedAt`) and updates the report.
 */
export async function noticeMemberBack(deps: Deps, member: string): Promise<void> {
  const request = await deps.store.requests.get(leaverRequestId(member));
  const off = request?.offboard;
  if (!request || !off || off.returnedAt) return;
  const state = (await memberStates(deps, [member], { fresh: true })).get(member);
  if (state !== 'active') return;
  const now = deps.clock.now();
  const next = await deps.store.requests.update(request, { offboard: { ...off, returnedAt: now.toISOString() } }, now);
  if (!next) return;
  await recordSystemAudit(deps, next, 'member-back', { member });
  const where = next.message ? ` (see the report: Reactivate, Give to)` : '';
  await deps.messenger.post(deps.config.policy.approvals.channel, {
    text: `<@${member}> is active in Slack again. Nothing was given back automatically: approvers decide${where}.`,
  });
  await syncApprovalMessage(deps, next);
}
