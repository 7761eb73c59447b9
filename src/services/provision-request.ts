import type { Deps } from '../deps.js';
import { logger } from '../logger.js';
import type { AccessRequest, CreatedResources } from '../store/requests.js';
import type { CredentialBundle } from './credential-types.js';
import { deliverCredentials } from './credentials.js';
import {
  errorName,
  ProvisioningStepError,
  type ProvisionOptions,
  provisionUser,
  REQUEST_ID_TAG,
  rollbackUser,
  type UserPlan,
} from './provisioning.js';
import { auditSubject, syncApprovalMessage, tellApproversOfFailure, tellRequester } from './requests.js';

export type ProvisionOutcome = 'done' | 'failed' | 'skipped';

/** The IAM user a request asks for: its path from the policy and the bot's tags before the request's own. */
export function userPlan(request: AccessRequest): UserPlan {
  return {
    requestId: request.id,
    userName: request.userName,
    path: request.path,
    groups: request.groups,
    console: request.accessType !== 'keys',
    accessKey: request.accessType !== 'console',
    tags: [
      { Key: 'requested-by', Value: request.requester },
      { Key: 'approved-by', Value: request.approvals.map((a) => a.user).join(' ') },
      { Key: 'slack-user-id', Value: request.recipient },
      { Key: REQUEST_ID_TAG, Value: request.id },
      ...request.tags.map((t) => ({ Key: t.key, Value: t.value })),
    ],
  };
}

const NOTHING: CreatedResources = { user: false, groups: [], loginProfile: false, accessKey: false };

/**
 * Creates the IAM user of an approved request in its account and delivers the credentials to the recipient as a
 * one-time link; then the approval message shows "done" and the requester is told. Runs only for the attempt it
 * was dispatched for, and only from approved (or provisioning, when an earlier delivery of the same job stopped
 * midway): a duplicated delivery creates one user and one key. On a failure it undoes what this request created,
 * marks the request failed with a safe summary and exactly what still exists, and tells requester and approvers.
 */
export async function provisionRequest(
  deps: Deps,
  requestId: string,
  attempt: number,
  options: ProvisionOptions = {},
): Promise<ProvisionOutcome> {
  const store = deps.store.requests;
  let request = await store.get(requestId);
  const skip = (why: string): ProvisionOutcome => {
    logger.info('Provisioning skipped', { requestId, attempt, why });
    return 'skipped';
  };
  if (!request) return skip('no such request');
  if (request.attempt !== attempt) return skip(`attempt ${request.attempt} is current`);
  if (request.status !== 'approved' && request.status !== 'provisioning') return skip(`request is ${request.status}`);

  // Claim the credentials about to be minted: the delivery key changes whenever new secrets are made.
  const started = await store.update(
    request,
    { status: 'provisioning', credentialIssue: request.credentialIssue + 1 },
    deps.clock.now(),
  );
  if (!started) return skip('request changed meanwhile');
  if (request.status === 'approved') {
    await recordAudit(deps, started, 'provisioning-started', { attempt });
    await syncApprovalMessage(deps, started);
  }
  request = started;

  const iam = deps.aws.account(request.account).iam;
  const plan = userPlan(request);
  let created: CreatedResources = NOTHING;
  let linkId: string;
  try {
    const result = await provisionUser(iam, plan, options);
    created = result.created;
    const { credentials } = result;
    const bundle: CredentialBundle = {
      accountId: request.accountId,
      region: deps.config.env.AWS_REGION,
      userName: request.userName,
      ...(credentials.accessKey ? { accessKey: credentials.accessKey } : {}),
      ...(credentials.password
        ? {
            console: {
              password: credentials.password,
              signInUrl: `https://${request.accountId}.signin.aws.amazon.com/console`,
            },
          }
        : {}),
    };
    try {
      const delivery = await deliverCredentials(deps, {
        deliveryKey: `create-user:${request.id}:${request.credentialIssue}`,
        requestId: request.id,
        recipientSlackId: request.recipient,
        requesterSlackId: request.requester,
        approverSlackIds: request.approvals.map((a) => a.user),
        account: request.account,
        purpose: `New IAM user ${request.userName} (${describeAccess(request)})`,
        bundle,
      });
      linkId = delivery.linkId;
    } catch (error) {
      throw new ProvisioningStepError(
        'deliverCredentials',
        `delivering the credentials failed (${errorName(error)})`,
        created,
        error,
      );
    }
  } catch (error) {
    const step = error instanceof ProvisioningStepError ? error : undefined;
    if (step) created = step.created;
    const summary = step ? step.message : `provisioning failed (${errorName(error)})`;
    logger.error('Provisioning failed; rolling back', {
      requestId,
      attempt,
      step: step?.step,
      errorName: errorName(step?.cause ?? error),
    });
    const { removed, remaining } = await rollbackUser(iam, request.userName, created);
    const failed = await store.update(
      request,
      { status: 'failed', error: summary, remaining, created },
      deps.clock.now(),
    );
    if (!failed) throw new Error(`Request ${requestId} changed while it was being provisioned`);
    await recordAudit(deps, failed, 'provisioning-failed', { error: summary, removed, remaining });
    await syncApprovalMessage(deps, failed);
    await tellRequester(deps, failed);
    await tellApproversOfFailure(deps, failed);
    return 'failed';
  }

  const done = await store.update(request, { status: 'done', created, linkId }, deps.clock.now());
  if (!done) throw new Error(`Request ${requestId} changed while it was being provisioned`);
  await recordAudit(deps, done, 'provisioned', {
    userName: done.userName,
    account: done.account,
    groups: created.groups,
    loginProfile: created.loginProfile,
    accessKey: created.accessKey,
    linkId,
  });
  await syncApprovalMessage(deps, done);
  await tellRequester(deps, done);
  return 'done';
}

function describeAccess(request: AccessRequest): string {
  return { keys: 'access key', console: 'console password', both: 'access key and console password' }[
    request.accessType
  ];
}

async function recordAudit(
  deps: Deps,
  request: AccessRequest,
  action: string,
  extra: Record<string, string | number | boolean | string[]>,
) {
  await deps.store.audit.record({
    subject: auditSubject(request.id),
    at: deps.clock.now(),
    actor: 'system',
    action,
    detail: { status: request.status, version: request.version, attempt: request.attempt, ...extra },
  });
}
