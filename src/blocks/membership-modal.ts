import type { Policy } from '../config.js';
import { type ChangeDraft, patchDraft } from '../kinds/change-draft.js';
import { isMembershipKind, MEMBERSHIP_FORMS, type MembershipKind } from '../kinds/forms.js';
import { allKindFormFields, kindFormFields } from '../kinds/registry.js';
import type { FormField } from '../kinds/types.js';
import { MAX_JUSTIFICATION } from '../services/request-validation.js';
import { type FormValues, groupMenu, option } from './create-user-modal.js';
import { FORM_INPUT, GROUP_MEMBERSHIP_BLOCKS, GROUP_MEMBERSHIP_MODAL } from './ids.js';

const plain = (text: string) => ({ type: 'plain_text' as const, text });
type Field = keyof typeof GROUP_MEMBERSHIP_BLOCKS;

/** What the membership form carries from the command to its submission. */
export interface MembershipFormContext {
  kind: MembershipKind;
  channel?: string;
  account?: string;
}

const input = (
  field: Field | { blockId: string },
  label: string,
  element: Record<string, unknown>,
  hint?: string,
  optional = false,
) => ({
  type: 'input',
  ...(optional ? { optional: true } : {}),
  block_id: typeof field === 'string' ? GROUP_MEMBERSHIP_BLOCKS[field] : field.blockId,
  label: plain(label),
  element: { action_id: FORM_INPUT, ...element },
  ...(hint ? { hint: plain(hint) } : {}),
});

/**
 * The `/iam add-to-group` / `/iam remove-from-group` form, pre-filled from the command: the IAM user (checked
 * against IAM on submission), the groups (exactly the policy's), the inputs the kinds add to this form (e.g. a
 * duration: RequestKindModule.draft.formFields), and the reason.
 */
export function membershipModal(
  policy: Policy,
  context: MembershipFormContext,
  prefill: Partial<ChangeDraft> = {},
  kindsFields: readonly FormField[] = kindFormFields(context.kind),
) {
  const form = MEMBERSHIP_FORMS[context.kind];
  const groupOptions = policy.groups.map((g) => option(g.name, g.name, g.description || undefined));
  const chosen = groupOptions.filter((o) => prefill.groups?.includes(o.value)).slice(0, 10);
  return {
    type: 'modal' as const,
    callback_id: GROUP_MEMBERSHIP_MODAL,
    private_metadata: JSON.stringify(context),
    title: plain(form.title),
    submit: plain('Request'),
    close: plain('Cancel'),
    blocks: [
      input(
        'userName',
        'IAM user name',
        {
          type: 'plain_text_input',
          max_length: 64,
          placeholder: plain('e.g. build-bot'),
          ...(prefill.userName ? { initial_value: prefill.userName.slice(0, 64) } : {}),
        },
        `A user under ${[policy.users.path, ...policy.users.managedPaths].join(', ')}`.slice(0, 150),
      ),
      input(
        'groups',
        form.groupsLabel,
        {
          type: 'multi_static_select',
          placeholder: plain('Choose groups'),
          ...groupMenu(groupOptions),
          max_selected_items: 10,
          ...(chosen.length ? { initial_options: chosen } : {}),
        },
        'Only the groups the access policy lists.',
        // with "Same groups as" (add-to-group), the groups may come from there alone
        kindsFields.some((f) => f.name === 'like'),
      ),
      ...kindsFields.map((f) => {
        const { label, element, hint, optional } = f.input(prefill);
        return input(f, label, element, hint, optional);
      }),
      input('justification', 'Why', {
        type: 'plain_text_input',
        multiline: true,
        max_length: MAX_JUSTIFICATION,
        ...(prefill.justification ? { initial_value: prefill.justification.slice(0, MAX_JUSTIFICATION) } : {}),
      }),
    ],
  };
}

/** The change a submitted membership form holds. */
export function readMembershipForm(
  values: FormValues,
  context: MembershipFormContext,
  kindsFields: readonly FormField[] = kindFormFields(context.kind),
): ChangeDraft {
  const get = (field: Field) => values[GROUP_MEMBERSHIP_BLOCKS[field]]?.[FORM_INPUT];
  const groups = get('groups')?.selected_options?.map((o) => o.value) ?? [];
  let draft: ChangeDraft = {
    kind: context.kind,
    groups,
    ...(context.account ? { account: context.account } : {}),
    ...(get('userName')?.value ? { userName: get('userName')?.value ?? '' } : {}),
    ...(get('justification')?.value ? { justification: get('justification')?.value ?? '' } : {}),
  };
  for (const f of kindsFields) {
    const value = values[f.blockId]?.[FORM_INPUT]?.value?.trim();
    draft = patchDraft(draft, f.read(value || undefined, draft));
  }
  return draft;
}

/** The form's context from its private_metadata (add-to-group when unreadable). */
export function readMembershipFormContext(privateMetadata: string): MembershipFormContext {
  try {
    const parsed = JSON.parse(privateMetadata) as Partial<MembershipFormContext>;
    return {
      kind: isMembershipKind(parsed.kind) ? parsed.kind : 'add-to-group',
      ...(typeof parsed.channel === 'string' ? { channel: parsed.channel } : {}),
      ...(typeof parsed.account === 'string' ? { account: parsed.account } : {}),
    };
  } catch {
    return { kind: 'add-to-group' };
  }
}

/** Problems by block id, for `response_action: 'errors'`; anything else shows on the user name. */
export function membershipFormErrors(
  fields: Record<string, string>,
  kindsFields: readonly FormField[] = allKindFormFields(),
): Record<string, string> {
  const errors: Record<string, string> = {};
  const kindBlocks = new Map(kindsFields.map((f) => [f.name, f.blockId]));
  for (const [field, message] of Object.entries(fields)) {
    const block =
      field in GROUP_MEMBERSHIP_BLOCKS
        ? GROUP_MEMBERSHIP_BLOCKS[field as Field]
        : (kindBlocks.get(field) ?? GROUP_MEMBERSHIP_BLOCKS.userName);
    errors[block] = errors[block] ? `${errors[block]} ${message}` : message;
  }
  return errors;
}
