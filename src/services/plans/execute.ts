/**
 * Runs a plan's steps against IAM, one by one, each idempotent: a step already true of the user (a membership that
 * exists, one already gone, a tag already set) is skipped. On a failure it undoes, newest first, the steps this run
 * changed. Knows nothing of requests or Slack.
 */
import { AddUserToGroupCommand, RemoveUserFromGroupCommand, TagUserCommand } from '@aws-sdk/client-iam';
import { errorName, type IamSender } from '../provisioning.js';
import { describeStep, type PlanStep, undoOf } from './types.js';

/** What IAM says of the user before the plan runs: enough to tell which steps are already true. */
export interface UserState {
  groups: string[];
  tags: Record<string, string>;
}

/** Reports each step as it completes (the audit trail records it). */
export type StepReporter = (
  event: 'done' | 'skipped' | 'failed' | 'undone' | 'undo-failed',
  step: PlanStep,
  detail?: string,
) => Promise<void>;

export type PlanResult =
  | { ok: true; changed: PlanStep[] }
  | { ok: false; failedStep: PlanStep; error: string; cause: unknown; undone: PlanStep[]; remaining: string[] };

const alreadyTrue = (step: PlanStep, state: UserState): boolean => {
  if (step.op === 'AddUserToGroup') return state.groups.includes(step.group);
  if (step.op === 'RemoveUserFromGroup') return !state.groups.includes(step.group);
  if (step.op === 'TagUser') return state.tags[step.key] === step.value;
  return false;
};

/** Runs one step (each is idempotent in IAM itself: adding a member twice or setting a tag again is harmless). */
async function runStep(iam: IamSender, step: PlanStep): Promise<boolean> {
  switch (step.op) {
    case 'AddUserToGroup':
      await iam.send(new AddUserToGroupCommand({ UserName: step.userName, GroupName: step.group }));
      return true;
    case 'RemoveUserFromGroup':
      await iam.send(new RemoveUserFromGroupCommand({ UserName: step.userName, GroupName: step.group }));
      return true;
    case 'TagUser':
      await iam.send(new TagUserCommand({ UserName: step.userName, Tags: [{ Key: step.key, Value: step.value }] }));
      return true;
    default:
      throw new Error(`${step.op} is not a step a change plan can run`);
  }
}

/**
 * Runs `plan` in order against the user's current `state`. Idempotent: steps already true are skipped, so a
 * duplicated or retried run changes each thing once. On a failure, undoes (newest first) what this run changed and
 * returns the failed step, a safe error summary (step and AWS error name) and what could not be undone.
 */
export async function executePlan(
  iam: IamSender,
  plan: PlanStep[],
  state: UserState,
  report: StepReporter,
): Promise<PlanResult> {
  const changed: PlanStep[] = [];
  for (const step of plan) {
    if (alreadyTrue(step, state)) {
      await report('skipped', step, 'already so');
      continue;
    }
    try {
      if (await runStep(iam, step)) changed.push(step);
      await report('done', step);
    } catch (cause) {
      const error = `${describeStep(step)} failed (${errorName(cause)})`;
      await report('failed', step, errorName(cause));
      const undone: PlanStep[] = [];
      const remaining: string[] = [];
      for (const done of [...changed].reverse()) {
        const undo = undoOf(done);
        try {
          if (!undo) throw new Error('no single-call undo');
          await runStep(iam, undo);
          undone.push(done);
          await report('undone', done);
        } catch (undoError) {
          remaining.push(`${describeStep(done)} (undo: ${errorName(undoError)})`);
          await report('undo-failed', done, errorName(undoError));
        }
      }
      return { ok: false, failedStep: step, error, cause, undone, remaining };
    }
  }
  return { ok: true, changed };
}
