/**
 * Asking for a change to an existing IAM user (add-to-group, remove-from-group, set-owner): the checks before
 * approval, with a clear answer for each problem, and the stored request with its plan.
 */
import { GetGroupCommand, GetUserCommand } from '@aws-sdk/client-iam';
import { HOME } from '../../aws/accounts.js';
import { durationMs } from '../../config.js';
import type { Deps } from '../../deps.js';
import { BotError, ValidationError } from '../../errors.js';
import { CHANGE_RULES, type ChangeKind } from '../../kinds/change-rules.js';
import { temporaryGroupsOf } from '../../kinds/temporary-membership/active.js';
import { breakGlassProblem, checkBreakGlass } from '../../kinds/temporary-membership/break-glass.js';
import type { AccessRequest } from '../../store/requests.js';
import type { PlanStep } from '../plans/types.js';
import { errorName } from '../provisioning.js';
import { reasonProblem } from '../reason-rules.js';
import { MAX_GROUPS_PER_USER, MAX_JUSTIFICATION } from '../request-validation.js';
import { newRequest, submitNew } from '../requests/submit.js';
import { approvalRule, auditEvent, isAmong, type RequestDeps, type SubmitOptions } from '../requests.js';
import { requireFullMember } from '../slack-members.js';
import { isManagedUserPath, managedPaths } from './run-change.js';
import { ownerIn, readUserState } from './user-state.js';

export type { ChangeKind } from '../../kinds/change-rules.js';

/** A change as typed on the command line or in the form. */
export interface ChangeDraft {
  kind: ChangeKind;
  userName?: string;
  groups?: string[];
  /** set-owner: the Slack user id of the new owner. */
  newOwner?: string;
  account?: string;
  justification?: string;
  /** temporary-membership: how long (ms). */
  durationMs?: number;
  /** temporary-membership: break-glass, at once by the user's owner (src/kinds/temporary-membership/break-glass.ts). */
  breakGlass?: boolean;
}

/** A change that passed every check, with what IAM said of the user. */
export interface CheckedChange {
  kind: ChangeKind;
  userName: string;
  groups: string[];
  account: string;
  accountId: string;
  path: string;
  /** The user's owner now (its `slack-user-id` tag), if any. */
  owner?: string;
  newOwner?: string;
  justification: string;
  plan: PlanStep[];
  /** temporary-membership: how long (ms), within every group's `maxDuration`. */
  durationMs?: number;
  /** Break-glass: the groups allow it for that long (the requester's ownership is checked at submission). */
  breakGlass?: boolean;
}

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
): Promise<CheckedChange> {
  const { policy } = deps.config;
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
    const policyOf = new Map(policy.groups.map((g) => [g.name, g]));
    const chosen = groups.map((g) => policyOf.get(g)).filter((g) => g !== undefined);
    if (rules.time === 'for') {
      const ms = draft.durationMs ?? 0;
      const tooLong = chosen.filter((g) => ms > (durationMs(g.maxDuration) ?? 0));
      if (ms <= 0) problems.duration = 'Say for how long: `90m`, `4h` or `2d` (at most 30 days).';
      else if (tooLong.length)
        problems.duration = `${tooLong.map((g) => `${code(g.name)} is granted for at most ${g.maxDuration}`).join('; ')}: ask for less.`;
      else if (draft.breakGlass) {
        const glass = breakGlassProblem(policy, groups, ms);
        if (glass) problems.duration = glass;
      }
    } else if (rules.time === 'permanent') {
      const only = chosen.filter((g) => g.temporaryOnly);
      if (only.length)
        problems.groups = `${only.map((g) => code(g.name)).join(', ')} ${only.length > 1 ? 'are' : 'is'} granted only for a time: ask \`/iam add-to-group ${userName || '<user>'} ${only.map((g) => g.name).join(' ')} --for ${only[0]?.maxDuration ?? '4h'} --reason "..."\` instead.`;
    }
  }
  if (Object.keys(problems).length) throw invalid(problems);

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
    // a membership held for a time only may be asked for good (the grant's end then keeps it)
    const temporary =
      rules.time === 'permanent' && groups.some((g) => state.groups.includes(g))
        ? await temporaryGroupsOf(deps, account, userName)
        : new Set<string>();
    const already = groups.filter((g) => state.groups.includes(g) && !temporary.has(g));
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
  if (rules.names === 'new-owner' && draft.newOwner === owner)
    problems.newOwner = `<@${owner}> owns ${code(userName)} already.`;
  if (Object.keys(problems).length) throw invalid(problems);
  return {
    kind: draft.kind,
    userName,
    groups: rules.names === 'groups' ? groups : [],
    account,
    accountId,
    path,
    ...(owner ? { owner } : {}),
    ...(draft.newOwner ? { newOwner: draft.newOwner } : {}),
    justification,
    ...(rules.time === 'for' && draft.durationMs ? { durationMs: draft.durationMs } : {}),
    ...(rules.time === 'for' && draft.breakGlass ? { breakGlass: true } : {}),
    plan: rules.plan({
      userName,
      groups,
      ...(draft.newOwner ? { newOwner: draft.newOwner } : {}),
      ...(owner ? { owner } : {}),
    }),
  };
}

const invalid = (problems: Record<string, string>) => new ValidationError(Object.values(problems).join('\n'), problems);

/**
 * Who may have a change its kind allows at once (a removal: CHANGE_RULES `atOnce`) done without approval: the user's
 * owner, or an approver of every one of the groups. Returns the reason, or undefined when it needs approval.
 */
async function doneAtOnceFor(
  deps: Pick<Deps, 'config' | 'messenger'>,
  change: CheckedChange,
  requester: string,
): Promise<'owner' | 'group-approver' | undefined> {
  if (change.owner === requester) return 'owner';
  const rule = approvalRule(deps.config.policy, change.groups, change.kind);
  for (const g of rule.groups) if (!(await isAmong(deps, g.approvers, requester))) return undefined;
  return 'group-approver';
}

export type ChangeOutcome =
  | { request: AccessRequest; atOnce: false }
  | { request: AccessRequest; atOnce: 'owner' | 'group-approver' | 'break-glass' };

/**
 * Submits a checked change through the one submit path (submitNew): stored with its audit event, then handed to
 * the worker to be posted for approval (after its new owner is checked against Slack), or (a removal by the user's
 * owner or an approver of its groups) to run at once, still as a request with its audit trail.
 */
export async function submitChangeRequest(
  deps: RequestDeps & Pick<Deps, 'messenger'>,
  requester: string,
  change: CheckedChange,
  options: SubmitOptions = {},
): Promise<ChangeOutcome> {
  if (change.breakGlass) {
    checkBreakGlass(deps.config.policy, change, requester);
    await requireFullMember(deps, requester, 'break glass');
  }
  const atOnce = change.breakGlass
    ? 'break-glass'
    : CHANGE_RULES[change.kind].atOnce
      ? await doneAtOnceFor(deps, change, requester)
      : undefined;
  const request = newRequest(
    deps,
    requester,
    {
      kind: change.kind,
      plan: change.plan,
      ...(change.owner ? { owner: change.owner } : {}),
      recipient: change.newOwner ?? change.owner ?? requester,
      account: change.account,
      accountId: change.accountId,
      userName: change.userName,
      path: change.path,
      groups: change.groups,
      accessType: 'keys', // create-user's field; a change mints no credentials
      tags: [],
      justification: change.justification,
      ...(change.durationMs
        ? { grant: { durationMs: change.durationMs, extensions: 0, ...(change.breakGlass ? { breakGlass: {} } : {}) } }
        : {}),
    },
    atOnce ? 'approved' : 'pending',
  );
  const requested = auditEvent(deps, request, requester, 'requested', {
    kind: change.kind,
    userName: change.userName,
    account: change.account,
    groups: change.groups,
    owner: change.owner ?? null,
    newOwner: change.newOwner ?? null,
    plan: change.plan.map((s) => JSON.stringify(s)),
    ...(change.durationMs ? { durationMs: change.durationMs } : {}),
    ...(change.breakGlass ? { breakGlass: true } : {}),
    channel: options.channel ?? null,
    ...(atOnce ? { allowedAtOnce: atOnce } : {}),
  });
  await submitNew(deps, request, requested, options);
  return atOnce ? { request, atOnce } : { request, atOnce: false };
}
