/** The worker's side of `/iam reissue` (see reissue.ts). */
import { CreateAccessKeyCommand, DeleteAccessKeyCommand, ListAccessKeysCommand } from '@aws-sdk/client-iam';
import type { Deps } from '../../deps.js';
import { kindOf } from '../../kinds/registry.js';
import type { ReissueHook } from '../../kinds/types.js';
import { logger } from '../../logger.js';
import type { AccessRequest, ReissueState } from '../../store/requests.js';
import { deleteCredentialSecret } from '../credential-secrets.js';
import { deliverCredentials } from '../credentials.js';
import { errorName } from '../provisioning.js';
import { auditEvent, auditSubject, tell } from '../requests.js';
import { UNRECEIVED } from './reissue.js';

const ignoreMissing = (e: unknown) => {
  if (errorName(e) !== 'NoSuchEntity' && errorName(e) !== 'NoSuchEntityException') throw e;
};

/** What the approver is told once the new link is out (the same words whichever attempt finished it). */
const sentText = (request: AccessRequest, newKeyId: string, undelivered: string | undefined) =>
  `Sent <@${request.recipient}> a new one-time link for \`${request.userName}\` (new key \`${newKeyId}\`); the undelivered ${undelivered ? `key \`${undelivered}\`` : 'link'} is gone.`;

/**
 * Replaces the undelivered credentials of a request for the issue it was asked for (a later issue is skipped):
 * retires the unopened link (its secret deleted), deletes the key it held, creates a fresh key and delivers it by a
 * new one-time link; what else changes with the new delivery, and who is told, is the kind's (its ReissueHook: a
 * rotation starts its grace period again and tells the owner). Returns what the approver is told.
 *
 * Safe to kill at any call and run again (Lambda's retry): each step is idempotent, and the request records, in
 * `reissue`, the user's keys just before CreateAccessKey and the new key as soon as IAM returns it. A resumed attempt
 * deletes a key an earlier one made but never delivered (recorded, or found among the user's keys and not among
 * those before: its secret is lost either way), and finishes a delivery an earlier one made (its link recorded on
 * the request, audited, the kind's people told) without making another. The recipient's DM is doubled only when
 * the kill falls between Slack's answer and the write recording the delivery; the first link is then retired.
 */
export async function reissueCredentials(
  deps: Deps,
  requestId: string,
  issue: number,
  approver: string,
): Promise<string> {
  let request = await deps.store.requests.get(requestId);
  if (!request || request.credentialIssue !== issue) return 'This reissue was replaced by a newer one.';
  const hook = kindOf(request).reissue;
  if (!hook) return 'This kind of request has no credentials to reissue.';
  const deliveryKey = `reissue:${request.id}:${issue}`;
  const mine = request.reissue?.issue === issue ? request.reissue : undefined;
  if (mine?.delivered) return finish(deps, hook, request, mine);
  const { iam } = deps.aws.account(request.account);

  // Delivered by an earlier attempt that died before recording it: that link stands.
  const sent = mine?.newKeyId ? await deps.store.links.deliveredLink(deliveryKey) : undefined;
  if (mine?.newKeyId && sent) return recordDelivery(deps, hook, request, mine, mine.newKeyId, sent, approver);

  const oldLink = request.linkId ? await deps.store.links.getByLinkId(request.linkId) : undefined;
  // Recorded before the request kept its reissue state (an item from before it): done.
  if (oldLink?.deliveryKey === deliveryKey) return sentText(request, oldLink.accessKeyId ?? '', undefined);
  if (request.linkOpened?.linkId === request.linkId || (oldLink && !UNRECEIVED.includes(oldLink.status)))
    return 'The link was opened meanwhile: nothing was reissued.';
  const subject = auditSubject(request.id);
  const record = (action: string, detail: Record<string, string | number | null>) =>
    deps.store.audit.record({
      subject,
      at: deps.clock.now(),
      actor: approver,
      action,
      detail,
    });
  const undelivered = mine ? mine.undelivered : hook.undeliveredKey(request, oldLink);
  if (oldLink) {
    const retired = await deps.store.links.transition(oldLink.id, ['pending', 'expired'], {
      status: 'superseded',
      sweepAt: deps.clock.now().getTime(),
    });
    if (retired || oldLink.status === 'superseded') {
      if (!oldLink.secretDeletedAt)
        await deleteCredentialSecret(await deps.aws.secrets(), oldLink.secretName).catch((e: unknown) =>
          logger.error('Could not delete a reissued link secret; the sweep retries', { errorName: errorName(e) }),
        );
    } else return 'The link was opened meanwhile: nothing was reissued.';
  }
  if (undelivered) {
    await iam
      .send(new DeleteAccessKeyCommand({ UserName: request.userName, AccessKeyId: undelivered }))
      .catch(ignoreMissing);
    await record('reissue.undelivered-key-deleted', { accessKeyId: undelivered });
  }

  // A key an earlier attempt of this issue made and never delivered: recorded as `newKeyId`, or (its write lost)
  // not among the keys checkpointed before CreateAccessKey. Its secret is gone: deleted, then a new one is made.
  const listed = await iam.send(new ListAccessKeysCommand({ UserName: request.userName }));
  let keys = (listed.AccessKeyMetadata ?? []).map((k) => k.AccessKeyId ?? '').filter((k) => k !== undelivered);
  const before = mine?.keysBefore;
  const leftOver = keys.filter((k) => k === mine?.newKeyId || (before !== undefined && !before.includes(k)));
  for (const key of leftOver) {
    await iam.send(new DeleteAccessKeyCommand({ UserName: request.userName, AccessKeyId: key })).catch(ignoreMissing);
    await record('reissue.unrecorded-key-deleted', { accessKeyId: key });
  }
  keys = keys.filter((k) => !leftOver.includes(k));

  // The checkpoint that lets a resumed attempt recognise a key this one creates but never records.
  const state: ReissueState = { issue, ...(undelivered ? { undelivered } : {}), keysBefore: keys };
  const checkpointed = await deps.store.requests.update(request, { reissue: state }, deps.clock.now());
  if (!checkpointed) throw new Error(`Request ${requestId} changed while its credentials were reissued`);
  request = checkpointed;
  const out = await iam.send(new CreateAccessKeyCommand({ UserName: request.userName }));
  const key = out.AccessKey;
  if (!key?.AccessKeyId || !key.SecretAccessKey) throw new Error('CreateAccessKey returned no key');
  const withKey = await deps.store.requests.update(
    request,
    { reissue: { ...state, newKeyId: key.AccessKeyId } },
    deps.clock.now(),
  );
  if (!withKey) throw new Error(`Request ${requestId} changed while its credentials were reissued`);
  request = withKey;
  const delivered = await deliverCredentials(deps, {
    deliveryKey,
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
  return recordDelivery(
    deps,
    hook,
    request,
    { ...state, newKeyId: key.AccessKeyId },
    key.AccessKeyId,
    { linkId: delivered.linkId, expiresAt: delivered.expiresAt.getTime() },
    approver,
  );
}

/**
 * Records a delivered reissue on the request (its new link, and what the kind records with a delivery, e.g. a
 * rotation's new key and grace period) with its `reissued` audit event, in one transaction; then finishes (see finish).
 */
async function recordDelivery(
  deps: Deps,
  hook: ReissueHook,
  request: AccessRequest,
  state: ReissueState,
  newKeyId: string,
  sent: { linkId: string; expiresAt: number },
  approver: string,
): Promise<string> {
  const now = deps.clock.now();
  const reissue: ReissueState = { ...state, newKeyId, delivered: true };
  const kindChanges = hook.delivered(request, {
    newKeyId,
    linkExpiresAt: new Date(sent.expiresAt),
    now,
    policy: deps.config.policy,
  });
  const next = await deps.store.requests.update(
    request,
    { ...kindChanges, linkId: sent.linkId, reissue },
    now,
    [],
    (n) => [
      deps.store.audit.transactionItem(
        auditEvent(deps, n, approver, 'reissued', { accessKeyId: newKeyId, linkId: sent.linkId, issue: state.issue }),
      ),
    ],
  );
  if (!next) throw new Error(`Request ${request.id} changed while its credentials were reissued`);
  return finish(deps, hook, next, reissue);
}

/**
 * The end of a recorded reissue: whoever the kind tells about a new delivery is told (once: recorded after the DMs,
 * as `told`), and the approver's answer.
 */
async function finish(deps: Deps, hook: ReissueHook, request: AccessRequest, state: ReissueState): Promise<string> {
  const told = state.told ? [] : hook.told(request);
  if (told.length) {
    for (const { to, message } of told) await tell(deps, to, request, message);
    const recorded = await deps.store.requests.update(request, { reissue: { ...state, told: true } }, deps.clock.now());
    if (!recorded) logger.warn('A reissued request changed before its DMs were recorded', { requestId: request.id });
  }
  return sentText(request, state.newKeyId ?? '', state.undelivered);
}
