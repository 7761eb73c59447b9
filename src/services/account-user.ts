/**
 * The account a request acts in and one IAM user of it, read together before a request about an existing user is
 * stored or run (rotate-key's check, delete-user's submission).
 */
import { GetUserCommand, type User } from '@aws-sdk/client-iam';
import type { Deps } from '../deps.js';
import { BotError } from '../errors.js';
import { errorName } from './provisioning.js';

/**
 * STS's account id and IAM's user `userName` (undefined when IAM has no such user), asked in parallel. Guarantees: any
 * other failure throws BotError naming the account and the error ("I cannot act in …", "I cannot read IAM users in
 * …"), with its cause.
 */
export async function accountAndUser(
  deps: Pick<Deps, 'aws'>,
  account: string,
  userName: string,
): Promise<{ accountId: string; user: User | undefined }> {
  const cannot = (what: string) => (error: unknown) => {
    throw new BotError(`I cannot ${what} in account ${account} (${errorName(error)}).`, { cause: error });
  };
  const [identity, user] = await Promise.all([
    deps.aws.callerIdentity(account).catch(cannot('act')),
    deps.aws
      .account(account)
      .iam.send(new GetUserCommand({ UserName: userName }))
      .then(
        (out) => out.User,
        (error: unknown) => (errorName(error) === 'NoSuchEntity' ? undefined : cannot('read IAM users')(error)),
      ),
  ]);
  return { accountId: identity.Account ?? '', user };
}
