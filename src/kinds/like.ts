/**
 * `--like <user>` on add-to-group (and a membership for a time): copy the groups of an existing managed user that the
 * policy allows (the command resolves it from the projection, services/like-user.ts). A kind flag (src/kinds/types.ts).
 * The create-user form shows the same input (likeInput; create-user's command reads `--like` itself).
 */
import type { DraftPatch } from './change-draft.js';
import type { CommandFlag, FormField } from './types.js';

/** The user `--like` names in a draft, if any. */
export const draftLike = (draft: { fields?: Readonly<Record<string, unknown>> }): string | undefined =>
  typeof draft.fields?.like === 'string' ? draft.fields.like : undefined;

export const LIKE_FLAG: CommandFlag = {
  name: '--like',
  read: (value, draft): DraftPatch | { problem: string } =>
    draft.kind === 'add-to-group' || draft.kind === 'temporary-membership'
      ? { fields: { like: value } }
      : { problem: '`--like` is for `add-to-group` (and `create-user`): it copies the groups of an existing user.' },
};

/** The "Same groups as" input of a form (add-to-group's and create-user's), pre-filled with `like` when given. */
export const likeInput = (like?: string) => ({
  label: 'Same groups as',
  element: {
    type: 'plain_text_input',
    max_length: 64,
    placeholder: { type: 'plain_text' as const, text: 'an existing IAM user (optional)' },
    ...(like ? { initial_value: like.slice(0, 64) } : {}),
  },
  hint: "Copies that user's groups the access policy lists (the others are skipped), besides those chosen above.",
  optional: true,
});

/** The membership form's "Same groups as" input (add-to-group): the same as `--like`. */
export const LIKE_FORM_FIELD: FormField = {
  name: 'like',
  blockId: 'membership_like',
  forms: ['add-to-group'],
  input: (prefill) => likeInput(draftLike(prefill)),
  read: (value) => (value ? { fields: { like: value } } : {}),
};
