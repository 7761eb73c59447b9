import { GetGroupCommand, GetUserCommand } from '@aws-sdk/client-iam';
import { HOME } from '../aws/accounts.js';
import type { Policy } from '../config.js';
import type { Deps } from '../deps.js';
import { BotError, ValidationError } from '../errors.js';
import type { AccessType, UserTag } from '../store/requests.js';
import { closestName } from './closest.js';
import { reasonProblem } from './reason-rules.js';
import { nameConflict } from './request-names.js';

/** A create-user request as typed in the form or on the command line; anything may be missing or wrong. */
export interface CreateUserDraft {
  userName?: string;
  /** Slack user id; default: the requester. */
  recipient?: string;
  accessType?: AccessType;
  groups?: string[];
  account?: string;
  /** `key=value` entries, one per line (commas separate too). */
  tags?: string;
  justification?: string;
}

export type DraftField = keyof CreateUserDraft;

/** A draft that passed every check, including IAM's. */
export interface CheckedDraft {
  userName: string;
  recipient: string;
  accessType: AccessType;
  groups: string[];
  account: string;
  accountId: string;
  tags: UserTag[];
  justification: string;
}

/** Tags the bot sets itself on every user it creates; a request cannot set them. */
export const BOT_TAGS = ['requested-by', 'approved-by', 'slack-user-id', 'request-id'];

const USER_NAME = /^[\w+=,.@-]{1,64}$/;
const SLACK_USER = /^[UW][A-Z0-9]{2,}$/;
const TAG_KEY = /^[\p{L}\p{Z}\p{N}_.:/=+\-@]{1,128}$/u;
const TAG_VALUE = /^[\p{L}\p{Z}\p{N}_.:/=+\-@]{0,256}$/u;
/** Longest justification: the approval message shows all of it. */
export const MAX_JUSTIFICATION = 1000;
/** IAM's limit on the groups one user can be a member of. */
export const MAX_GROUPS_PER_USER = 10;
export const ACCESS_TYPES: readonly AccessType[] = ['keys', 'console', 'both'];

/** Parses `key=value` entries (lines or commas) into IAM tags, or says what is wrong with them. */
export function parseTags(text: string | undefined): { tags: UserTag[]; problem?: string } {
  const tags: UserTag[] = [];
  const entries = (text ?? '')
    .split(/[\n,]/)
    .map((e) => e.trim())
    .filter(Boolean);
  for (const entry of entries) {
    const eq = entry.indexOf('=');
    const key = (eq < 0 ? entry : entry.slice(0, eq)).trim();
    const value = eq < 0 ? '' : entry.slice(eq + 1).trim();
    if (eq < 0) return { tags, problem: `\`${entry}\` is not key=value` };
    if (!TAG_KEY.test(key) || key.toLowerCase().startsWith('aws:'))
      return { tags, problem: `\`${key}\` is not a valid tag key (1-128 letters, digits, spaces, _.:/=+-@; not aws:)` };
    if (!TAG_VALUE.test(value))
      return { tags, problem: `the value of \`${key}\` may only hold letters, digits, spaces and _.:/=+-@` };
    if (BOT_TAGS.includes(key.toLowerCase())) return { tags, problem: `\`${key}\` is set by the bot itself` };
    if (tags.some((t) => t.key.toLowerCase() === key.toLowerCase()))
      return { tags, problem: `\`${key}\` is given twice` };
    tags.push({ key, value });
  }
  if (tags.length > 50 - BOT_TAGS.length) return { tags, problem: `at most ${50 - BOT_TAGS.length} tags` };
  return { tags };
}

/** Whether the draft holds everything a request needs (the inline form then skips the modal). */
export function isDraftComplete(policy: Policy, draft: CreateUserDraft): boolean {
  return Boolean(
    draft.userName &&
      draft.accessType &&
      draft.groups?.length &&
      draft.justification?.trim() &&
      (policy.accounts.length === 0 || draft.account),
  );
}

/** The groups a request may ask for, named when they are few enough to read in a reply. */
const allowedGroups = (allowed: string[]) =>
  allowed.length === 0
    ? 'Allowed: none.'
    : allowed.length <= 20
      ? `Allowed: ${allowed.join(', ')}.`
      : `The form lists the ${allowed.length} groups allowed.`;

/** " Did you mean `x`?" for each mistyped group that is close to an allowed one (pure; closest.ts is too). */
const didYouMean = (typed: string[], allowed: string[]) =>
  typed
    .map((g) => [g, closestName(g, allowed)] as const)
    .filter(([, near]) => near)
    .map(([g, near]) => ` Did you mean \`${near}\` for \`${g}\`?`)
    .join('');

/** Checks that need no network: names, policy membership, tags, justification. */
function checkLocally(policy: Policy, requester: string, draft: CreateUserDraft) {
  const problems: Partial<Record<DraftField, string>> = {};
  const userName = draft.userName?.trim() ?? '';
  if (!userName) problems.userName = 'Give the IAM user a name.';
  else if (!USER_NAME.test(userName))
    problems.userName = `\`${userName}\` is not a valid IAM user name: 1 to 64 letters, digits and + = , . @ _ -`;

  const recipient = draft.recipient || requester;
  if (!SLACK_USER.test(recipient)) problems.recipient = 'Pick the Slack user who will receive the credentials.';

  const accessType = draft.accessType;
  if (!accessType || !ACCESS_TYPES.includes(accessType))
    problems.accessType = 'Choose an access key, a console password, or both.';

  const groups = [...new Set((draft.groups ?? []).map((g) => g.trim()).filter(Boolean))];
  const allowed = policy.groups.map((g) => g.name);
  const notAllowed = groups.filter((g) => !allowed.includes(g));
  if (groups.length === 0) problems.groups = 'Choose at least one group.';
  else if (groups.length > MAX_GROUPS_PER_USER)
    problems.groups = `Choose at most ${MAX_GROUPS_PER_USER} groups: IAM puts a user in no more (you chose ${groups.length}).`;
  else if (notAllowed.length)
    problems.groups = `${notAllowed.map((g) => `\`${g}\``).join(', ')} ${notAllowed.length === 1 ? 'is not a group' : 'are not groups'} the policy lets me grant.${didYouMean(notAllowed, allowed)} ${allowedGroups(allowed)}`;

  const accountNames = [HOME, ...policy.accounts.map((a) => a.name)];
  const account = draft.account?.trim() || (policy.accounts.length === 0 ? HOME : '');
  if (!account) problems.account = 'Choose the AWS account.';
  else if (!accountNames.includes(account))
    problems.account = `\`${account}\` is not an account I know. Accounts: ${accountNames.join(', ')}.`;

  const { tags, problem: tagProblem } = parseTags(draft.tags);
  if (tagProblem) problems.tags = `Tags: ${tagProblem}.`;

  const justification = draft.justification?.trim() ?? '';
  if (!justification) problems.justification = 'Say why this user is needed; approvers read it.';
  else if (justification.length > MAX_JUSTIFICATION)
    problems.justification = `Keep the justification under ${MAX_JUSTIFICATION} characters.`;
  else {
    const unmet = reasonProblem(policy, groups, justification);
    if (unmet) problems.justification = unmet;
  }

  return {
    problems,
    value: { userName, recipient, accessType: accessType as AccessType, groups, account, tags, justification },
  };
}

const isNoSuchEntity = (e: unknown) => /^NoSuchEntity/.test((e as Error)?.name ?? '');

function validationError(problems: Partial<Record<DraftField, string>>): ValidationError {
  const fields = Object.fromEntries(Object.entries(problems).filter(([, v]) => v)) as Record<string, string>;
  return new ValidationError(Object.values(fields).join('\n'), fields);
}

/** Why another request for this name stands in the way, or undefined. */
async function activeRequestFor(
  deps: Pick<Deps, 'store'>,
  account: string,
  userName: string,
): Promise<string | undefined> {
  const holder = await deps.store.requests.nameHolder(account, userName);
  const held = holder ? await deps.store.requests.get(holder) : undefined;
  return held ? nameConflict(held) : undefined;
}

/** What the target account says about a new user's name and groups (see accountFacts). */
interface AccountFacts {
  accountId: string;
  userTaken: boolean;
  missingGroups: string[];
}

/**
 * Asks the target account, in parallel, for its id (STS), whether `userName` exists and which of `groups` do not.
 * Throws BotError when the account cannot be reached or IAM cannot be read.
 */
async function accountFacts(
  deps: Pick<Deps, 'aws'>,
  account: string,
  userName: string | undefined,
  groups: string[],
): Promise<AccountFacts> {
  const { iam } = deps.aws.account(account);
  const where = `account ${account}`;
  const [identity, userTaken, missingGroups] = await Promise.all([
    deps.aws.callerIdentity(account).catch((error: unknown) => {
      throw new BotError(`I cannot act in ${where} (${(error as Error)?.name ?? 'error'}).`, { cause: error });
    }),
    userName === undefined
      ? false
      : iam.send(new GetUserCommand({ UserName: userName })).then(
          () => true,
          (error: unknown) => {
            if (isNoSuchEntity(error)) return false;
            throw new BotError(`I cannot check IAM users in ${where} (${(error as Error)?.name}).`, { cause: error });
          },
        ),
    Promise.all(
      groups.map((g) =>
        iam.send(new GetGroupCommand({ GroupName: g, MaxItems: 1 })).then(
          () => undefined,
          (error: unknown) => {
            if (isNoSuchEntity(error)) return g;
            throw new BotError(`I cannot check IAM groups in ${where} (${(error as Error)?.name}).`, { cause: error });
          },
        ),
      ),
    ).then((names) => names.filter((n): n is string => n !== undefined)),
  ]);
  return { accountId: identity.Account ?? '', userTaken, missingGroups };
}

const userExists = (account: string, accountId: string, userName: string) =>
  `An IAM user named \`${userName}\` already exists in ${account} (${accountId}).`;
const noGroups = (account: string, accountId: string, missing: string[]) =>
  `IAM in ${account} (${accountId}) has no group ${missing.map((g) => `\`${g}\``).join(', ')}.`;

/**
 * Checks a draft with no network call: IAM's naming rules, the policy (groups, accounts), tags and justification.
 * Returns it with an empty `accountId`: the target account is not asked yet (the user must not exist, every group
 * must), which the worker does before the request is posted (checkInAccount). Throws ValidationError with a message
 * per field (keys: DraftField).
 */
export function checkCreateUserDraftLocally(policy: Policy, requester: string, draft: CreateUserDraft): CheckedDraft {
  const { problems, value } = checkLocally(policy, requester, draft);
  if (Object.keys(problems).length) throw validationError(problems);
  return { ...value, accountId: '' };
}

/**
 * The target account's answer to a create-user request checked only locally (checkCreateUserDraftLocally): its
 * account id, or the problems that refuse it (the user exists, a group does not). Changes nothing. Throws BotError
 * when the account cannot be reached or IAM cannot be read (the caller retries).
 */
export async function checkInAccount(
  deps: Pick<Deps, 'aws'>,
  request: { account: string; userName: string; groups: string[] },
): Promise<{ accountId: string; problems: string[] }> {
  const facts = await accountFacts(deps, request.account, request.userName, request.groups);
  const problems = [
    ...(facts.userTaken ? [userExists(request.account, facts.accountId, request.userName)] : []),
    ...(facts.missingGroups.length ? [noGroups(request.account, facts.accountId, facts.missingGroups)] : []),
  ];
  return { accountId: facts.accountId, problems };
}

/**
 * Checks a draft against IAM's naming rules, the policy, and the target account (the user must not exist, every
 * group must), in parallel. Changes nothing. Throws ValidationError with a message per field (keys: DraftField),
 * or BotError when the account cannot be reached.
 */
export async function checkCreateUserDraft(
  deps: Pick<Deps, 'config' | 'aws' | 'store'>,
  requester: string,
  draft: CreateUserDraft,
): Promise<CheckedDraft> {
  const { problems, value } = checkLocally(deps.config.policy, requester, draft);
  if (problems.account) throw validationError(problems);
  const [facts, requestedBy] = await Promise.all([
    accountFacts(
      deps,
      value.account,
      problems.userName ? undefined : value.userName,
      problems.groups ? [] : value.groups,
    ),
    // Another request for the same name still under way (submission reserves the name race-free; this says it
    // early, on the form).
    problems.userName ? undefined : activeRequestFor(deps, value.account, value.userName),
  ]);
  const { accountId } = facts;
  if (facts.userTaken) problems.userName = userExists(value.account, accountId, value.userName);
  else if (requestedBy) problems.userName = requestedBy;
  if (facts.missingGroups.length) problems.groups = noGroups(value.account, accountId, facts.missingGroups);
  if (Object.keys(problems).length) throw validationError(problems);
  return { ...value, accountId };
}
