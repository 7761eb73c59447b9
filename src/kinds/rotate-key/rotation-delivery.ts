/**
 * A key rotation on the resumable runner (issue 18: every kind on one runner): the `provision` job runs it and the
 * runner's sweep resumes it, and wakes it when its life waits (src/services/runner/kinds.ts). This file is its
 * delivery; its weeks-long life after the delivery's commit (grace period, deactivation, reactivation, deletion,
 * cancellation: rotation-life.ts) is the run's tail, added by `tell-end` once the key is delivered.
 *
 * The plan: `tell-start` (notify: the approval message, and the requester when the run was announced), `check`
 * (gate: today's policy, the user, the old key, room for a new key; it adds the steps below only when the rotation
 * may go on), `delete-inactive` (op: the inactive key the requester chose to delete first), `new-key` (deliver:
 * mint, store and DM as one step; its checkpoint records the key and the link, never the secret), `commit`, then
 * `tell-end` (notify, after the commit: the approval message; then one notify step per post: the owner's "new key
 * delivered", or the approval channel's notice of a policy refusal, the requester's and the approvers' DMs; then,
 * when delivered, the life's first step, `grace`). Each
 * step's checkpoint is written with its audit event, so a part killed at any call resumes at the step it was in, and
 * a message goes out twice only when a part died between it and its checkpoint.
 */
import {
  CreateAccessKeyCommand,
  DeleteAccessKeyCommand,
  GetUserCommand,
  ListAccessKeysCommand,
} from '@aws-sdk/client-iam';
import { HOME } from '../../aws/accounts.js';
import { rotationStartedMessage } from '../../blocks/rotation.js';
import type { Deps } from '../../deps.js';
import { ConflictError } from '../../errors.js';
import { logger } from '../../logger.js';
import { deliverCredentials, settleDelivery } from '../../services/credentials.js';
import { errorName, type IamSender } from '../../services/provisioning.js';
import {
  abandonAtFrom,
  syncApprovalMessage,
  tell,
  tellApproversOfFailure,
  tellRequester,
} from '../../services/requests.js';
import type { AuditDetail, RequestChanges, RunKind, StepOutcome } from '../../services/runner/types.js';
import { userChanged } from '../../services/user-changes.js';
import { isManagedPath, managedUserPaths } from '../../services/user-projection.js';
import type { AccessRequest, RotationState, RunStep } from '../../store/requests.js';
import { withRotation } from './rotation.js';
import { describeLife, LIFE_OPS, lifeStep, lifeSteps } from './rotation-life.js';

const DAY = 86_400_000;

interface KeyInfo {
  id: string;
  active: boolean;
}

async function listKeys(iam: IamSender, userName: string): Promise<KeyInfo[]> {
  const out = await iam.send(new ListAccessKeysCommand({ UserName: userName }));
  return (out.AccessKeyMetadata ?? []).map((k: { AccessKeyId?: string; Status?: string }) => ({
    id: k.AccessKeyId ?? '',
    active: k.Status === 'Active',
  }));
}

/** The delivery key of a rotation's new key: one per key, so that a replaced key's delivery is settled on its own. */
const deliveryKey = (request: AccessRequest, keyId: string) => `rotate:${request.id}:${keyId}`;

/** Keys this rotation made itself (its recorded new key, or one made but never recorded): not the user's own. */
function ownKeys(rot: RotationState, keys: KeyInfo[]): KeyInfo[] {
  const before = rot.keysBefore;
  return keys.filter((k) => k.id === rot.newKeyId || (before !== undefined && !before.includes(k.id)));
}

/** Why a rotation may not go on: what today's policy no longer allows (`violations`), or what IAM says. */
interface Refusal {
  detail: string;
  violations?: string[];
}

const policyRefusal = (violations: string[]): Refusal => ({
  detail: `refused: the policy no longer allows it (${violations.join('; ')})`,
  violations,
});

/** Today's policy and IAM, before any IAM write: why the rotation may not go on, or undefined. Reads only. */
async function checkNow(deps: Deps, request: AccessRequest): Promise<Refusal | undefined> {
  const { policy } = deps.config;
  const rot = request.rotation as RotationState;
  if (request.account !== HOME && !policy.accounts.some((a) => a.name === request.account))
    return policyRefusal([`account ${request.account} is not in the policy any more`]);
  const { iam } = deps.aws.account(request.account);
  let path: string;
  try {
    path = (await iam.send(new GetUserCommand({ UserName: request.userName }))).User?.Path ?? '/';
  } catch (error) {
    if (errorName(error) === 'NoSuchEntity')
      return { detail: `refused: IAM user ${request.userName} no longer exists` };
    throw error;
  }
  if (!isManagedPath(managedUserPaths(policy), path))
    return policyRefusal([`user path ${path} is not among the policy's managed paths`]);
  const all = await listKeys(iam, request.userName);
  const own = ownKeys(rot, all);
  const keys = all.filter((k) => !own.includes(k));
  const old = keys.find((k) => k.id === rot.oldKeyId);
  if (!old?.active) return { detail: `refused: key ${rot.oldKeyId} is ${old ? 'inactive' : 'gone'} now` };
  const chosen = rot.deleteFirst ? keys.find((k) => k.id === rot.deleteFirst) : undefined;
  if (chosen?.active) return { detail: `refused: key ${chosen.id} is active again; it is not deleted` };
  if (keys.filter((k) => k.id !== chosen?.id).length >= 2)
    return { detail: 'refused: the user has two keys again; no room for a new one' };
  return undefined;
}

/**
 * The `new-key` step: mints the new key, stores its secret and DMs its one-time link, idempotently. A key an earlier
 * part made is kept when its link went out (settleDelivery), else its link is retired and its secret deleted before
 * the key is deleted; a key made but never recorded (not among `keysBefore`) is deleted. The two writes it makes
 * itself (`keysBefore` before CreateAccessKey, `newKeyId` right after) let a resumed part recognise its key.
 */
async function newKey(deps: Deps, request: AccessRequest): Promise<StepOutcome> {
  const rot = request.rotation as RotationState;
  const { iam } = deps.aws.account(request.account);
  const all = await listKeys(iam, request.userName);
  const delivered = (keyId: string, linkId: string, expiresAt: Date, detail?: string): StepOutcome => ({
    result: 'done',
    ...(detail ? { detail } : {}),
    data: { newKeyId: keyId, linkId },
    changes: (r) => ({
      linkId,
      rotation: withRotation(r, { newKeyId: keyId, linkExpiresAt: expiresAt.toISOString() }),
    }),
  });
  const earlier = rot.newKeyId && all.some((k) => k.id === rot.newKeyId) ? rot.newKeyId : undefined;
  if (earlier) {
    const settled = await settleDelivery(deps, deliveryKey(request, earlier));
    if (settled.state === 'busy') throw new ConflictError('The new key is being delivered right now; try again later.');
    if (settled.state === 'delivered')
      return delivered(earlier, settled.linkId, settled.expiresAt, 'delivered by an earlier part');
  }
  // Keys an earlier part made and did not deliver (recorded, or made but never recorded): deleted, and named in this
  // step's audit event, so that the audit shows the recovery.
  const replaced = ownKeys(rot, all).map((k) => k.id);
  for (const id of replaced) {
    await iam
      .send(new DeleteAccessKeyCommand({ UserName: request.userName, AccessKeyId: id }))
      .catch((error: unknown) => {
        if (errorName(error) !== 'NoSuchEntity') throw error;
      });
  }
  const keys = all.filter((k) => !ownKeys(rot, all).includes(k));
  const checkpoint = await deps.store.requests.update(
    request,
    { rotation: withRotation(request, { keysBefore: keys.map((k) => k.id) }, ['newKeyId']) },
    deps.clock.now(),
  );
  if (!checkpoint) throw new Error(`Request ${request.id} changed while its new key was made`);
  const out = await iam.send(new CreateAccessKeyCommand({ UserName: request.userName }));
  const key = out.AccessKey;
  if (!key?.AccessKeyId || !key.SecretAccessKey) throw new Error('CreateAccessKey returned no key');
  const keyId = key.AccessKeyId;
  const stored = await deps.store.requests.update(
    checkpoint,
    { rotation: withRotation(checkpoint, { newKeyId: keyId }) },
    deps.clock.now(),
  );
  if (!stored) throw new Error(`Request ${request.id} changed while its new key was made`);
  try {
    const link = await deliverCredentials(deps, {
      deliveryKey: deliveryKey(request, keyId),
      requestId: request.id,
      recipientSlackId: request.recipient,
      requesterSlackId: request.requester,
      approverSlackIds: request.approvals.map((a) => a.user),
      account: request.account,
      purpose: `New access key for IAM user ${request.userName} (rotation of ${rot.oldKeyId})`,
      bundle: {
        accountId: request.accountId,
        region: deps.config.env.AWS_REGION,
        userName: request.userName,
        accessKey: { accessKeyId: keyId, secretAccessKey: key.SecretAccessKey },
      },
    });
    const detail = replaced.length ? `replaced ${replaced.join(', ')} (made by an earlier part, never delivered)` : '';
    return delivered(keyId, link.linkId, link.expiresAt, detail);
  } catch (error) {
    await iam.send(new DeleteAccessKeyCommand({ UserName: request.userName, AccessKeyId: keyId })).catch((e: unknown) =>
      logger.error('Could not delete an undelivered rotation key', {
        requestId: request.id,
        errorName: errorName(e),
      }),
    );
    return { result: 'failed', detail: `delivering the new key failed (${errorName(error)}); the new key was deleted` };
  }
}

async function step(deps: Deps, request: AccessRequest, s: RunStep): Promise<StepOutcome> {
  const rot = request.rotation as RotationState;
  if (LIFE_OPS.includes(s.op)) return lifeStep(deps, request, s);
  switch (s.op) {
    case 'tell-start':
      await syncApprovalMessage(deps, request);
      if (s.args.announce === 'yes') await tellRequester(deps, request);
      return { result: 'done' };
    case 'check': {
      const refused = await checkNow(deps, request);
      if (refused?.violations) {
        logger.warn('Rotation refused under the current policy', {
          requestId: request.id,
          violations: refused.violations,
        });
        return { result: 'failed', detail: refused.detail, data: { violations: refused.violations } };
      }
      if (refused) return { result: 'failed', detail: refused.detail };
      const then: RunStep[] = [
        ...(rot.deleteFirst
          ? [{ t: 'op' as const, op: 'delete-inactive', args: { userName: request.userName, keyId: rot.deleteFirst } }]
          : []),
        { t: 'deliver', op: 'new-key', args: { userName: request.userName } },
      ];
      return { result: 'done', then };
    }
    case 'delete-inactive': {
      const { iam } = deps.aws.account(request.account);
      const chosen = (await listKeys(iam, request.userName)).find((k) => k.id === s.args.keyId);
      if (!chosen) return { result: 'skipped', detail: 'already gone' };
      if (chosen.active) return { result: 'failed', detail: `refused: key ${chosen.id} is active again` };
      await iam.send(new DeleteAccessKeyCommand({ UserName: request.userName, AccessKeyId: chosen.id }));
      return { result: 'done' };
    }
    case 'new-key':
      return newKey(deps, request);
    case 'tell-end':
      return finish(deps, request);
    case 'tell-owner':
      await tell(deps, request.recipient, request, rotationStartedMessage(request));
      return { result: 'done' };
    case 'tell-channel':
      await tellChannelOfRefusal(deps, request, s.args.violations ?? '');
      return { result: 'done' };
    case 'tell-requester':
      await tellRequester(deps, request);
      return { result: 'done' };
    case 'tell-approvers':
      await tellApproversOfFailure(deps, request);
      return { result: 'done' };
    default:
      throw new Error(`A key rotation's delivery has no step ${s.op}`);
  }
}

const refusalOf = (request: AccessRequest) =>
  request.run?.steps.find((s) => s.op === 'check' && s.result === 'failed' && Array.isArray(s.data?.violations));
const listOf = (value: unknown): string[] => (Array.isArray(value) ? value.map(String) : []);

/**
 * After the commit: the user projection (done) and the approval message; then one step per post, each recorded by
 * its own checkpoint: the owner's "new key delivered" (done), the approval channel (a policy refusal), the requester
 * (when not the owner, or a failure), the approvers (a failure: they get Retry).
 */
async function finish(deps: Deps, request: AccessRequest): Promise<StepOutcome> {
  if (request.status === 'done') await userChanged(deps, request.account, request.userName, { requestId: request.id });
  await syncApprovalMessage(deps, request);
  const refusal = refusalOf(request);
  const notify = (op: string, args: Record<string, string> = {}): RunStep => ({ t: 'notify', op, args });
  const then: RunStep[] =
    request.status === 'done'
      ? [
          notify('tell-owner'),
          ...(request.requester !== request.recipient ? [notify('tell-requester')] : []),
          ...lifeSteps(request.rotation as RotationState),
        ]
      : [
          ...(refusal ? [notify('tell-channel', { violations: listOf(refusal.data?.violations).join('; ') })] : []),
          notify('tell-requester'),
          notify('tell-approvers'),
        ];
  return { result: 'done', then };
}

/** The approval channel's notice of a rotation refused under the current policy. A Slack failure is logged. */
async function tellChannelOfRefusal(deps: Deps, request: AccessRequest, violations: string): Promise<void> {
  const channel = request.message?.channel ?? deps.config.policy.approvals.channel;
  await tell(deps, channel, request, {
    text: `:no_entry: I did not rotate access key \`${request.rotation?.oldKeyId ?? '?'}\` of IAM user \`${request.userName}\` (request \`${request.id}\`): the policy no longer allows it: ${violations}. Nothing was changed.`,
  });
}

function describe(s: RunStep): string {
  if (LIFE_OPS.includes(s.op)) return describeLife(s);
  switch (s.op) {
    case 'delete-inactive':
      return `DeleteAccessKey ${s.args.keyId} (inactive)`;
    case 'new-key':
      return `CreateAccessKey ${s.args.userName}`;
    case 'check':
      return 'check the rotation against the current policy and IAM';
    case 'tell-start':
      return 'show the rotation under way';
    case 'tell-end':
      return 'show the outcome';
    case 'tell-owner':
      return 'tell the owner the new key is out';
    case 'tell-channel':
      return 'tell the approval channel';
    case 'tell-requester':
      return 'tell the requester';
    case 'tell-approvers':
      return 'tell the approvers';
    default:
      return s.op;
  }
}

/** A rotation's delivery on the runner; its plan tells the requester at the start when the run was announced. */
export const rotationDeliveryRun: RunKind = {
  async plan(_deps, _request, options) {
    const steps: RunStep[] = [
      { t: 'notify', op: 'tell-start', args: options.announce ? { announce: 'yes' } : {} },
      { t: 'gate', op: 'check', args: {} },
      { t: 'commit', op: 'commit', args: {} },
      { t: 'notify', op: 'tell-end', args: {} },
    ];
    return { steps };
  },
  step,
  describe,
  commit(deps, request, failed): { changes: RequestChanges; audit: { action: string; detail: AuditDetail } } {
    const refusal = refusalOf(request);
    if (refusal) {
      const error = refusal.detail ?? 'refused';
      return {
        changes: { error, remaining: [], abandonAt: abandonAtFrom(deps) },
        audit: {
          action: 'provisioning-refused',
          detail: { violations: listOf(refusal.data?.violations).join('; ') },
        },
      };
    }
    if (failed.length) {
      const error = failed.map((s) => s.detail ?? `${describe(s)} failed`).join('; ');
      return {
        changes: { error, remaining: [], abandonAt: abandonAtFrom(deps) },
        audit: { action: 'provisioning-failed', detail: { error } },
      };
    }
    // The grace period starts with the delivery: the run's `grace` step (after the DMs) waits for it.
    const now = deps.clock.now();
    const graceEndsAt = new Date(now.getTime() + deps.config.policy.keys.rotationGraceDays * DAY).toISOString();
    const rotation = withRotation(
      request,
      {
        phase: 'grace',
        deliveredAt: now.toISOString(),
        graceEndsAt,
      },
      ['nextAt'],
    );
    return {
      changes: { rotation },
      audit: {
        action: 'rotation.key-delivered',
        detail: { newKeyId: rotation.newKeyId ?? null, linkId: request.linkId ?? null, graceEndsAt },
      },
    };
  },
  stopped(deps, _request, reason) {
    return { error: reason, remaining: [], abandonAt: abandonAtFrom(deps) };
  },
  async tellStopped(deps, request) {
    await syncApprovalMessage(deps, request);
    await tellRequester(deps, request);
    await tellApproversOfFailure(deps, request);
  },
};
