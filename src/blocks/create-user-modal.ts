import { HOME } from '../aws/accounts.js';
import type { Policy } from '../config.js';
import { likeInput } from '../kinds/like.js';
import type { CreateUserDraft, DraftField } from '../services/request-validation.js';
import { MAX_GROUPS_PER_USER, MAX_JUSTIFICATION } from '../services/request-validation.js';
import type { AccessType } from '../store/requests.js';
import { CREATE_USER_BLOCKS, CREATE_USER_LIKE, CREATE_USER_MODAL, CREATE_USER_WARNING, FORM_INPUT } from './ids.js';
import { section } from './text.js';

const plain = (text: string) => ({ type: 'plain_text' as const, text });
/** A menu option. The policy schema keeps names within Slack's 75 characters and descriptions too. */
export const option = (text: string, value: string, description?: string) => ({
  text: plain(text),
  value,
  ...(description ? { description: plain(description) } : {}),
});
export type Option = ReturnType<typeof option>;

/** Slack's most options in one menu, and in one option group. */
const MENU_OPTIONS = 100;
/** Slack's limit on a text input, and so on the tags typed in the form. */
const TEXT_INPUT_MAX = 3000;

const ACCESS_OPTIONS: Record<AccessType, Option> = {
  keys: option('Access key (CLI, SDK, CI)', 'keys'),
  console: option('Console password (must be changed at first sign-in)', 'console'),
  both: option('Both', 'both'),
};

/**
 * The groups menu's options: as they are up to Slack's 100, in option groups of 100 beyond (the policy schema keeps
 * the groups within 10 such option groups).
 */
export function groupMenu(options: Option[]) {
  if (options.length <= MENU_OPTIONS) return { options };
  const option_groups = [];
  for (let i = 0; i < options.length; i += MENU_OPTIONS) {
    const part = options.slice(i, i + MENU_OPTIONS);
    option_groups.push({ label: plain(`Groups ${i + 1}–${i + part.length} of ${options.length}`), options: part });
  }
  return { option_groups };
}

/** What the form carries from the command to its submission. */
export interface CreateUserFormContext {
  /** Channel the command was typed in. */
  channel?: string;
  /** The warning the requester was shown and may submit past (see ConsoleWarning). */
  acknowledged?: string;
}

function input(
  field: DraftField,
  label: string,
  element: Record<string, unknown>,
  extra: { optional?: boolean; hint?: string } = {},
) {
  return {
    type: 'input',
    block_id: CREATE_USER_BLOCKS[field],
    label: plain(label),
    element: { action_id: FORM_INPUT, ...element },
    ...(extra.optional ? { optional: true } : {}),
    ...(extra.hint ? { hint: plain(extra.hint) } : {}),
  };
}

/** "Same groups as" (the command's `--like`): the input add-to-group's form shows too (src/kinds/like.ts). */
function likeBlock(like?: string) {
  const { label, element, hint, optional } = likeInput(like);
  return {
    type: 'input',
    block_id: CREATE_USER_LIKE,
    label: plain(label),
    element: { action_id: FORM_INPUT, ...element },
    optional,
    hint: plain(hint),
  };
}

/**
 * The `/iam create-user` form, pre-filled from what the inline command already said. The account field appears
 * only when the policy names accounts; groups offer exactly the policy's groups.
 */
export function createUserModal(options: {
  policy: Policy;
  requester: string;
  prefill?: CreateUserDraft;
  context?: CreateUserFormContext;
  /** Shown above the access type; the form can then be sent anyway ("Request anyway"). */
  warning?: string;
  /** "Same groups as", as submitted (a form shown again keeps it). */
  like?: string;
}) {
  const { policy, requester } = options;
  const prefill = options.prefill ?? {};
  const groupOptions = policy.groups.map((g) => option(g.name, g.name, g.description));
  const chosenGroups = groupOptions.filter((o) => prefill.groups?.includes(o.value)).slice(0, MAX_GROUPS_PER_USER);
  const accountOptions = [HOME, ...policy.accounts.map((a) => a.name)].map((name) =>
    option(name === HOME ? 'home (the account the bot runs in)' : name, name),
  );
  const chosenAccount = accountOptions.find((o) => o.value === prefill.account);
  const blocks = [
    input(
      'userName',
      'IAM user name',
      {
        type: 'plain_text_input',
        max_length: 64,
        placeholder: plain('e.g. build-bot'),
        ...(prefill.userName ? { initial_value: prefill.userName.slice(0, 64) } : {}),
      },
      { hint: `Letters, digits and + = , . @ _ -. Created under ${policy.users.path}` },
    ),
    input('recipient', 'Who receives the credentials', {
      type: 'users_select',
      initial_user: prefill.recipient ?? requester,
    }),
    ...(options.warning ? [{ ...section(options.warning), block_id: CREATE_USER_WARNING }] : []),
    input('accessType', 'Access type', {
      type: 'radio_buttons',
      options: Object.values(ACCESS_OPTIONS),
      initial_option: ACCESS_OPTIONS[prefill.accessType ?? 'keys'],
    }),
    input(
      'groups',
      'Groups',
      {
        type: 'multi_static_select',
        placeholder: plain('Choose groups'),
        ...groupMenu(groupOptions),
        max_selected_items: MAX_GROUPS_PER_USER,
        ...(chosenGroups.length ? { initial_options: chosenGroups } : {}),
      },
      {
        hint: `Only the groups the access policy lets the bot grant; at most ${MAX_GROUPS_PER_USER} (IAM's limit).`,
        // the groups may come from "Same groups as" alone
        optional: true,
      },
    ),
    likeBlock(options.like),
    ...(policy.accounts.length
      ? [
          input('account', 'AWS account', {
            type: 'static_select',
            placeholder: plain('Choose an account'),
            options: accountOptions,
            ...(chosenAccount ? { initial_option: chosenAccount } : {}),
          }),
        ]
      : []),
    input(
      'tags',
      'Tags',
      {
        type: 'plain_text_input',
        multiline: true,
        max_length: TEXT_INPUT_MAX,
        placeholder: plain('team=platform\ncost-center=1234'),
        ...(prefill.tags ? { initial_value: prefill.tags.slice(0, TEXT_INPUT_MAX) } : {}),
      },
      { optional: true, hint: 'One key=value per line.' },
    ),
    input('justification', 'Justification', {
      type: 'plain_text_input',
      multiline: true,
      max_length: MAX_JUSTIFICATION,
      placeholder: plain('Why is this user needed? Approvers read this.'),
      ...(prefill.justification ? { initial_value: prefill.justification.slice(0, MAX_JUSTIFICATION) } : {}),
    }),
  ];
  return {
    type: 'modal' as const,
    callback_id: CREATE_USER_MODAL,
    private_metadata: JSON.stringify(options.context ?? {}),
    title: plain('New IAM user'),
    submit: plain(options.warning ? 'Request anyway' : 'Request'),
    close: plain('Cancel'),
    blocks,
  };
}

/** One input's state as Slack sends it in a view submission. */
export interface FormValue {
  type?: string;
  value?: string | null;
  selected_option?: { value: string } | null;
  selected_options?: { value: string }[];
  selected_user?: string | null;
}

export type FormValues = Record<string, Record<string, FormValue>>;

/** The draft a submitted create-user form holds. */
export function readCreateUserForm(values: FormValues): CreateUserDraft {
  const get = (field: DraftField) => values[CREATE_USER_BLOCKS[field]]?.[FORM_INPUT];
  const draft: CreateUserDraft = {};
  const text = (field: 'userName' | 'tags' | 'justification' | 'account') => {
    const v = get(field);
    const s = v?.value ?? v?.selected_option?.value;
    if (s) draft[field] = s;
  };
  text('userName');
  text('tags');
  text('justification');
  text('account');
  const recipient = get('recipient')?.selected_user;
  if (recipient) draft.recipient = recipient;
  const access = get('accessType')?.selected_option?.value;
  if (access) draft.accessType = access as AccessType;
  const groups = get('groups')?.selected_options;
  if (groups) draft.groups = groups.map((o) => o.value);
  return draft;
}

/** The existing user a submitted create-user form's "Same groups as" names, if any. */
export function readCreateUserFormLike(values: FormValues): string | undefined {
  return values[CREATE_USER_LIKE]?.[FORM_INPUT]?.value?.trim() || undefined;
}

/**
 * Validation problems as Slack's `response_action: 'errors'` wants them: by block id (`like`: "Same groups as"). A
 * problem about a field the form does not show (the account, when the policy names none) goes to the user name.
 */
export function formErrors(policy: Policy, fields: Record<string, string>): Record<string, string> {
  const errors: Record<string, string> = {};
  for (const [field, message] of Object.entries(fields)) {
    const shown = field in CREATE_USER_BLOCKS && (field !== 'account' || policy.accounts.length > 0);
    const block =
      field === 'like'
        ? CREATE_USER_LIKE
        : shown
          ? CREATE_USER_BLOCKS[field as DraftField]
          : CREATE_USER_BLOCKS.userName;
    errors[block] = errors[block] ? `${errors[block]} ${message}` : message;
  }
  return errors;
}

/** The form's context from its private_metadata. */
export function readCreateUserFormContext(privateMetadata: string | undefined): CreateUserFormContext {
  try {
    const parsed = JSON.parse(privateMetadata || '{}') as CreateUserFormContext;
    return {
      ...(typeof parsed.channel === 'string' ? { channel: parsed.channel } : {}),
      ...(typeof parsed.acknowledged === 'string' ? { acknowledged: parsed.acknowledged } : {}),
    };
  } catch {
    return {};
  }
}
