/**
 * The worker's side of `/iam reissue` (see reissue.ts): the reissue's steps on the request's run (reissueSteps), for
 * every kind that declares a ReissueHook. The runner (src/services/runner/kinds.ts) hands them here whatever the
 * request's kind; what differs by kind is the hook's.
 */
import { CreateAccessKeyCommand, DeleteAccessKeyCommand, ListAccessKeysCommand } from '@aws-sdk/client-iam';
import type { Deps } from '../../deps.js';
import { kindOf } from '../../kinds/registry.js';
import type { ReissueHook } from '../../kinds/types.js';
import { logger } from '../../logger.js';
import type { AccessRequest, ReissueState, RunStep } from '../../store/requests.js';
import { deleteCredentialSecret } from '../credential-secrets.js';
import { completedDelivery, deliverCredentials } from '../credentials.js';
import { errorName } from '../provisioning.js';
import { auditSubject } from '../requests.js';
import type { StepOutcome } from '../runner/types.js';
import { REISSUE_OPS, UNRECEIVED } from './reissue.js';

const ignoreMissing = (e: unknown) => {
  if (errorName(e) !== 'NoSuchEntity' && errorName(e) !== 'NoSuchEntityException') throw e;
};

/** What the approver is told once the new link is out (the same words whichever attempt finished it). */
const sentText = (request: AccessRequest, newKeyId: string, undelivered: string | undefined) =>
  `Sent <@${request.recipient}> a new one-time link for \`${request.userName}\` (new key \`${newKeyId}\`); the undelivered ${undelivered ? `key \`${undelivered}\`` : 'link'} is gone.`;

/** Why the deliver step did nothing (its `detail`), and what the approver is told then. */
const NOTHING = {
  replaced: 'replaced by a newer reissue',
  opened: 'link opened meanwhile',
  none: 'no reissue for this kind',
} as const;
const NOTHING_TEXT: Record<string, string> = {
  [NOTHING.replaced]: 'This reissue was replaced by a newer one.',
  [NOTHING.opened]: 'The link was opened meanwhile: nothing was reissued.',
  [NOTHING.none]: 'This kind of request has no credentials to reissue.',
};

/** Whether a step of a run is one of a reissue's (reissueSteps). */
export const isReissueStep = (step: RunStep): boolean => (Object.values(REISSUE_OPS) as string[]).includes(step.op);

/** One line for the audit trail. */
export function describeReissueStep(step: RunStep): string {
  if (step.op === REISSUE_OPS.deliver) return `Reissue ${step.args.issue}: new access key by one-time link`;
  if (step.op === REISSUE_OPS.tell) return `Reissue ${step.args.issue}: tell <@${step.args.to}>`;
  return `Reissue ${step.args.issue}: answer the approver`;
}

/** The request's reissue state when it is issue `issue`'s and delivered. */
const deliveredFor = (request: AccessRequest, issue: number) =>
  request.reissue?.issue === issue && request.reissue.delivered ? request.reissue : undefined;

/**
 * Runs one step of a reissue (see reissueSteps) on `request` as its run's last checkpoint stored it. Idempotent, as
 * every step on the runner: the deliver step resumes what a killed attempt did (see deliverReissue); a
 * notification step is skipped when nothing was reissued.
 */
export async function reissueStep(deps: Deps, request: AccessRequest, step: RunStep): Promise<StepOutcome> {
  const issue = Number(step.args.issue);
  if (step.op === REISSUE_OPS.deliver) return deliverReissue(deps, request.id, issue, step.args.approver ?? '');
  const hook = kindOf(request).reissue;
  const delivered = deliveredFor(request, issue);
  if (step.op === REISSUE_OPS.tell) {
    const told = delivered && hook?.told(request).find((t) => t.to === step.args.to);
    if (!told) return { result: 'skipped', detail: 'nothing reissued' };
    try {
      await deps.messenger.post(told.to, told.message);
      return { result: 'done' };
    } catch (error) {
      logger.error('Could not DM about a reissue', { requestId: request.id, errorName: errorName(error) });
      return { result: 'failed', detail: errorName(error) };
    }
  }
  const why = request.run?.steps.find((s) => s.op === REISSUE_OPS.deliver && s.args.issue === step.args.issue)?.detail;
  const text = delivered
    ? sentText(request, delivered.newKeyId ?? '', delivered.undelivered)
    : (NOTHING_TEXT[why ?? ''] ?? 'Nothing was reissued.');
  try {
    await deps.messenger.respond(step.args.responseUrl ?? '', { text });
    return { result: 'done' };
  } catch (error) {
    logger.error('Could not answer a reissue', { requestId: request.id, errorName: errorName(error) });
    return { result: 'failed', detail: errorName(error) };
  }
}

/**
 * The deliver step of a reissue: replaces the undelivered credentials of a request for the issue it was asked for
 * (a later issue is skipped):
 * retires the unopened link (its secret deleted), deletes the key it held, creates a fresh key and delivers it by a
 * new one-time link; what else changes with the new delivery, and who is told, is the kind's (its ReissueHook: a
 * rotation starts its grace period again and tells the owner, in the steps after this one). The outcome's changes,
 * written by the runner's checkpoint with the `reissued` audit event, record the delivery.
 *
 * Safe to kill at any call and run again (the runner resumes the step): each call is idempotent, and the request records, in
 * `reissue`, the user's keys just before CreateAccessKey and the new key as soon as IAM returns it. A resumed attempt
 * deletes a key an earlier one made but never delivered (recorded, or found among the user's keys and not among
 * those before: its secret is lost either way), and finishes a delivery an earlier one made (its link recorded on
 * the link's record) without making another. The recipient's DM is doubled only when the kill falls between
 * Slack's answer and the write recording the delivery; the first link is then retired.
 */
async function deliverReissue(deps: Deps, requestId: string, issue: number, approver: string): Promise<StepOutcome> {
  // Read again: the step writes its own checkpoints below, on the request as stored now.
  let request = await deps.store.requests.get(requestId);
  if (!request || request.credentialIssue !== issue) return { result: 'skipped', detail: NOTHING.replaced };
  const hook = kindOf(request).reissue;
  if (!hook) return { result: 'skipped', detail: NOTHING.none };
  const deliveryKey = `reissue:${request.id}:${issue}`;
  const mine = request.reissue?.issue === issue ? request.reissue : undefined;
  if (mine?.delivered) return { result: 'done', detail: 'recorded already' };
  const { iam } = deps.aws.account(request.account);

  // Delivered by an earlier attempt that died before recording it: that link stands.
  const sent = mine?.newKeyId ? await completedDelivery(deps, deliveryKey) : undefined;
  if (mine?.newKeyId && sent) return delivered(deps, hook, mine, mine.newKeyId, sent);

  const oldLink = request.linkId ? await deps.store.links.getByLinkId(request.linkId) : undefined;
  // Recorded before the request kept its reissue state (an item from before it): done.
  if (oldLink?.deliveryKey === deliveryKey) return { result: 'done', detail: 'recorded already' };
  if (request.linkOpened?.linkId === request.linkId || (oldLink && !UNRECEIVED.includes(oldLink.status)))
    return { result: 'skipped', detail: NOTHING.opened };
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
    } else return { result: 'skipped', detail: NOTHING.opened };
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
  const out2 = await deliverCredentials(deps, {
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
  return delivered(deps, hook, state, key.AccessKeyId, {
    linkId: out2.linkId,
    expiresAt: out2.expiresAt.getTime(),
  });
}

/**
 * The deliver step's outcome once the new link is out: the checkpoint records it on the request (its new link, the
 * reissue delivered, and what the kind records with a delivery, e.g. a rotation's new key and grace period) with
 * the `reissued` audit event, in one transaction.
 */
function delivered(
  deps: Deps,
  hook: ReissueHook,
  state: ReissueState,
  newKeyId: string,
  sent: { linkId: string; expiresAt: number },
): StepOutcome {
  const now = deps.clock.now();
  return {
    result: 'done',
    data: { newKeyId },
    changes: (request) => ({
      ...hook.delivered(request, {
        newKeyId,
        linkExpiresAt: new Date(sent.expiresAt),
        now,
        policy: deps.config.policy,
      }),
      linkId: sent.linkId,
      reissue: { ...state, newKeyId, delivered: true },
    }),
    audit: { action: 'reissued', detail: { accessKeyId: newKeyId, linkId: sent.linkId, issue: state.issue } },
  };
}
