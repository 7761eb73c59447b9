import { CreateRoleCommand, IAMClient } from '@aws-sdk/client-iam';
import { AssumeRoleCommand, STSClient } from '@aws-sdk/client-sts';
import type { Policy } from '../config.js';
import { ensurePolicyGroups } from '../services/setup.js';

/** What the emulator holds for one named account of the policy. */
export interface EmulatedAccount {
  name: string;
  accountId: string;
  groups: string[];
}

/**
 * Makes every named account of the policy a real account of the moto emulator (moto keeps each account id apart and
 * hands out credentials of the role's account on AssumeRole): creates the role the policy names in that account id,
 * so that AssumeRole works as it would on AWS, and the policy's groups in it, so that create-user works there.
 * Idempotent. For the emulator only: it creates what the bot itself is never allowed to.
 */
export async function emulateNamedAccounts(options: {
  endpoint: string;
  region: string;
  policy: Pick<Policy, 'accounts' | 'groups'>;
}): Promise<EmulatedAccount[]> {
  const base = {
    region: options.region,
    endpoint: options.endpoint,
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  };
  const out: EmulatedAccount[] = [];
  for (const account of options.policy.accounts) {
    const [, , , , accountId = '', resource = ''] = account.roleArn.split(':');
    const roleName = resource.split('/').pop() ?? '';
    // moto answers AssumeRole into any account id, role or not: that is how we get to act in the account to create
    // the role there.
    const sts = new STSClient(base);
    const assumed = await sts.send(
      new AssumeRoleCommand({
        RoleArn: account.roleArn,
        RoleSessionName: 'iam-slack-bot-dev-setup',
        ...(account.externalId ? { ExternalId: account.externalId } : {}),
      }),
    );
    const c = assumed.Credentials;
    const iam = new IAMClient({
      ...base,
      credentials: {
        accessKeyId: c?.AccessKeyId ?? '',
        secretAccessKey: c?.SecretAccessKey ?? '',
        sessionToken: c?.SessionToken ?? '',
      },
    });
    try {
      await iam.send(
        new CreateRoleCommand({
          RoleName: roleName,
          Path: resource.slice('role'.length, resource.length - roleName.length) || '/',
          AssumeRolePolicyDocument: JSON.stringify({
            Version: '2012-10-17',
            Statement: [{ Effect: 'Allow', Principal: { AWS: '*' }, Action: 'sts:AssumeRole' }],
          }),
        }),
      );
    } catch (error) {
      if ((error as Error).name !== 'EntityAlreadyExistsException') throw error;
    }
    await ensurePolicyGroups(iam, options.policy.groups);
    out.push({ name: account.name, accountId, groups: options.policy.groups.map((g) => g.name) });
    sts.destroy();
    iam.destroy();
  }
  return out;
}
