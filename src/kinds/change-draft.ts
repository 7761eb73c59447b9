/**
 * A change as typed on the command line or in a form, and as checked: the shapes the change commands, the forms, the
 * checks (src/services/kinds/change-requests.ts) and the kinds' draft extensions (src/kinds/types.ts) share. Types
 * and one pure helper: no I/O.
 */
import type { PlanStep } from '../services/plans/types.js';
import type { ChangeKind } from './change-rules.js';

/** A change as typed on the command line or in the form. */
export interface ChangeDraft {
  kind: ChangeKind;
  userName?: string;
  groups?: string[];
  /** set-owner: the Slack user id of the new owner. */
  newOwner?: string;
  account?: string;
  justification?: string;
  /** What a kind's flags and form fields read (KindDraftExtension), by name: only that kind reads them. */
  fields?: Readonly<Record<string, unknown>>;
}

/** A change that passed every check, with what IAM said of the user. */
export interface CheckedChange {
  kind: ChangeKind;
  userName: string;
  groups: string[];
  account: string;
  accountId: string;
  path: string;
  /** The user's owner now (its `slack-user-id` tag), if any. */
  owner?: string;
  newOwner?: string;
  justification: string;
  plan: PlanStep[];
  /** The draft's kind fields, as its kind's checks passed them (see ChangeDraft.fields). */
  fields?: Readonly<Record<string, unknown>>;
}

/** What a kind's flag or form field makes of a draft: the kind it now asks for, and fields it adds. */
export interface DraftPatch {
  kind?: ChangeKind;
  fields?: Readonly<Record<string, unknown>>;
}

/** The draft with a patch applied (fields merged). */
export const patchDraft = <D extends ChangeDraft>(draft: D, patch: DraftPatch): D => ({
  ...draft,
  ...(patch.kind ? { kind: patch.kind } : {}),
  ...(patch.fields ? { fields: { ...draft.fields, ...patch.fields } } : {}),
});
