/** The worker's side of `/iam reissue` (see reissue.ts). */
import { CreateAccessKeyCommand, DeleteAccessKeyCommand } from '@aws-sdk/client-iam';
import { rotationStartedMessage } from '../../blocks/rotation.js';
import type { Deps } from '../../deps.js';
import { logger } from '../../logger.js';
import { deleteCredentialSecret } from '../credential-secrets.js';
import { deliverCredentials } from '../credentials.js';
import { errorName } from '../provisioning.js';
import { auditSubject, tell } from '../requests.js';
import { UNRECEIVED } from './reissue.js';
import { withRotation } from './rotate-key.js';

const DAY = 86_400_000;

/**
 * Replaces the undelivered credentials of a request for the issue it was asked for (a duplicated delivery or a
 * later issue is skipped): retires the unopened link (its secret deleted), deletes the key it held, creates a fresh
 * key and delivers it by a new one-time link. A rotation starts its grace period again from the new delivery.
 * Returns what the approver is told.
 */
export async function reissueCredentials(
  deps: Deps,
  requestId: string,
  issue: number,
  approver: string,
): Promise<string> {
  const request = await deps.store.requests.get(requestId);
  if (!request || request.credentialIssue !== issue) return 'This reissue was replaced by a newer one.';
  const oldLink = request.linkId ? await deps.store.links.getByLinkId(request.linkId) : undefined;
  if (oldLink?.deliveryKey === `reissue:${request.id}:${issue}`) return 'Done already: the new link is out.';
  if (request.linkOpened?.linkId === request.linkId || (oldLink && !UNRECEIVED.includes(oldLink.status)))
    return 'The link was opened meanwhile: nothing was reissued.';
  const record = (action: string, detail: Record<string, string | number | null>) =>
    deps.store.audit.record({
      subject: auditSubject(request.id),
      at: deps.clock.now(),
      actor: approver,
      action,
      detail,
    });
  const { iam } = deps.aws.account(request.account);
  const undelivered = request.kind === 'rotate-key' ? request.rotation?.newKeyId : oldLink?.accessKeyId;
  if (oldLink) {
    const retired = await deps.store.links.transition(oldLink.id, ['pending', 'expired'], {
      status: 'superseded',
      sweepAt: deps.clock.now().getTime(),
    });
    if (retired || oldLink.status === 'superseded') {
      await deleteCredentialSecret(await deps.aws.secrets(), oldLink.secretName).catch((e: unknown) =>
        logger.error('Could not delete a reissued link secret; the sweep retries', { errorName: errorName(e) }),
      );
    } else return 'The link was opened meanwhile: nothing was reissued.';
  }
  if (undelivered) {
    await iam
      .send(new DeleteAccessKeyCommand({ UserName: request.userName, AccessKeyId: undelivered }))
      .catch((e: unknown) => {
        if (errorName(e) !== 'NoSuchEntity') throw e;
      });
    await record('reissue.undelivered-key-deleted', { accessKeyId: undelivered });
  }
  const out = await iam.send(new CreateAccessKeyCommand({ UserName: request.userName }));
  const key = out.AccessKey;
  if (!key?.AccessKeyId || !key.SecretAccessKey) throw new Error('CreateAccessKey returned no key');
  const delivered = await deliverCredentials(deps, {
    deliveryKey: `reissue:${request.id}:${issue}`,
    requestId: request.id,
    recipientSlackId: request.recipient,
    requesterSlackId: request.requester,
    approverSlackIds: [...request.approvals.map((a) => a.user), approver],
    account: request.account,
    purpose: `New access key for IAM user ${request.userName} (reissued: the first link was never opened)`,
    bundle: {
      accountId: request.accountId,
      region: deps.config.env.AWS_REGION,
      userName: request.userName,
      accessKey: { accessKeyId: key.AccessKeyId, secretAccessKey: key.SecretAccessKey },
    },
  });
  const now = deps.clock.now();
  const graceEndsAt = new Date(now.getTime() + deps.config.policy.keys.rotationGraceDays * DAY).toISOString();
  const next = await deps.store.requests.update(
    request,
    {
      linkId: delivered.linkId,
      ...(request.kind === 'rotate-key'
        ? {
            rotation: withRotation(request, {
              newKeyId: key.AccessKeyId,
              phase: 'grace',
              deliveredAt: now.toISOString(),
              graceEndsAt,
              nextAt: now.toISOString(),
              linkExpiresAt: delivered.expiresAt.toISOString(),
            }),
          }
        : {}),
    },
    now,
  );
  if (!next) throw new Error(`Request ${request.id} changed while its credentials were reissued`);
  await record('reissued', { accessKeyId: key.AccessKeyId, linkId: delivered.linkId, issue });
  if (next.kind === 'rotate-key') await tell(deps, next.recipient, next, rotationStartedMessage(next));
  return `Sent <@${request.recipient}> a new one-time link for \`${request.userName}\` (new key \`${key.AccessKeyId}\`); the undelivered ${undelivered ? `key \`${undelivered}\`` : 'link'} is gone.`;
}
