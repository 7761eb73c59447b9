import { HOME } from '../aws/accounts.js';
import type { Deps } from '../deps.js';

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
}

/**
 * Which account the bot runs in and, for every named account, whether its role can be assumed. Never throws:
 * a failing account is reported with its problem.
 */
export async function describeAccounts(deps: Pick<Deps, 'aws' | 'config'>): Promise<AccountStatus[]> {
  const roles = new Map(deps.config.policy.accounts.map((a) => [a.name, a.roleArn]));
  return Promise.all(
    deps.aws.names.map(async (name): Promise<AccountStatus> => {
      const roleArn = roles.get(name);
      const base = { name, ...(roleArn ? { roleArn } : {}) };
      try {
        if (name !== HOME) await deps.aws.assumedCredentials(name);
        return { ...base, ok: true, ...(await deps.aws.identity(name)) };
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
