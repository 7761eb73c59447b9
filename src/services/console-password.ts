import { HOME } from '../aws/accounts.js';
import type { Deps } from '../deps.js';
import type { AccessType } from '../store/requests.js';
import { passwordChangeByPolicy } from './password.js';

/** Why a console password would lock the new user out, shown before the request is sent. */
export interface ConsoleWarning {
  /** Names the account and what was found there: a requester who saw this warning may send the request anyway. */
  key: string;
  /** What happens and what to do, for the requester (Slack mrkdwn without mentions). */
  text: string;
}

/**
 * The warning for a console password in the draft's account when the user could not change it at first sign-in:
 * the account's password policy does not let users change their password (or there is none, or it cannot be read).
 * A group of the user could still grant `iam:ChangePassword`, which is why this warns and does not refuse.
 * Undefined for an access key only, an account the policy does not name (validation says so), or when users may
 * change their password. Reads the password policy only for console access. Never throws.
 */
export async function consolePasswordWarning(
  deps: Pick<Deps, 'aws' | 'config'>,
  draft: { accessType?: AccessType | undefined; account?: string | undefined },
): Promise<ConsoleWarning | undefined> {
  if (draft.accessType !== 'console' && draft.accessType !== 'both') return undefined;
  const account = draft.account?.trim() || (deps.config.policy.accounts.length === 0 ? HOME : '');
  if (!deps.aws.names.includes(account)) return undefined;
  let state: Awaited<ReturnType<typeof passwordChangeByPolicy>> | 'unreadable';
  let errorName = '';
  try {
    state = await passwordChangeByPolicy(deps.aws.account(account).iam);
  } catch (error) {
    state = 'unreadable';
    errorName = (error as Error)?.name ?? 'error';
  }
  if (state === 'allowed') return undefined;
  const why = {
    'no-policy': `account *${account}* has no password policy, so its IAM users cannot change their own password`,
    'not-allowed': `the password policy of account *${account}* does not let IAM users change their own password`,
    unreadable: `I could not read the password policy of account *${account}* (${errorName}), so I cannot tell whether its IAM users may change their own password`,
  }[state];
  return {
    key: `console@${account}:${state}`,
    text: `:warning: ${why}. The console password must be changed at first sign-in: without \`iam:ChangePassword\` from one of its groups, the new user is locked out. Better: allow users to change their own password in the account's password policy, or ask for an access key only.`,
  };
}
