import { HOME } from '../aws/accounts.js';
import type { Deps } from '../deps.js';
import { passwordChangeByPolicy } from './password.js';

/**
 * Whether new console users there can change their password at first sign-in (the account password policy's
 * AllowUsersToChangePassword), or why that is unknown.
 */
export type PasswordChange = 'allowed' | 'not-allowed' | 'no-policy' | { unknown: string };

export interface AccountStatus {
  name: string;
  /** Role the bot assumes there (named accounts only). */
  roleArn?: string;
  ok: boolean;
  account?: string;
  arn?: string;
  alias?: string;
  /** Why the account cannot be used, safe to show (an AWS error name, never credentials). */
  problem?: string;
  /** Reachable accounts only. */
  passwordChange?: PasswordChange;
}

/**
 * Which account the bot runs in and, for every named account, whether its role can be assumed and whether new
 * console users there can change their password. Never throws: a failing account is reported with its problem.
 */
export async function describeAccounts(deps: Pick<Deps, 'aws' | 'config'>): Promise<AccountStatus[]> {
  const roles = new Map(deps.config.policy.accounts.map((a) => [a.name, a.roleArn]));
  return Promise.all(
    deps.aws.names.map(async (name): Promise<AccountStatus> => {
      const roleArn = roles.get(name);
      const base = { name, ...(roleArn ? { roleArn } : {}) };
      try {
        if (name !== HOME) await deps.aws.assumedCredentials(name);
        const [identity, passwordChange] = await Promise.all([
          deps.aws.identity(name),
          passwordChangeByPolicy(deps.aws.account(name).iam).catch(
            (error: unknown): PasswordChange => ({ unknown: (error as Error)?.name ?? 'error' }),
          ),
        ]);
        return { ...base, ok: true, ...identity, passwordChange };
      } catch (error) {
        const e = error as { name?: string; message?: string };
        const problem =
          name === HOME
            ? `cannot reach AWS (${e.name ?? 'error'})`
            : `role cannot be assumed (${e.name ?? 'error'}${e.message ? `: ${e.message.slice(0, 160)}` : ''})`;
        return { ...base, ok: false, problem };
      }
    }),
  );
}
