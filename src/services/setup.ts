import { CreateGroupCommand, type IAMClient } from '@aws-sdk/client-iam';

/**
 * Creates every IAM group the policy allows that does not exist yet (for the local emulator, so the demo has
 * something to grant). Idempotent. Returns the names it created.
 */
export async function ensurePolicyGroups(iam: IAMClient, groups: { name: string }[]): Promise<string[]> {
  const created: string[] = [];
  for (const { name } of groups) {
    try {
      await iam.send(new CreateGroupCommand({ GroupName: name }));
      created.push(name);
    } catch (error) {
      if ((error as Error).name !== 'EntityAlreadyExistsException') throw error;
    }
  }
  return created;
}
