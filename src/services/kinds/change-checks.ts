/**
 * The checks of a change to an existing IAM user (add-to-group, remove-from-group, set-owner, temporary-membership)
 * before anyone approves it: without the network (checkChangeLocally), with the account (checkChangeInAccount), both
 * (checkChangeDraft, the form), and the worker's check of a request an inline command stored before asking IAM
 * (verifyChange, the kinds' verify step). Reads only. Imports nothing of the request life cycle (the kinds import it).
 */
import { GetGroupCommand, GetUserCommand } from '@aws-sdk/client-iam';
import { HOME } from '../../aws/accounts.js';
import { esc } from '../../blocks/text.js';
import type { Policy } from '../../config.js';
import type { Deps } from '../../deps.js';
import { BotError, NotAuthorizedError, ValidationError } from '../../errors.js';
import type { ChangeDraft, CheckedChange } from '../../kinds/change-draft.js';
import { CHANGE_RULES, type ChangeKind } from '../../kinds/change-rules.js';
import type { DraftCheck, Verified, VerifyDeps } from '../../kinds/types.js';
import type { AccessRequest } from '../../store/requests.js';
import { errorName } from '../provisioning.js';
import { reasonProblem } from '../reason-rules.js';
import { MAX_GROUPS_PER_USER, MAX_JUSTIFICATION } from '../request-validation.js';
import { isManagedUserPath, managedPaths } from './run-change.js';
import { ownerIn, readUserState } from './user-state.js';

export type { ChangeDraft, CheckedChange } from '../../kinds/change-draft.js';
export type { ChangeKind } from '../../kinds/change-rules.js';

const USER_NAME = /^[\w+=,.@-]{1,64}$/;
const SLACK_USER = /^[UW][A-Z0-9]{2,}$/;
const isNoSuchEntity = (e: unknown) => errorName(e) === 'NoSuchEntity';
const code = (s: string) => `\`${s}\``;

/**
 * Checks a change against the policy and IAM before anyone approves it: the user exists under a managed path, each
 * group is one the policy lists and exists in the account, a membership to add is not there yet (and the user stays
 * within IAM's 10 groups), one to remove is there, a new owner is not the owner already. Reads only. Throws
 * ValidationError with one line per problem (keys: userName, groups, newOwner, justification), or BotError when
 * the account cannot be reached.
 */
export async function checkChangeDraft(
  deps: Pick<Deps, 'config' | 'aws' | 'store'>,
  draft: ChangeDraft,
  checks: readonly DraftCheck[],
): Promise<CheckedChange> {
  return checkChangeInAccount(deps, checkChangeLocally(deps.config.policy, draft, checks), checks);
}

/**
 * Checks a change with no network call: the policy (account, groups, durations), the user name's form and the
 * reason. Returns it with an empty `accountId` and `path`, no owner, and the plan its kind makes without one: the
 * account is not asked yet, which the worker does before the request is posted (verifyChange). `checks`: the kinds'
 * checks of this draft's kind (registry kindChecks). Throws ValidationError with one line per problem.
 */
export function checkChangeLocally(policy: Policy, draft: ChangeDraft, checks: readonly DraftCheck[]): CheckedChange {
  const rules = CHANGE_RULES[draft.kind];
  const problems: Record<string, string> = {};
  const account = draft.account ?? HOME;
  const userName = draft.userName?.trim() ?? '';
  const groups = [...new Set(draft.groups ?? [])];
  const justification = draft.justification?.trim() ?? '';
  if (account !== HOME && !policy.accounts.some((a) => a.name === account))
    throw new ValidationError(`There is no account ${code(account)} in the policy.`, { account: 'unknown account' });
  if (!USER_NAME.test(userName)) problems.userName = 'Give the IAM user name (letters, digits and +=,.@_-).';
  if (!justification) problems.justification = 'Say why (`--reason "..."`): the approvers and the audit trail read it.';
  else if (justification.length > MAX_JUSTIFICATION)
    problems.justification = `Keep the reason within ${MAX_JUSTIFICATION} characters.`;
  else if (rules.membership === 'absent') {
    // a change that grants groups: each granted group's reason pattern applies
    const unmet = reasonProblem(policy, groups, justification);
    if (unmet) problems.justification = unmet;
  }
  if (rules.names === 'new-owner') {
    if (!draft.newOwner || !SLACK_USER.test(draft.newOwner))
      problems.newOwner = 'Name the new owner as a Slack @mention.';
  } else {
    const listed = new Set(policy.groups.map((g) => g.name));
    const unknown = groups.filter((g) => !listed.has(g));
    if (!groups.length) problems.groups = 'Name at least one group.';
    else if (unknown.length)
      problems.groups = `The policy does not list ${unknown.map(code).join(', ')}: the bot manages only ${[...listed].map(code).join(', ')}.`;
  }
  if (!problems.groups) {
    // the kinds' own checks against the policy (e.g. a membership for a time: its duration)
    const policyOf = new Map(policy.groups.map((g) => [g.name, g]));
    const chosen = groups.map((g) => policyOf.get(g)).filter((g) => g !== undefined);
    for (const check of checks) Object.assign(problems, check.local?.(policy, { ...draft, userName }, chosen));
  }
  if (Object.keys(problems).length) throw invalid(problems);
  return {
    kind: draft.kind,
    userName,
    groups: rules.names === 'groups' ? groups : [],
    account,
    accountId: '',
    path: '',
    ...(draft.newOwner ? { newOwner: draft.newOwner } : {}),
    justification,
    ...(draft.fields ? { fields: draft.fields } : {}),
    plan: rules.plan({ userName, groups, ...(draft.newOwner ? { newOwner: draft.newOwner } : {}) }),
  };
}

/**
 * The account's answer to a change checked locally (checkChangeLocally): the same change with its account id, path,
 * owner and plan, or ValidationError with one line per problem (the user is missing or outside the managed paths, a
 * group is missing, a membership is there already or is not, the new owner owns it already). Reads only. Throws
 * BotError when the account cannot be reached or IAM cannot be read.
 */
export async function checkChangeInAccount(
  deps: Pick<Deps, 'config' | 'aws' | 'store'>,
  change: CheckedChange,
  checks: readonly DraftCheck[],
): Promise<CheckedChange> {
  const { policy } = deps.config;
  const rules = CHANGE_RULES[change.kind];
  const problems: Record<string, string> = {};
  const { userName, account, justification } = change;
  const groups = change.groups;
  const { iam } = deps.aws.account(account);
  const cannot = (what: string) => (error: unknown) => {
    throw new BotError(`I cannot ${what} in account ${account} (${errorName(error)}).`, { cause: error });
  };
  const [identity, user, missing] = await Promise.all([
    deps.aws.callerIdentity(account).catch(cannot('act')),
    iam.send(new GetUserCommand({ UserName: userName })).then(
      (out) => out.User,
      (error: unknown) => (isNoSuchEntity(error) ? undefined : cannot('read IAM users')(error)),
    ),
    Promise.all(
      groups.map((g) =>
        iam.send(new GetGroupCommand({ GroupName: g, MaxItems: 1 })).then(
          () => undefined,
          (error: unknown) => (isNoSuchEntity(error) ? g : cannot('read IAM groups')(error)),
        ),
      ),
    ),
  ]);
  const accountId = identity.Account ?? '';
  if (!user) throw invalid({ userName: `There is no IAM user ${code(userName)} in ${account} (${accountId}).` });
  const path = user.Path ?? '/';
  if (!isManagedUserPath(policy, path))
    throw invalid({
      userName: `IAM user ${code(userName)} is at path ${code(path)}, outside the paths the bot manages (${managedPaths(policy).map(code).join(', ')}).`,
    });
  const absent = missing.filter((g): g is string => g !== undefined);
  if (absent.length) problems.groups = `IAM in ${account} (${accountId}) has no group ${absent.map(code).join(', ')}.`;

  const state = await readUserState(iam, userName).catch(cannot(`read IAM user ${userName}`));
  const owner = ownerIn(state);
  if (rules.membership === 'absent' && !problems.groups) {
    // a kind may say which memberships do not count as held (one held for a time may be asked for good)
    const notHeld = new Set<string>();
    if (groups.some((g) => state.groups.includes(g)))
      for (const check of checks)
        if (check.notHeld) for (const g of await check.notHeld(deps, account, userName)) notHeld.add(g);
    const already = groups.filter((g) => state.groups.includes(g) && !notHeld.has(g));
    const total = state.groups.length + groups.filter((g) => !state.groups.includes(g)).length;
    if (already.length)
      problems.groups = `${code(userName)} is already in ${already.map(code).join(', ')}: nothing to add there.`;
    else if (total > MAX_GROUPS_PER_USER)
      problems.groups = `IAM allows at most ${MAX_GROUPS_PER_USER} groups per user: ${code(userName)} is in ${state.groups.length} already, and this would make ${total}.`;
  }
  if (rules.membership === 'present' && !problems.groups) {
    const gone = groups.filter((g) => !state.groups.includes(g));
    if (gone.length)
      problems.groups = `${code(userName)} is not in ${gone.map(code).join(', ')}: nothing to remove there.`;
  }
  if (rules.names === 'new-owner' && change.newOwner === owner)
    problems.newOwner = `<@${owner}> owns ${code(userName)} already.`;
  if (Object.keys(problems).length) throw invalid(problems);
  return {
    ...change,
    accountId,
    path,
    ...(owner ? { owner } : {}),
    justification,
    plan: rules.plan({
      userName,
      groups,
      ...(change.newOwner ? { newOwner: change.newOwner } : {}),
      ...(owner ? { owner } : {}),
    }),
  };
}

/** Errors of AWS that say the bot may not do something (its role lacks the permission, or cannot be assumed). */
const DENIED = new Set(['AccessDenied', 'AccessDeniedException', 'UnauthorizedOperation']);

/**
 * The worker's check of a change request stored by an inline command before IAM was asked (RequestKindModule.verify
 * of the change kinds; a request that has its account id was checked by the form): the account's answer
 * (checkChangeInAccount) as the fields to record (account id, path, owner, who is told, the plan with the owner it
 * replaces), or the refusal the requester reads as the command's one answer: a missing user or group, a membership
 * there already or not, or an account the bot may not act in. With `atOnce` (src/services/kinds/change-at-once.ts),
 * also whether the checked change needs no approval (its refusal, a ValidationError or NotAuthorizedError, is the
 * requester's answer too). Changes nothing. Throws when IAM or the account cannot
 * be reached for another reason (the job is retried).
 */
export async function verifyChange(
  deps: VerifyDeps,
  request: AccessRequest,
  atOnce?: (change: CheckedChange) => Promise<{ allowed: string; answer: string } | undefined>,
): Promise<Verified> {
  if (request.accountId) return {};
  const kind = request.kind as ChangeKind;
  const rules = CHANGE_RULES[kind];
  const draft: ChangeDraft = {
    kind,
    userName: request.userName,
    groups: request.groups,
    account: request.account,
    justification: request.justification,
    ...(rules.names === 'new-owner' ? { newOwner: request.recipient } : {}),
    // a membership for a time: its duration, and break-glass (whose at-once rule the caller's `atOnce` may apply)
    ...(request.grant
      ? { fields: { durationMs: request.grant.durationMs, ...(request.grant.breakGlass ? { breakGlass: true } : {}) } }
      : {}),
  };
  try {
    const checked = await checkChangeDraft(deps, draft, deps.draftChecks ?? []);
    const allowed = await atOnce?.(checked);
    return {
      ...(allowed ? { atOnce: allowed } : {}),
      fields: {
        accountId: checked.accountId,
        path: checked.path,
        plan: checked.plan,
        recipient: checked.newOwner ?? checked.owner ?? request.requester,
        ...(checked.owner ? { owner: checked.owner } : {}),
      },
    };
  } catch (error) {
    if (error instanceof ValidationError) {
      const lines = Object.values(error.fields).map((m) => `• ${esc(m)}`);
      const text = `I can't ask for that yet:\n${(lines.length ? lines : [`• ${esc(error.message)}`]).join('\n')}\nNothing was changed.`;
      return { refusal: { code: 'refused by IAM', text } };
    }
    if (error instanceof NotAuthorizedError)
      return { refusal: { code: 'not allowed', text: `${esc(error.message)} Nothing was changed.` } };
    if (error instanceof BotError && DENIED.has(errorName(error.cause)))
      return { refusal: { code: 'cannot act', text: `${esc(error.message)} Nothing was changed.` } };
    throw error;
  }
}

const invalid = (problems: Record<string, string>) => new ValidationError(Object.values(problems).join('\n'), problems);
