/**
 * rotate-key's checks (`/iam rotate-key <user> [key-id] [--account name]`): without the network
 * (checkRotationLocally, the Slack function's before it answers the command), against IAM (checkRotation), and the
 * worker's check of a rotation the command stored before asking IAM (verifyRotation, the kind's verify step). Reads
 * only. Imports nothing of the request life cycle (the kind module, loaded by the Slack function, imports it).
 */
import { ListAccessKeysCommand, ListUserTagsCommand } from '@aws-sdk/client-iam';
import { HOME } from '../../aws/accounts.js';
import { offerDeleteFirstMessage } from '../../blocks/rotation.js';
import { esc } from '../../blocks/text.js';
import type { Policy } from '../../config.js';
import type { Deps } from '../../deps.js';
import { BotError, ValidationError } from '../../errors.js';
import { accountAndUser } from '../../services/account-user.js';
import { isManagedUserPath } from '../../services/kinds/run-change.js';
import { OWNER_TAG, type PlanStep } from '../../services/plans/types.js';
import { errorName, type IamSender } from '../../services/provisioning.js';
import type { AccessRequest } from '../../store/requests.js';
import type { Verified, VerifyDeps } from '../types.js';

const code = (s: string) => `\`${s}\``;
const KEY_ID = /^[A-Z0-9]{16,128}$/;
const USER_NAME = /^[\w+=,.@-]{1,64}$/;

/** A rotation as typed: `/iam rotate-key <user> [key-id] [--account name]`, and the inactive key chosen for deletion. */
export interface RotationDraft {
  userName?: string;
  keyId?: string;
  account?: string;
  /** The inactive key the requester chose to delete first (the button). */
  deleteFirst?: string;
}

interface KeyInfo {
  id: string;
  active: boolean;
}

/** A rotation that passed every check. */
export interface CheckedRotation {
  userName: string;
  account: string;
  accountId: string;
  path: string;
  owner?: string;
  oldKeyId: string;
  deleteFirst?: string;
  plan: PlanStep[];
}

export type RotationCheck =
  | { kind: 'ok'; rotation: CheckedRotation }
  /** The user's other key is inactive: offer to delete it first (never without a click). */
  | { kind: 'offer-delete'; userName: string; account: string; keyId: string; inactiveKeyId: string };

const refuse = (message: string) => new ValidationError(message, { rotation: message });

async function listKeys(iam: IamSender, userName: string): Promise<KeyInfo[]> {
  const out = await iam.send(new ListAccessKeysCommand({ UserName: userName }));
  return (out.AccessKeyMetadata ?? []).map((k: { AccessKeyId?: string; Status?: string }) => ({
    id: k.AccessKeyId ?? '',
    active: k.Status === 'Active',
  }));
}

/**
 * Checks a rotation with no network call: the account is one of the policy's, the user name and the key id (when
 * named) have their forms. Returns the account and the user name. Throws ValidationError with the reason.
 */
export function checkRotationLocally(policy: Policy, draft: RotationDraft): { account: string; userName: string } {
  const account = draft.account ?? HOME;
  const userName = draft.userName?.trim() ?? '';
  if (account !== HOME && !policy.accounts.some((a) => a.name === account))
    throw refuse(`There is no account ${code(account)} in the policy.`);
  if (!USER_NAME.test(userName)) throw refuse('Name the IAM user whose key to rotate.');
  if (draft.keyId !== undefined && !KEY_ID.test(draft.keyId))
    throw refuse(`${code(draft.keyId)} is not an access key id (like \`AKIA...\`).`);
  return { account, userName };
}

/**
 * Checks a rotation before anything is stored: the user exists under a managed path, the key (named, or implied
 * when the user has one) is one of the user's and active, and there is room for a new key (IAM allows two): a second
 * key that is inactive is offered for deletion first, two active keys are refused naming the one to retire. Reads
 * only (GetUser, ListUserTags, ListAccessKeys). Throws ValidationError with the reason.
 */
export async function checkRotation(deps: Pick<Deps, 'config' | 'aws'>, draft: RotationDraft): Promise<RotationCheck> {
  const { policy } = deps.config;
  const { account, userName } = checkRotationLocally(policy, draft);
  const { iam } = deps.aws.account(account);
  const cannot = (what: string) => (error: unknown) => {
    throw new BotError(`I cannot ${what} in account ${account} (${errorName(error)}).`, { cause: error });
  };
  const { accountId, user } = await accountAndUser(deps, account, userName);
  if (!user) throw refuse(`There is no IAM user ${code(userName)} in ${account} (${accountId}).`);
  const path = user.Path ?? '/';
  if (!isManagedUserPath(policy, path))
    throw refuse(`IAM user ${code(userName)} is at path ${code(path)}, outside the paths the bot manages.`);
  const [keys, tags] = await Promise.all([
    listKeys(iam, userName).catch(cannot(`list the keys of ${userName}`)),
    iam.send(new ListUserTagsCommand({ UserName: userName })).catch(cannot(`read IAM user ${userName}`)),
  ]);
  const ownerTag = (tags.Tags ?? []).find((t: { Key?: string }) => t.Key === OWNER_TAG)?.Value;
  const owner = ownerTag && /^[UW][A-Z0-9]{2,}$/.test(ownerTag) ? ownerTag : undefined;
  const listing = keys.map((k) => `${code(k.id)} (${k.active ? 'active' : 'inactive'})`).join(' and ');
  if (draft.keyId && !keys.some((k) => k.id === draft.keyId))
    throw refuse(
      `${code(draft.keyId)} is not an access key of IAM user ${code(userName)}: I rotate only a key of the user named.`,
    );
  if (!keys.length) throw refuse(`IAM user ${code(userName)} has no access key to rotate.`);
  // No key named: the only key, or of two the only active one (the inactive one is then offered for deletion).
  const active = keys.filter((k) => k.active);
  const target = draft.keyId
    ? keys.find((k) => k.id === draft.keyId)
    : keys.length === 1
      ? keys[0]
      : active.length === 1
        ? active[0]
        : undefined;
  if (!target)
    throw refuse(
      `IAM user ${code(userName)} has two access keys, ${listing}: name the one to rotate (\`/iam rotate-key ${userName} <key-id>\`).`,
    );
  if (!target.active)
    throw refuse(`Access key ${code(target.id)} is inactive: there is nothing to rotate. Delete it instead.`);
  const other = keys.find((k) => k.id !== target.id);
  let deleteFirst: string | undefined;
  if (other?.active)
    throw refuse(
      `IAM user ${code(userName)} has two active access keys, ${listing}, and IAM allows no third. Retire ${code(other.id)} first (deactivate it, then delete it), then rotate ${code(target.id)}. Nothing was changed.`,
    );
  if (other) {
    if (draft.deleteFirst !== other.id)
      return { kind: 'offer-delete', userName, account, keyId: target.id, inactiveKeyId: other.id };
    deleteFirst = other.id;
  }
  const plan: PlanStep[] = [
    ...(deleteFirst ? [{ op: 'DeleteAccessKey' as const, userName, accessKeyId: deleteFirst }] : []),
    { op: 'CreateAccessKey', userName },
    { op: 'RotateOutAccessKey', userName, accessKeyId: target.id },
  ];
  return {
    kind: 'ok',
    rotation: {
      userName,
      account,
      accountId,
      path,
      ...(owner ? { owner } : {}),
      oldKeyId: target.id,
      ...(deleteFirst ? { deleteFirst } : {}),
      plan,
    },
  };
}

/** Errors of AWS that say the bot may not do something (its role lacks the permission, or cannot be assumed). */
const DENIED = new Set(['AccessDenied', 'AccessDeniedException', 'UnauthorizedOperation']);

/** What a requester reads when IAM refuses a rotation (the command's one answer). */
export const rotationRefusal = (message: string) => `I can't rotate that key:\n• ${esc(message)}`;

/**
 * The worker's check of a rotation `/iam rotate-key` stored before IAM was asked (RequestKindModule.verify; a
 * rotation that has its account id was checked before it was stored): IAM's answer (checkRotation) as the fields to
 * record (account id, path, owner, who gets the new key, the key to rotate, the plan), and `approved` when its
 * requester owns the user and the policy asks no approval for that (it then runs at once); or the refusal the
 * requester reads as the command's one answer: no such user, a user outside the managed paths, no key or the wrong
 * key, two active keys, an account the bot may not act in; or, for a second key that is inactive, the offer to delete
 * it first (a button). Changes nothing. Throws when IAM or the account cannot be reached for another reason (the job is
 * retried).
 */
export async function verifyRotation(deps: VerifyDeps, request: AccessRequest): Promise<Verified> {
  if (request.accountId) return {};
  const keyId = request.rotation?.oldKeyId || undefined;
  try {
    const check = await checkRotation(deps, {
      userName: request.userName,
      account: request.account,
      ...(keyId ? { keyId } : {}),
    });
    if (check.kind === 'offer-delete') {
      const value = JSON.stringify({ u: check.userName, a: check.account, k: check.keyId, d: check.inactiveKeyId });
      const offer = offerDeleteFirstMessage(check.userName, check.keyId, check.inactiveKeyId, value);
      return { refusal: { code: 'inactive key offered for deletion', ...offer } };
    }
    const r = check.rotation;
    const atOnce = r.owner === request.requester && !deps.config.policy.keys.rotationNeedsApproval;
    return {
      fields: {
        accountId: r.accountId,
        path: r.path,
        ...(r.owner ? { owner: r.owner } : {}),
        recipient: r.owner ?? request.requester,
        plan: r.plan,
        justification: `Rotate access key ${r.oldKeyId}`,
        rotation: { ...request.rotation, oldKeyId: r.oldKeyId },
      },
      // The requester owns the user: no approval; the worker records it approved and starts it (runAtOnce).
      ...(atOnce
        ? {
            atOnce: {
              allowed: 'owner',
              answer: rotationAtOnceAnswer(
                { ...request, rotation: { ...request.rotation, oldKeyId: r.oldKeyId } },
                deps.config.policy,
              ),
            },
          }
        : {}),
    };
  } catch (error) {
    if (error instanceof ValidationError)
      return { refusal: { code: 'refused by IAM', text: rotationRefusal(error.message) } };
    if (error instanceof BotError && DENIED.has(errorName(error.cause)))
      return { refusal: { code: 'cannot act', text: `${esc(error.message)} Nothing was changed.` } };
    throw error;
  }
}

/** The command's one answer when the worker found that the requester owns the user (no approval needed). */
export function rotationAtOnceAnswer(request: AccessRequest, policy: Policy): string {
  return `Rotation \`${request.id}\` of access key \`${request.rotation?.oldKeyId ?? ''}\` of \`${esc(request.userName)}\`: you own this user, so it needs no approval. The new key comes by one-time link in a DM; the old key stays active for ${policy.keys.rotationGraceDays} days.`;
}
