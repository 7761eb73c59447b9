import type { CommandHelp } from './help.js';

/**
 * What each `/iam` subcommand is for, in the order help lists them: read by the listeners (their usage lines) and
 * by the App Home (published by the worker, which never loads the listeners).
 */
export const COMMAND_HELP = [
  {
    name: 'help',
    summary: 'lists what I can do.',
    usage: '/iam help',
    example: '/iam help',
  },
  {
    name: 'whoami',
    summary: 'shows the AWS account and identity I act as, and whether I can assume the role of each named account.',
    usage: '/iam whoami',
    example: '/iam whoami',
  },
  {
    name: 'create-user',
    summary:
      'asks for a new IAM user (access key and/or console password, in the groups you choose); approvers decide in the approval channel, and the credentials arrive as a one-time link.',
    usage:
      '/iam create-user [name] [--for @user] [--groups g1,g2 | --like iam-user] [--keys] [--console] [--account name] [--tag key=value] [--reason "..."] [--anyway]',
    example:
      '/iam create-user build-bot --for @alice --groups ci-deployers --keys --account home --reason "CI deploys for the web app"',
  },
  {
    name: 'add-to-group',
    summary:
      'asks to add an IAM user to groups the policy lists; approved like a new user (no approval by its owner or by whoever asked).',
    usage:
      '/iam add-to-group <iam-user> <group> [group...] [--like iam-user] --reason "..." [--for 4h [--break-glass]] [--account name]',
    example: '/iam add-to-group build-bot read-only --reason "Needs to read the staging logs"',
  },
  {
    name: 'remove-from-group',
    summary:
      "takes an IAM user out of groups: at once when you own the user or approve those groups, else after approval. The user's owner is told.",
    usage: '/iam remove-from-group <iam-user> <group> [group...] --reason "..." [--account name]',
    example: '/iam remove-from-group build-bot read-only --reason "No longer reads the logs"',
  },
  {
    name: 'set-owner',
    summary:
      'asks to make someone the owner of an IAM user under the managed paths (its slack-user-id tag); approved by neither the owner, the new owner nor whoever asked.',
    usage: '/iam set-owner <iam-user> @someone --reason "..." [--account name]',
    example: '/iam set-owner build-bot @bob --reason "Bob runs the CI now"',
  },
  {
    name: 'rotate-key',
    summary:
      "rotates an access key: a new key by one-time link, the old one deactivated after the grace period and deleted after the recovery period; at once for the user's owner, else after approval.",
    usage: '/iam rotate-key <iam-user> [key-id] [--account name]',
    example: '/iam rotate-key build-bot',
  },
  {
    name: 'delete-user',
    summary:
      'asks to delete an IAM user under the managed paths (its owner or an approver asks; approved like a change, not by its owner). At approval it is disabled (active keys deactivated, console password deleted) and its owner can Cancel for `users.deleteAfterDays` days; then everything attached to it is removed and the user deleted.',
    usage: '/iam delete-user <iam-user> --reason "..." [--account name]',
    example: '/iam delete-user build-bot --reason "The CI moved to OIDC roles"',
  },
  {
    name: 'reissue',
    summary:
      'approvers: replaces an access key whose one-time link was never opened (lost or expired) with a fresh key and a new link; the undelivered key is deleted.',
    usage: '/iam reissue <request-id | iam-user> [--account name]',
    example: '/iam reissue build-bot',
  },
  {
    name: 'users',
    summary:
      'lists the IAM users someone owns (default: you), with their groups, console access and access keys (age against the key rotation policy, last use). `--unowned` lists those nobody owns.',
    usage: '/iam users [@someone | --unowned]',
    example: '/iam users @bob',
  },
  {
    name: 'user',
    summary: 'shows one IAM user: its owner, groups, console access, access keys and the requests that changed it.',
    usage: '/iam user <iam-user-name> [--account name]',
    example: '/iam user build-bot',
  },
  {
    name: 'offboard',
    summary:
      'approvers: asks to disable every IAM user someone owns (keys deactivated, console password deleted, their pending requests cancelled), through approval; what happens on its own when someone leaves Slack.',
    usage: '/iam offboard @someone --reason "..."',
    example: '/iam offboard @bob --reason "Last day on Friday"',
  },
  {
    name: 'jobs',
    summary: 'approvers: the jobs that failed on every attempt (newest first), what state each left, and Re-run.',
    usage: '/iam jobs [--page n]',
    example: '/iam jobs',
  },
  {
    name: 'audit',
    summary: 'approvers: the audit trail of an IAM user, of what someone did, or of a request, newest first (paged).',
    usage: '/iam audit <iam-user [--account name] | @someone | request-id> [--page n]',
    example: '/iam audit build-bot',
  },
  {
    name: 'report',
    summary:
      'approvers: access keys by age band per account (fine, due soon, overdue, inactive), overdue keys with their owners, unowned and never-used keys, console users without MFA, the state of the access review, by DM with the same as a CSV file for auditors.',
    usage: '/iam report [account]',
    example: '/iam report home',
  },
] as const satisfies readonly CommandHelp[];

/** The help of one subcommand, by name. */
export function helpOf(name: (typeof COMMAND_HELP)[number]['name']): CommandHelp {
  const found = COMMAND_HELP.find((c) => c.name === name);
  if (!found) throw new Error(`No help for /iam ${name}`);
  return found;
}
