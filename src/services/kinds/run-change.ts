/**
 * The worker side of a change request (add-to-group, remove-from-group, set-owner): runs its stored plan, exactly,
 * once approved. Same life cycle as create-user: approved -> provisioning -> done | failed (Retry, Abandon).
 */
import { ownerChangeDoneMessage } from '../../blocks/change-request.js';
import type { Deps } from '../../deps.js';
import { logger } from '../../logger.js';
import type { AccessRequest } from '../../store/requests.js';
import { executePlan } from '../plans/execute.js';
import { describeStep, OWNER_TAG } from '../plans/types.js';
import type { ProvisionOutcome } from '../provision-request.js';
import { errorName } from '../provisioning.js';
import {
  abandonAtFrom,
  recordSystemAudit,
  renderApprovalMessage,
  syncApprovalMessage,
  tell,
  tellApproversOfFailure,
  tellRequester,
} from '../requests.js';
import { stageRecorded } from '../run-progress.js';
import { userChanged } from '../user-changes.js';
import { ownerIn, readUserState } from './user-state.js';

/** The paths whose users the bot manages (policy `users.path` and `users.managedPaths`). */
export const managedPaths = (policy: Deps['config']['policy']) => [policy.users.path, ...policy.users.managedPaths];

/**
 * What the current policy no longer allows of a change request: a group it does not list, a user outside the managed
 * paths. Empty when the plan may run as approved.
 */
export function changeViolations(policy: Deps['config']['policy'], request: AccessRequest): string[] {
  const listed = new Set(policy.groups.map((g) => g.name));
  const problems: string[] = [];
  for (const step of request.plan ?? []) {
    if ((step.op === 'AddUserToGroup' || step.op === 'RemoveUserFromGroup') && !listed.has(step.group))
      problems.push(`group ${step.group} is not in the policy any more`);
  }
  if (!managedPaths(policy).includes(request.path))
    problems.push(`user path ${request.path} is not among the policy's managed paths`);
  return problems;
}

/**
 * Runs the plan of an approved change request, for the attempt it was dispatched for: claims it (approved ->
 * provisioning; a duplicated delivery is skipped), re-checks it against today's policy and today's owner (an approver
 * who owns the user now does not count) before any IAM write, then runs each step (skipping what is already so),
 * auditing each. On a failure it undoes what it ran, marks the request failed with what is left, and tells requester
 * and approvers; Retry runs the plan again. When done: userChanged, message, requester and owner told, audit. A run
 * killed at any step is finished by the retry of the same job: steps already true are skipped, and the start's and
 * the end's messages are sent unless their audit event says they were.
 */
export async function runChangeRequest(
  deps: Deps,
  requestId: string,
  attempt: number,
  options: { announce?: boolean } = {},
): Promise<ProvisionOutcome> {
  const store = deps.store.requests;
  const found = await store.get(requestId);
  const skip = (why: string): ProvisionOutcome => {
    logger.info('Change skipped', { requestId, attempt, why });
    return 'skipped';
  };
  if (!found) return skip('no such request');
  if (found.attempt !== attempt) return skip(`attempt ${found.attempt} is current`);
  // Done, but the run that finished it died before its last messages (no `changed` event): finish them.
  if (found.status === 'done') {
    if (await stageRecorded(deps, found, 'changed')) return skip('request is done');
    await finishChange(deps, found, (found.plan ?? []).map(describeStep), await ownerBefore(deps, found));
    return 'done';
  }
  if (found.status !== 'approved' && found.status !== 'provisioning') return skip(`request is ${found.status}`);
  const request = await store.update(found, { status: 'provisioning' }, deps.clock.now());
  if (!request) return skip('request changed meanwhile');
  // The start's messages, then the event that records them: a run that died in between sends them again.
  if (found.status === 'approved' || !(await stageRecorded(deps, request, 'provisioning-started'))) {
    await syncApprovalMessage(deps, request);
    if (options.announce) await tellRequester(deps, request);
    await recordSystemAudit(deps, request, 'provisioning-started', { attempt });
  }

  const violations = changeViolations(deps.config.policy, request);
  if (violations.length)
    return fail(deps, request, `refused: the policy no longer allows it (${violations.join('; ')})`, []);

  const iam = deps.aws.account(request.account).iam;
  let state: Awaited<ReturnType<typeof readUserState>>;
  try {
    state = await readUserState(iam, request.userName);
  } catch (error) {
    return fail(deps, request, `reading IAM user ${request.userName} failed (${errorName(error)})`, []);
  }
  const owner = ownerIn(state);
  if (owner && request.approvals.some((a) => a.user === owner))
    return fail(deps, request, `refused: <@${owner}> owns the user now and approved the change`, []);

  const result = await executePlan(iam, request.plan ?? [], state, (event, step, detail) =>
    recordSystemAudit(deps, request, `step-${event}`, { step: describeStep(step), ...(detail ? { detail } : {}) }),
  );
  if (!result.ok) {
    logger.error('Change failed; undone what it ran', { requestId, attempt, errorName: errorName(result.cause) });
    return fail(deps, request, result.error, result.remaining);
  }
  const done = await store.update(request, { status: 'done' }, deps.clock.now());
  if (!done) throw new Error(`Request ${requestId} changed while it was running`);
  // A run that died after setting the owner tag finds the new owner there: the one to tell is the previous one.
  const told = done.kind === 'set-owner' && owner === done.recipient ? previousOwner(done) : owner;
  await finishChange(deps, done, result.changed.map(describeStep), told);
  return 'done';
}

/**
 * The end of a change: the user projection, the approval message, the requester and the owners told, then the
 * `changed` event that records them (a run that died before it does them again). `owner`: the user's owner before
 * the change.
 */
async function finishChange(deps: Deps, done: AccessRequest, steps: string[], owner: string | undefined) {
  await userChanged(deps, done.account, done.userName, { requestId: done.id });
  await syncApprovalMessage(deps, done);
  await tellRequester(deps, done);
  const told = new Set([done.requester]);
  for (const who of [owner, done.kind === 'set-owner' ? done.recipient : undefined]) {
    if (!who || told.has(who)) continue;
    told.add(who);
    await tell(deps, who, done, ownerChangeDoneMessage(done));
  }
  await recordSystemAudit(deps, done, 'changed', { steps });
}

/** The owner tag's value before a set-owner request's plan set it (as the plan recorded it). */
function previousOwner(request: AccessRequest): string | undefined {
  const retag = (request.plan ?? []).find((s) => s.op === 'TagUser' && s.key === OWNER_TAG);
  return retag?.op === 'TagUser' ? retag.previous : undefined;
}

/** The owner a done change found: the previous value of the owner tag it set, else the user's owner now. */
async function ownerBefore(deps: Deps, request: AccessRequest): Promise<string | undefined> {
  if (request.kind === 'set-owner') return previousOwner(request);
  try {
    return ownerIn(await readUserState(deps.aws.account(request.account).iam, request.userName));
  } catch (error) {
    logger.error('Could not read the owner of a changed user', { requestId: request.id, errorName: errorName(error) });
    return undefined;
  }
}

async function fail(deps: Deps, request: AccessRequest, error: string, remaining: string[]): Promise<ProvisionOutcome> {
  const failed = await deps.store.requests.update(
    request,
    { status: 'failed', error, remaining, abandonAt: abandonAtFrom(deps) },
    deps.clock.now(),
  );
  if (!failed) throw new Error(`Request ${request.id} changed while it was running`);
  await recordSystemAudit(deps, failed, 'provisioning-failed', { error, remaining });
  // A change run at once (an owner's removal) has no approval message yet: post one, so approvers get Retry.
  if (!failed.message) await postFailure(deps, failed);
  else await syncApprovalMessage(deps, failed);
  await tellRequester(deps, failed);
  await tellApproversOfFailure(deps, failed);
  return 'failed';
}

/** Posts a failed request that was never posted to the approval channel, and records where (best effort). */
async function postFailure(deps: Deps, failed: AccessRequest): Promise<void> {
  try {
    const posted = await deps.messenger.post(deps.config.policy.approvals.channel, renderApprovalMessage(deps, failed));
    const stored = await deps.store.requests.setMessage(failed.id, posted);
    if (stored) Object.assign(failed, stored);
  } catch (e) {
    logger.error('Could not post a failed change to the approval channel', {
      requestId: failed.id,
      errorName: errorName(e),
    });
  }
}
