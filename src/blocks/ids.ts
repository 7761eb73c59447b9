/**
 * Action and callback ids of every interactive element the bot renders, in one place: blocks use them to build
 * elements, listeners to route clicks. Slack ids are snake_case.
 */

/** The recipient's DM: opens the one-time credential link (a URL button; Slack still sends the click). */
export const CREDENTIAL_LINK_OPEN = 'credential_link_open';
/** The recipient's DM after the reveal: "This wasn't me". */
export const CREDENTIAL_NOT_ME = 'credential_not_me';

/** Approval message buttons. Each button's value is the request id and nothing else. */
export const REQUEST_APPROVE = 'request_approve';
export const REQUEST_DENY = 'request_deny';
/** Shown to approvers when provisioning failed. */
export const REQUEST_RETRY = 'request_retry';
/** Shown to approvers when provisioning failed: end the request, releasing its user name. */
export const REQUEST_ABANDON = 'request_abandon';
/** The `/iam create-user` form. */
export const CREATE_USER_MODAL = 'create_user_modal';
/** Block id of each create-user form field, by the field it holds. Every input's action id is FORM_INPUT. */
export const CREATE_USER_BLOCKS = {
  userName: 'create_user_name',
  recipient: 'create_user_recipient',
  accessType: 'create_user_access',
  groups: 'create_user_groups',
  account: 'create_user_account',
  tags: 'create_user_tags',
  justification: 'create_user_justification',
} as const;
/** Block id of the create-user form's "Same groups as" (the command's `--like`). */
export const CREATE_USER_LIKE = 'create_user_like';
/** Block id of the warning the create-user form shows before a request that can be sent anyway. */
export const CREATE_USER_WARNING = 'create_user_warning';
/** The form Deny opens, asking for a reason. */
export const DENY_REASON_MODAL = 'deny_reason_modal';
export const DENY_REASON_BLOCK = 'deny_reason';
/** Action id of every input element in the bot's forms (the block id says which field it is). */
export const FORM_INPUT = 'value';
/** The `/iam add-to-group` and `/iam remove-from-group` form. */
export const GROUP_MEMBERSHIP_MODAL = 'group_membership_modal';
/** Block id of each group membership form field. */
export const GROUP_MEMBERSHIP_BLOCKS = {
  userName: 'membership_user',
  groups: 'membership_groups',
  justification: 'membership_justification',
} as const;
/** Key rotation: the requester's reply offering to delete the user's inactive key first (value: the rotation asked). */
export const ROTATION_DELETE_FIRST = 'rotation_delete_first';
/** The owner's DM during the grace period: "I've switched: deactivate the old key now" (value: the request id). */
export const ROTATION_SWITCHED = 'rotation_switched';
/** The owner's DM once the old key is deactivated: Reactivate it, once (value: the request id). */
export const ROTATION_REACTIVATE = 'rotation_reactivate';
/** An offboarding report: Reactivate what it disabled (approvers, within the recovery period; value: the request id). */
export const OFFBOARD_REACTIVATE = 'offboard_reactivate';
/** An offboarding report: give one IAM user to someone (value: JSON of request id, account and user name). */
export const OFFBOARD_GIVE_TO = 'offboard_give_to';
/** The form Give to opens: the new owner and the reason; submitted as a set-owner request. */
export const GIVE_TO_MODAL = 'offboard_give_to_modal';
export const GIVE_TO_BLOCKS = { newOwner: 'give_to_owner', justification: 'give_to_reason' } as const;
/**
 * Key-age reminders (the owner's DM; the App Home renders the same buttons): rotate the key now, or snooze its
 * reminders. Value: JSON `{"a": account, "u": IAM user name, "k": access key id}` (see keyButtonValue).
 */
export const KEY_ROTATE_NOW = 'key-rotate-now';
export const KEY_SNOOZE = 'key-snooze';
/** `/iam jobs`: Re-run a failed job (value: the job id). */
export const JOB_RERUN = 'job_rerun';
/** `/iam audit`: the next page (value: the audit command's arguments with `--page <n>`). */
export const AUDIT_MORE = 'audit_more';

/** An access review's DM: keep a group membership (recorded), remove it (remove-from-group), delete an idle user. */
export const REVIEW_KEEP = 'review_keep';
export const REVIEW_REMOVE = 'review_remove';
export const REVIEW_DELETE = 'review_delete';
