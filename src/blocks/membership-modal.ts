import { durationMs, type Policy } from '../config.js';
import { CHANGE_RULES } from '../kinds/change-rules.js';
import { isMembershipKind, MEMBERSHIP_FORMS, type MembershipKind } from '../kinds/forms.js';
import { durationText } from '../kinds/summaries.js';
import type { ChangeDraft } from '../services/kinds/change-requests.js';
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

const input = (field: Field, label: string, element: Record<string, unknown>, hint?: string, optional = false) => ({
  type: 'input',
  ...(optional ? { optional: true } : {}),
  block_id: GROUP_MEMBERSHIP_BLOCKS[field],
  label: plain(label),
  element: { action_id: FORM_INPUT, ...element },
  ...(hint ? { hint: plain(hint) } : {}),
});

/**
 * The `/iam add-to-group` / `/iam remove-from-group` form, pre-filled from the command: the IAM user (checked
 * against IAM on submission), the groups (exactly the policy's), and the reason.
 */
export function membershipModal(policy: Policy, context: MembershipFormContext, prefill: Partial<ChangeDraft> = {}) {
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
      ),
      ...(CHANGE_RULES[context.kind].timed
        ? [
            input(
              'duration',
              'For how long',
              {
                type: 'plain_text_input',
                max_length: 8,
                placeholder: plain('e.g. 4h (empty: for good)'),
                ...(prefill.durationMs ? { initial_value: durationText(prefill.durationMs) } : {}),
              },
              'A temporary membership (90m, 4h, 2d): the bot removes it at the end. Empty: for good.',
              true,
            ),
          ]
        : []),
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
export function readMembershipForm(values: FormValues, context: MembershipFormContext): ChangeDraft {
  const get = (field: Field) => values[GROUP_MEMBERSHIP_BLOCKS[field]]?.[FORM_INPUT];
  const groups = get('groups')?.selected_options?.map((o) => o.value) ?? [];
  const time = get('duration')?.value?.trim();
  const timed = CHANGE_RULES[context.kind].timed;
  // a duration that is none (`-1`) is refused by the checks, on this field
  const duration = time && timed ? { kind: timed, durationMs: durationMs(time) ?? -1 } : {};
  return {
    kind: context.kind,
    ...duration,
    groups,
    ...(context.account ? { account: context.account } : {}),
    ...(get('userName')?.value ? { userName: get('userName')?.value ?? '' } : {}),
    ...(get('justification')?.value ? { justification: get('justification')?.value ?? '' } : {}),
  };
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
export function membershipFormErrors(fields: Record<string, string>): Record<string, string> {
  const errors: Record<string, string> = {};
  for (const [field, message] of Object.entries(fields)) {
    const block =
      field in GROUP_MEMBERSHIP_BLOCKS ? GROUP_MEMBERSHIP_BLOCKS[field as Field] : GROUP_MEMBERSHIP_BLOCKS.userName;
    errors[block] = errors[block] ? `${errors[block]} ${message}` : message;
  }
  return errors;
}
