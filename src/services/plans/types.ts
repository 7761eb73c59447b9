/**
 * A request's plan: the ordered IAM operations it will perform once approved, each with how to undo it. The approval
 * message renders the plan, the worker runs exactly its steps, and the audit trail records each one.
 */

/** The kinds of request: what is asked for, each with its own plan and approval rule. */
export const REQUEST_KINDS = [
  'create-user',
  'add-to-group',
  'remove-from-group',
  'set-owner',
  'rotate-key',
  'offboard',
  'temporary-membership',
  'delete-user',
] as const;
export type RequestKind = (typeof REQUEST_KINDS)[number];

/** The tag that names the Slack user owning an IAM user. */
export const OWNER_TAG = 'slack-user-id';

/** One IAM operation of a plan (its API action and arguments). Stored on the request: ids and names only. */
export type PlanStep =
  | { op: 'CreateUser'; userName: string; path: string }
  | { op: 'AddUserToGroup'; userName: string; group: string }
  | { op: 'RemoveUserFromGroup'; userName: string; group: string }
  | { op: 'CreateLoginProfile'; userName: string }
  | { op: 'CreateAccessKey'; userName: string }
  /** Rotation: deletes a key the requester chose (an inactive one, to make room for the new key). */
  | { op: 'DeleteAccessKey'; userName: string; accessKeyId: string }
  /** Rotation: the old key, deactivated after the grace period (never at once). */
  | { op: 'RotateOutAccessKey'; userName: string; accessKeyId: string }
  /** Sets one tag; `previous` is the value it had when the request was made (undefined: none). */
  | { op: 'TagUser'; userName: string; key: string; value: string; previous?: string }
  /** Offboarding: an active key made inactive (in `account`: an offboarding spans accounts). */
  | { op: 'DeactivateAccessKey'; userName: string; accessKeyId: string; account?: string }
  /** Offboarding: its undo (Reactivate), only for a key the offboarding deactivated. */
  | { op: 'ActivateAccessKey'; userName: string; accessKeyId: string; account?: string }
  /** Offboarding: the console password removed. */
  | { op: 'DeleteLoginProfile'; userName: string; account?: string };

/** The operation that undoes a step, or undefined when undoing it needs more than one call (CreateUser: see rollbackUser). */
export function undoOf(step: PlanStep): PlanStep | undefined {
  switch (step.op) {
    case 'AddUserToGroup':
      return { op: 'RemoveUserFromGroup', userName: step.userName, group: step.group };
    case 'RemoveUserFromGroup':
      return { op: 'AddUserToGroup', userName: step.userName, group: step.group };
    case 'DeactivateAccessKey':
      return { ...step, op: 'ActivateAccessKey' };
    case 'TagUser':
      return step.previous === undefined
        ? undefined
        : { op: 'TagUser', userName: step.userName, key: step.key, value: step.previous, previous: step.value };
    default:
      return undefined;
  }
}

/** One line saying what a step does, in IAM's words: `AddUserToGroup build-bot → ci-deployers`. */
export function describeStep(step: PlanStep): string {
  switch (step.op) {
    case 'CreateUser':
      return `CreateUser ${step.userName} (path ${step.path})`;
    case 'AddUserToGroup':
      return `AddUserToGroup ${step.userName} → ${step.group}`;
    case 'RemoveUserFromGroup':
      return `RemoveUserFromGroup ${step.userName} ← ${step.group}`;
    case 'CreateLoginProfile':
      return `CreateLoginProfile ${step.userName}`;
    case 'CreateAccessKey':
      return `CreateAccessKey ${step.userName}`;
    case 'TagUser':
      return `TagUser ${step.userName} ${step.key}=${step.value}`;
    case 'DeleteAccessKey':
      return `DeleteAccessKey ${step.userName} ${step.accessKeyId} (inactive)`;
    case 'DeactivateAccessKey':
      return `UpdateAccessKey ${step.userName} ${step.accessKeyId} Inactive${step.account ? ` (${step.account})` : ''}`;
    case 'ActivateAccessKey':
      return `UpdateAccessKey ${step.userName} ${step.accessKeyId} Active${step.account ? ` (${step.account})` : ''}`;
    case 'DeleteLoginProfile':
      return `DeleteLoginProfile ${step.userName}${step.account ? ` (${step.account})` : ''}`;
    case 'RotateOutAccessKey':
      return `UpdateAccessKey ${step.userName} ${step.accessKeyId} Inactive after the grace period, DeleteAccessKey after the recovery period`;
  }
}

/** How a step is undone, as a line (`undo: RemoveUserFromGroup …`), for the approval message. */
export function describeUndo(step: PlanStep): string {
  if (step.op === 'CreateUser') return 'undo: delete what the request created, then the user';
  if (step.op === 'CreateLoginProfile') return 'undo: DeleteLoginProfile';
  if (step.op === 'CreateAccessKey') return 'undo: DeleteAccessKey';
  if (step.op === 'DeleteAccessKey') return 'undo: none (the key was inactive)';
  if (step.op === 'DeactivateAccessKey') return 'undo: Reactivate (approvers, within leavers.recoveryDays)';
  if (step.op === 'DeleteLoginProfile') return 'undo: none (a console password cannot be restored; see the report)';
  if (step.op === 'RotateOutAccessKey') return 'undo: Reactivate, once, within the recovery period';
  if (step.op === 'TagUser' && step.previous === undefined) return 'undo: none (reported if a later step fails)';
  const undo = undoOf(step);
  return undo ? `undo: ${describeStep(undo)}` : 'undo: none';
}
