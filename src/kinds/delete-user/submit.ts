/**
 * Asking to delete an IAM user (`/iam delete-user <user> --reason "..."`): the checks before approval and the stored
 * request. Slack function side: reads only (GetUser, the user's tags and groups), then the one submit path.
 */
import { HOME } from '../../aws/accounts.js';
import type { Deps } from '../../deps.js';
import { BotError, NotAuthorizedError, ValidationError } from '../../errors.js';
import { accountAndUser } from '../../services/account-user.js';
import { isManagedUserPath, managedPaths } from '../../services/kinds/run-change.js';
import { ownerIn, readUserState } from '../../services/kinds/user-state.js';
import { errorName } from '../../services/provisioning.js';
import { MAX_JUSTIFICATION } from '../../services/request-validation.js';
import { newRequest, submitNew } from '../../services/requests/submit.js';
import { approvalRule, auditEvent, isAmong, type RequestDeps, type SubmitOptions } from '../../services/requests.js';
import { requireFullMember } from '../../services/slack-members.js';
import type { AccessRequest } from '../../store/requests.js';

/** A deletion as typed on the command line. */
export interface DeleteUserDraft {
  userName?: string;
  account?: string;
  justification?: string;
}

const USER_NAME = /^[\w+=,.@-]{1,64}$/;
const code = (s: string) => `\`${s}\``;

/**
 * Checks and stores a request to delete an IAM user, then hands it to the worker to be posted for approval. Refuses
 * (ValidationError) a user that does not exist, is outside the managed paths or is in a group the policy does not
 * list (the roles cannot take it out), a missing reason; refuses
 * (NotAuthorizedError) a requester who neither owns the user nor is among the kind's approvers. Never changes IAM.
 */
export async function submitDeleteUser(
  deps: RequestDeps & Pick<Deps, 'aws' | 'messenger'>,
  requester: string,
  draft: DeleteUserDraft,
  options: SubmitOptions = {},
): Promise<AccessRequest> {
  const { policy } = deps.config;
  const account = draft.account ?? HOME;
  const userName = draft.userName?.trim() ?? '';
  const justification = draft.justification?.trim() ?? '';
  if (account !== HOME && !policy.accounts.some((a) => a.name === account))
    throw new ValidationError(`There is no account ${code(account)} in the policy.`, { account: 'unknown account' });
  if (!USER_NAME.test(userName))
    throw new ValidationError('Give the IAM user name (letters, digits and +=,.@_-).', { userName: 'invalid' });
  if (!justification)
    throw new ValidationError('Say why (`--reason "..."`): the approvers and the audit trail read it.', {
      justification: 'missing',
    });
  if (justification.length > MAX_JUSTIFICATION)
    throw new ValidationError(`Keep the reason within ${MAX_JUSTIFICATION} characters.`, { justification: 'long' });
  const { iam } = deps.aws.account(account);
  const cannot = (what: string) => (error: unknown) => {
    throw new BotError(`I cannot ${what} in account ${account} (${errorName(error)}).`, { cause: error });
  };
  const { accountId, user } = await accountAndUser(deps, account, userName);
  if (!user)
    throw new ValidationError(`There is no IAM user ${code(userName)} in ${account} (${accountId}).`, {
      userName: 'unknown',
    });
  const path = user.Path ?? '/';
  if (!isManagedUserPath(policy, path))
    throw new ValidationError(
      `IAM user ${code(userName)} is at path ${code(path)}, outside the paths the bot manages (${managedPaths(policy).map(code).join(', ')}): I cannot delete it.`,
      { userName: 'unmanaged' },
    );
  const state = await readUserState(iam, userName).catch(cannot(`read IAM user ${userName}`));
  const listed = new Set(policy.groups.map((g) => g.name));
  const outside = state.groups.filter((g) => !listed.has(g));
  // the roles let the bot remove members only from the policy's groups: a person removes it from the others first
  if (outside.length)
    throw new ValidationError(
      `IAM user ${code(userName)} is in ${outside.map(code).join(', ')}, which the policy does not list: I can only take it out of the policy's groups. Remove it from those first.`,
      { userName: 'groups outside the policy' },
    );
  const owner = ownerIn(state);
  const rule = approvalRule(policy, [], 'delete-user');
  if (owner !== requester) {
    if (!(await isAmong(deps, rule.groups[0]?.approvers, requester)))
      throw new NotAuthorizedError(
        `Only the owner of IAM user ${code(userName)}${owner ? ` (<@${owner}>)` : ''} or an approver can ask to delete it.`,
      );
    // an approver counts only as a full member of this workspace, whatever the policy lists
    await requireFullMember(deps, requester, 'ask to delete an IAM user');
  }
  const request = newRequest(deps, requester, {
    kind: 'delete-user',
    plan: [],
    ...(owner ? { owner } : {}),
    recipient: owner ?? requester,
    account,
    accountId,
    userName,
    path,
    groups: [],
    accessType: 'keys', // create-user's field; a deletion mints no credentials
    tags: [],
    justification,
  });
  const requested = auditEvent(deps, request, requester, 'requested', {
    kind: 'delete-user',
    userName,
    account,
    owner: owner ?? null,
    deleteAfterDays: policy.users.deleteAfterDays,
    channel: options.channel ?? null,
  });
  return submitNew(deps, request, requested, options);
}
