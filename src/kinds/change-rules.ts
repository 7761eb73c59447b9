/**
 * What the change kinds (add-to-group, remove-from-group, set-owner) differ in when a change is asked for, as data and
 * one plan builder each: the checks and the submission (src/services/kinds/change-requests.ts) read it by kind
 * instead of branching on the kind's name. Imports the plan's types only (the Slack function loads it).
 */
import { OWNER_TAG, type PlanStep } from '../services/plans/types.js';

/** The kinds of change to an existing IAM user that a command or form asks for. */
export type ChangeKind = 'add-to-group' | 'remove-from-group' | 'set-owner' | 'temporary-membership';

export interface ChangeRules {
  /** What the change names after the IAM user: groups the policy lists, or the new owner (a Slack user). */
  names: 'groups' | 'new-owner';
  /** For a change of groups: whether the user must be in each group now (`present`) or not yet (`absent`). */
  membership?: 'present' | 'absent';
  /** Whether the user's owner, or an approver of every one of its groups, may have it done at once. */
  atOnce: boolean;
  /** The IAM writes it makes, in order: what the approvers see and the worker runs. */
  plan(change: { userName: string; groups: string[]; newOwner?: string; owner?: string }): PlanStep[];
}

export const CHANGE_RULES: Readonly<Record<ChangeKind, ChangeRules>> = {
  'add-to-group': {
    names: 'groups',
    membership: 'absent',
    atOnce: false,
    plan: ({ userName, groups }) => groups.map((group) => ({ op: 'AddUserToGroup', userName, group })),
  },
  // add-to-group for a time (src/kinds/temporary-membership): the same checks and plan; its run removes at the end
  'temporary-membership': {
    names: 'groups',
    membership: 'absent',
    atOnce: false,
    plan: ({ userName, groups }) => groups.map((group) => ({ op: 'AddUserToGroup', userName, group })),
  },
  'remove-from-group': {
    names: 'groups',
    membership: 'present',
    atOnce: true,
    plan: ({ userName, groups }) => groups.map((group) => ({ op: 'RemoveUserFromGroup', userName, group })),
  },
  'set-owner': {
    names: 'new-owner',
    atOnce: false,
    plan: ({ userName, newOwner, owner }) => [
      { op: 'TagUser', userName, key: OWNER_TAG, value: newOwner ?? '', ...(owner ? { previous: owner } : {}) },
    ],
  },
};
