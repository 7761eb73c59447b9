/**
 * What the change kinds' commands and forms differ in, as data: the command parser (src/listeners/commands/
 * change-args.ts) and the group membership form (src/blocks/membership-modal.ts) read it by kind instead of branching
 * on the kind's name. No imports but types.
 */
import type { ChangeKind } from './change-rules.js';

/** What a change command names after the IAM user: groups (also comma-separated), or the new owner as a mention. */
export const CHANGE_ARGUMENTS: Readonly<Record<ChangeKind, 'groups' | 'new-owner'>> = {
  'add-to-group': 'groups',
  'remove-from-group': 'groups',
  'set-owner': 'new-owner',
  'temporary-membership': 'groups',
};

/** The group membership form's words, for each kind that uses the form. */
export const MEMBERSHIP_FORMS = {
  'add-to-group': { title: 'Add to groups', groupsLabel: 'Groups to add it to' },
  'remove-from-group': { title: 'Remove from groups', groupsLabel: 'Groups to remove it from' },
} as const satisfies Partial<Record<ChangeKind, { title: string; groupsLabel: string }>>;

/** A kind that uses the group membership form. */
export type MembershipKind = keyof typeof MEMBERSHIP_FORMS;

/** Whether a value (e.g. read back from a form's private_metadata) names a kind that uses the membership form. */
export const isMembershipKind = (kind: unknown): kind is MembershipKind =>
  typeof kind === 'string' && Object.hasOwn(MEMBERSHIP_FORMS, kind);
