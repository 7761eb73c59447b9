import { KINDS } from '../kinds/registry.js';
import type { RequestKindModule } from '../kinds/types.js';
import type { CommandHelp } from './help.js';

/** The subcommands listed before the kinds' commands: about the bot itself. */
const BEFORE_KINDS: readonly CommandHelp[] = [
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
];

/** The subcommands listed after the kinds' commands: verbs over every kind's requests, and reading. */
const AFTER_KINDS: readonly CommandHelp[] = [
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
];

/**
 * What each `/iam` subcommand is for, in the order help lists them: the bot's own commands, then each kind's command
 * as its module declares it (RequestKindModule.command, in the registry's order), then the verbs and the reading
 * commands. `kinds`: the registry, or a test's list with a kind of its own.
 */
export function commandHelp(kinds: Readonly<Record<string, RequestKindModule>> = KINDS): CommandHelp[] {
  const ofKinds = Object.values(kinds).flatMap((k) => (k.command ? [{ name: k.id, ...k.command }] : []));
  return [...BEFORE_KINDS, ...ofKinds, ...AFTER_KINDS];
}

/**
 * Every `/iam` subcommand's help, in the order help lists them: read by the listeners (their usage lines) and by the
 * App Home (published by the worker, which never loads the listeners).
 */
export const COMMAND_HELP: readonly CommandHelp[] = commandHelp();

/** The help of one subcommand, by name. Throws when there is none (a kind without `command`, a typo). */
export function helpOf(name: string): CommandHelp {
  const found = COMMAND_HELP.find((c) => c.name === name);
  if (!found) throw new Error(`No help for /iam ${name}`);
  return found;
}
