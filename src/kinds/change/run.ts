/**
 * The change kinds (add-to-group, remove-from-group, set-owner) on the resumable runner (src/services/runner): worker
 * only (src/services/runner/kinds.ts imports it; the Slack function never does).
 *
 * A run is the request's stored plan, exactly what the approvers saw, one `op` step per IAM operation, between a
 * start notice and the commit; after the commit, the end (the projection, the approval message) and one step per DM.
 * Before any of it the plan re-checks the request against today's policy and the user's owner today (an approver who
 * owns the user now does not count): a violation makes a run whose one IAM-free step fails, so the request ends
 * failed and the same people are told as for any failure. Each IAM step is idempotent (a step already true when the
 * run was planned is skipped; one a killed part ran before its checkpoint is done again, harmlessly); on a failure
 * the runner undoes, newest first, the steps this run did (see RunKind.undo), and what it could not undo is listed
 * as `remaining`. Retry starts a new run of the same plan. Each message is its own step, so a kill doubles one only
 * between its post and the checkpoint that records it.
 */
import {
  AddUserToGroupCommand,
  ListGroupsForUserCommand,
  RemoveUserFromGroupCommand,
  TagUserCommand,
} from '@aws-sdk/client-iam';
import { ownerChangeDoneMessage } from '../../blocks/change-request.js';
import type { Deps } from '../../deps.js';
import { logger } from '../../logger.js';
import { changeViolations } from '../../services/kinds/run-change.js';
import { ownerIn, readUserState, type UserState } from '../../services/kinds/user-state.js';
import { describeStep, OWNER_TAG, type PlanStep, undoOf } from '../../services/plans/types.js';
import { errorName } from '../../services/provisioning.js';
import {
  abandonAtFrom,
  renderApprovalMessage,
  syncApprovalMessage,
  tell,
  tellRequester,
} from '../../services/requests.js';
import type { RunKind, RunStep, StepOutcome } from '../../services/runner/types.js';
import { userChanged } from '../../services/user-changes.js';
import type { AccessRequest } from '../../store/requests.js';
import { kindOf } from '../registry.js';

/** The IAM operations a change plan runs (src/services/plans/types.ts), as the names of their run steps. */
const IAM_OPS = new Set(['AddUserToGroup', 'RemoveUserFromGroup', 'TagUser']);

/** A plan step as a run step: its fields as arguments, `already` when it was true of the user when planned. */
function runStepOf(step: PlanStep, already: boolean): RunStep {
  const { op, ...fields } = step;
  const args = Object.fromEntries(
    Object.entries(fields).filter((e): e is [string, string] => typeof e[1] === 'string'),
  );
  return { t: 'op', op, args: already ? { ...args, already: 'yes' } : args };
}

/** The plan step a run step runs (an IAM step, or the undo of one), or undefined for the others. */
function planStepOf(step: RunStep): PlanStep | undefined {
  const { userName = '', group = '', key = '', value = '', previous } = step.args;
  if (step.op === 'AddUserToGroup' || step.op === 'RemoveUserFromGroup') return { op: step.op, userName, group };
  if (step.op === 'TagUser')
    return { op: 'TagUser', userName, key, value, ...(previous !== undefined ? { previous } : {}) };
  return undefined;
}

const alreadyTrue = (step: PlanStep, state: UserState): boolean => {
  if (step.op === 'AddUserToGroup') return state.groups.includes(step.group);
  if (step.op === 'RemoveUserFromGroup') return !state.groups.includes(step.group);
  if (step.op === 'TagUser') return state.tags[step.key] === step.value;
  return false;
};

/** The owner a change makes (its plan's owner tag), if it sets one. */
function newOwnerOf(request: AccessRequest): string | undefined {
  const retag = (request.plan ?? []).find((s) => s.op === 'TagUser' && s.key === OWNER_TAG);
  return retag?.op === 'TagUser' ? retag.value : undefined;
}

/**
 * The run of a change: the re-checks against today's policy and owner (read live), then the start notice, the
 * stored plan's IAM steps (each marked `already` when IAM says it is so), the commit and the end. A violation, or
 * IAM not answering the read, gives a run whose `refuse` step fails instead of the IAM steps.
 */
async function planChange(deps: Deps, request: AccessRequest, options: { announce?: boolean }) {
  const start: RunStep = { t: 'notify', op: 'start', args: options.announce ? { announce: 'yes' } : {} };
  const finish = (owner?: string): RunStep[] => [
    { t: 'commit', op: 'commit', args: {} },
    { t: 'notify', op: 'end', args: owner ? { owner } : {} },
  ];
  const refuse = (reason: string) => ({
    steps: [start, { t: 'op' as const, op: 'refuse', args: { reason } }, ...finish()],
  });
  const violations = changeViolations(deps.config.policy, request);
  if (violations.length) return refuse(`refused: the policy no longer allows it (${violations.join('; ')})`);
  let state: UserState;
  try {
    state = await readUserState(deps.aws.account(request.account).iam, request.userName);
  } catch (error) {
    return refuse(`reading IAM user ${request.userName} failed (${errorName(error)})`);
  }
  const owner = ownerIn(state);
  if (owner && request.approvals.some((a) => a.user === owner))
    return refuse(`refused: <@${owner}> owns the user now and approved the change`);
  const ops = (request.plan ?? []).map((s) => runStepOf(s, alreadyTrue(s, state)));
  return { steps: [start, ...ops, ...finish(owner)] };
}

const isNoSuchEntity = (e: unknown) => errorName(e) === 'NoSuchEntity';

/**
 * One IAM operation (a step of the plan, or the runner's undo of one). A step already true when the run was planned
 * is skipped without a call; otherwise the call is made, which IAM makes idempotent (adding a member twice, setting
 * a tag again), and a removal IAM answers NoSuchEntity to is done when the user is not in the group (a killed part
 * removed it). An IAM error is the step's failure. Never throws.
 */
async function iamStep(deps: Deps, request: AccessRequest, step: RunStep): Promise<StepOutcome> {
  if (step.t === 'op' && step.args.already) return { result: 'skipped', detail: 'already so' };
  const plan = planStepOf(step) as PlanStep;
  try {
    const iam = deps.aws.account(request.account).iam;
    try {
      if (plan.op === 'AddUserToGroup')
        await iam.send(new AddUserToGroupCommand({ UserName: plan.userName, GroupName: plan.group }));
      else if (plan.op === 'RemoveUserFromGroup')
        await iam.send(new RemoveUserFromGroupCommand({ UserName: plan.userName, GroupName: plan.group }));
      else if (plan.op === 'TagUser')
        await iam.send(new TagUserCommand({ UserName: plan.userName, Tags: [{ Key: plan.key, Value: plan.value }] }));
    } catch (error) {
      if (plan.op !== 'RemoveUserFromGroup' || !isNoSuchEntity(error)) throw error;
      const listed = await iam.send(new ListGroupsForUserCommand({ UserName: plan.userName }));
      if ((listed.Groups ?? []).some((g) => g.GroupName === plan.group)) throw error;
      return { result: 'done', detail: 'already so' };
    }
    return { result: 'done' };
  } catch (error) {
    logger.error('A step of a change failed', { requestId: request.id, op: step.op, errorName: errorName(error) });
    return { result: 'failed', detail: errorName(error) };
  }
}

/**
 * The end, after the commit: when done, the user's projection (and its owners' App Homes); the approval message
 * brought up to date, or, for a failed change that has none (a removal run at once), posted and recorded at once so
 * that approvers get Retry (read fresh first: a part killed after the post finds it); then one DM step per person
 * to tell: the requester, and when done the owner before the change and a new owner, when failed its approvers.
 */
async function endStep(deps: Deps, request: AccessRequest, step: RunStep): Promise<StepOutcome> {
  const then: RunStep[] = [{ t: 'notify', op: 'tell-requester', args: {} }];
  if (request.status === 'done') {
    await userChanged(deps, request.account, request.userName, { requestId: request.id });
    const told = new Set([request.requester]);
    for (const who of [step.args.owner, newOwnerOf(request)]) {
      if (!who || told.has(who)) continue;
      told.add(who);
      then.push({ t: 'notify', op: 'tell-owner', args: { who } });
    }
  } else for (const a of request.approvals) then.push({ t: 'notify', op: 'tell-approver', args: { who: a.user } });
  const stored = (await deps.store.requests.get(request.id)) ?? request;
  if (stored.message || request.status !== 'failed') {
    await syncApprovalMessage(deps, stored);
    return { result: 'done', then };
  }
  try {
    const posted = await deps.messenger.post(deps.config.policy.approvals.channel, renderApprovalMessage(deps, stored));
    await deps.store.requests.setMessage(request.id, posted);
    return { result: 'done', then, changes: () => ({ message: posted }) };
  } catch (error) {
    logger.error('Could not post a failed change to the approval channel', {
      requestId: request.id,
      errorName: errorName(error),
    });
    return { result: 'done', detail: errorName(error), then };
  }
}

/** The DM to an approver of a failed change (the approval message shows Retry). */
const approverFailure = (deps: Deps, request: AccessRequest) =>
  kindOf(request).render.approverFailure(request, request.message?.channel ?? deps.config.policy.approvals.channel);

/** Why a step a stopped run did is still so. */
const STOPPED = 'not undone: the run stopped; Retry continues from there';

/**
 * What a failed (or, `stopped`, stopped) run leaves changed: each IAM step it did that no undo step reversed, with
 * why (the undo's error, no undo possible, or the run stopped first).
 */
function remainingOf(steps: RunStep[], stopped: boolean): string[] {
  const left: string[] = [];
  for (const [i, s] of steps.entries()) {
    if (s.t !== 'op' || s.result !== 'done' || !IAM_OPS.has(s.op)) continue;
    const undo = steps.find((u) => u.t === 'undo' && u.args.undoes === String(i));
    if (undo?.result === 'done' || undo?.result === 'skipped') continue;
    let why = stopped ? STOPPED : 'undo: no single-call undo';
    if (undo?.result === 'failed') why = `undo: ${undo.detail ?? 'failed'}`;
    left.push(`${changeRun.describe(s)} (${why})`);
  }
  return left;
}

const done: StepOutcome = { result: 'done' };

/** The change kinds on the resumable runner. */
export const changeRun: RunKind = {
  plan: planChange,
  async step(deps, request, step) {
    if (IAM_OPS.has(step.op)) return iamStep(deps, request, step);
    switch (step.op) {
      case 'start':
        await syncApprovalMessage(deps, request);
        if (step.args.announce) await tellRequester(deps, request);
        return done;
      case 'refuse':
        return { result: 'failed', detail: step.args.reason ?? 'refused' };
      case 'end':
        return endStep(deps, request, step);
      case 'tell-requester':
        await tellRequester(deps, request);
        return done;
      case 'tell-owner':
        await tell(deps, step.args.who ?? '', request, ownerChangeDoneMessage(request));
        return done;
      case 'tell-approver':
        await tell(deps, step.args.who ?? '', request, approverFailure(deps, request));
        return done;
      default:
        throw new Error(`A change has no step ${step.op}`);
    }
  },
  describe(step) {
    const plan = planStepOf(step);
    if (plan) return describeStep(plan);
    if (step.op === 'start') return `the start: approval message${step.args.announce ? ', requester told' : ''}`;
    if (step.op === 'refuse') return 'the re-check against the policy and the owner';
    if (step.op === 'end') return 'the end: user projection, approval message';
    if (step.op === 'tell-requester') return 'DM to the requester';
    return `DM to ${step.args.who ?? 'nobody'}`;
  },
  undo(step) {
    const plan = planStepOf(step);
    const reverse = plan && undoOf(plan);
    return reverse ? runStepOf(reverse, false) : undefined;
  },
  commit(deps, request, failedSteps): ReturnType<RunKind['commit']> {
    const steps = request.run?.steps ?? [];
    const ran = steps.filter((s) => s.t === 'op' && s.result === 'done' && IAM_OPS.has(s.op));
    if (!failedSteps.length)
      return { changes: {}, audit: { action: 'changed', detail: { steps: ran.map((s) => changeRun.describe(s)) } } };
    const first = failedSteps.find((s) => s.t !== 'undo') ?? (failedSteps[0] as RunStep);
    const error =
      first.op === 'refuse'
        ? (first.detail ?? 'refused')
        : `${changeRun.describe(first)} failed (${first.detail ?? 'error'})`;
    const remaining = remainingOf(steps, false);
    return {
      changes: { error, remaining, abandonAt: abandonAtFrom(deps) },
      audit: { action: 'provisioning-failed', detail: { error, remaining } },
    };
  },
  stopped(deps, request, reason) {
    return { error: reason, remaining: remainingOf(request.run?.steps ?? [], true), abandonAt: abandonAtFrom(deps) };
  },
  async tellStopped(deps, request) {
    try {
      if (request.message) await syncApprovalMessage(deps, request);
      else {
        const posted = await deps.messenger.post(
          deps.config.policy.approvals.channel,
          renderApprovalMessage(deps, request),
        );
        await deps.store.requests.setMessage(request.id, posted);
        Object.assign(request, { message: posted });
      }
    } catch (error) {
      logger.error('Could not post a stopped change', { requestId: request.id, errorName: errorName(error) });
    }
    await tellRequester(deps, request);
    for (const a of request.approvals) await tell(deps, a.user, request, approverFailure(deps, request));
  },
};
