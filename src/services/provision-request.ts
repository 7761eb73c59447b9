import type { Deps } from '../deps.js';
import { ConflictError } from '../errors.js';
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
import {
  abandonAtFrom,
  recordSystemAudit,
  syncApprovalMessage,
  tellApproversOfFailure,
  tellRequester,
} from './requests.js';
import { stageRecorded } from './run-progress.js';
import { userChanged } from './user-changes.js';

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
 * What the current policy no longer allows of a request: groups it does not list, a path other than `users.path`.
 * Empty when the request may be provisioned as approved.
 */
export function policyViolations(policy: Deps['config']['policy'], request: AccessRequest): string[] {
  const listed = new Set(policy.groups.map((g) => g.name));
  const problems = request.groups.filter((g) => !listed.has(g)).map((g) => `group ${g} is not in the policy any more`);
  if (request.path !== policy.users.path)
    problems.push(`user path ${request.path} is not the policy's user path (${policy.users.path})`);
  return problems;
}

/**
 * Creates the IAM user of an approved request in its account and delivers the credentials to the recipient as a
 * one-time link; then the approval message shows "done" and the requester is told. Runs only for the attempt it
 * was dispatched for, and only from approved (or provisioning, when an earlier delivery of the same job stopped
 * midway): a duplicated delivery creates one user and one key. A run killed at any step is finished by the retry
 * of the same job: one live link for the recipient (a link the dead run delivered stands; one it left half-delivered
 * is retired), the start's and the end's messages sent unless their audit event says they were. On a failure it
 * undoes what this request created, marks the request failed with a safe summary and exactly what still exists,
 * and tells requester and approvers.
 */
export async function provisionRequest(
  deps: Deps,
  requestId: string,
  attempt: number,
  options: ProvisionOptions & { announce?: boolean } = {},
): Promise<ProvisionOutcome> {
  const store = deps.store.requests;
  let request = await store.get(requestId);
  const skip = (why: string): ProvisionOutcome => {
    logger.info('Provisioning skipped', { requestId, attempt, why });
    return 'skipped';
  };
  if (!request) return skip('no such request');
  if (request.attempt !== attempt) return skip(`attempt ${request.attempt} is current`);
  // Done, but the run that finished it died before its last messages (no `provisioned` event): finish them.
  if (request.status === 'done') {
    if (await stageRecorded(deps, request, 'provisioned')) return skip('request is done');
    await finishProvisioned(deps, request);
    return 'done';
  }
  if (request.status !== 'approved' && request.status !== 'provisioning') return skip(`request is ${request.status}`);

  // A run of this attempt died after delivering the credentials: they are out, and IAM holds what they reveal
  // (delivery comes after every IAM step). Minting again would leave the recipient a link to a deleted key.
  const resumed = request.status === 'provisioning';
  const deliveryKey = (issue: number) => `create-user:${requestId}:${issue}`;
  const delivered = resumed ? await deps.store.links.deliveredLink(deliveryKey(request.credentialIssue)) : undefined;
  if (delivered) {
    const done = await store.update(
      request,
      { status: 'done', created: createdByPlan(userPlan(request)), linkId: delivered.linkId },
      deps.clock.now(),
    );
    if (!done) return skip('request changed meanwhile');
    await finishProvisioned(deps, done);
    return 'done';
  }

  // A new run claims the credentials about to be minted (a new delivery key); a resumed run keeps the key of the run
  // that died, so that delivering retires what that run left half-delivered (its link, secret and DM).
  const started = await store.update(
    request,
    { status: 'provisioning', credentialIssue: request.credentialIssue + (resumed ? 0 : 1) },
    deps.clock.now(),
  );
  if (!started) return skip('request changed meanwhile');
  // The start's messages, then the event that records them: a run that died in between sends them again.
  if (!resumed || !(await stageRecorded(deps, started, 'provisioning-started'))) {
    await syncApprovalMessage(deps, started);
    if (options.announce) await tellRequester(deps, started);
    await recordSystemAudit(deps, started, 'provisioning-started', { attempt });
  }
  request = started;

  // Defence in depth: the approval was decided under the policy of its day; IAM is written only under today's.
  const violations = policyViolations(deps.config.policy, request);
  if (violations.length) return refuseUnderPolicy(deps, request, violations);

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
        deliveryKey: deliveryKey(request.credentialIssue),
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
      // Another run's delivery of these credentials holds its lease: retry later (Lambda does), undoing nothing.
      if (error instanceof ConflictError) throw error;
      throw new ProvisioningStepError(
        'deliverCredentials',
        `delivering the credentials failed (${errorName(error)})`,
        created,
        error,
      );
    }
  } catch (error) {
    if (error instanceof ConflictError) throw error;
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
      { status: 'failed', error: summary, remaining, created, abandonAt: abandonAtFrom(deps) },
      deps.clock.now(),
    );
    if (!failed) throw new Error(`Request ${requestId} changed while it was being provisioned`);
    await recordSystemAudit(deps, failed, 'provisioning-failed', { error: summary, removed, remaining });
    await syncApprovalMessage(deps, failed);
    await tellRequester(deps, failed);
    await tellApproversOfFailure(deps, failed);
    return 'failed';
  }

  const done = await store.update(request, { status: 'done', created, linkId }, deps.clock.now());
  if (!done) throw new Error(`Request ${requestId} changed while it was being provisioned`);
  await finishProvisioned(deps, done);
  return 'done';
}

/** What a request's plan creates, all of it (the credentials included). */
const createdByPlan = (plan: UserPlan): CreatedResources => ({
  user: true,
  groups: [...plan.groups],
  loginProfile: plan.console,
  accessKey: plan.accessKey,
});

/**
 * The end of a provisioned request: the user projection, the approval message, the requester told, then the
 * `provisioned` event that records them (a run that died before it does them again).
 */
async function finishProvisioned(deps: Deps, done: AccessRequest): Promise<void> {
  const created = done.created ?? createdByPlan(userPlan(done));
  await userChanged(deps, done.account, done.userName, { requestId: done.id });
  await syncApprovalMessage(deps, done);
  await tellRequester(deps, done);
  await recordSystemAudit(deps, done, 'provisioned', {
    userName: done.userName,
    account: done.account,
    groups: created.groups,
    loginProfile: created.loginProfile,
    accessKey: created.accessKey,
    linkId: done.linkId ?? null,
  });
}

/**
 * Fails a request the current policy no longer allows, before any IAM call: audited, the message updated, the
 * requester and the approvers who approved it told, and a notice in the approval channel.
 */
async function refuseUnderPolicy(deps: Deps, request: AccessRequest, violations: string[]): Promise<ProvisionOutcome> {
  const error = `refused: the policy no longer allows it (${violations.join('; ')})`;
  const failed = await deps.store.requests.update(
    request,
    { status: 'failed', error, remaining: [], created: NOTHING, abandonAt: abandonAtFrom(deps) },
    deps.clock.now(),
  );
  if (!failed) throw new Error(`Request ${request.id} changed while it was being provisioned`);
  logger.warn('Provisioning refused under the current policy', { requestId: request.id, violations });
  await recordSystemAudit(deps, failed, 'provisioning-refused', { violations });
  await syncApprovalMessage(deps, failed);
  const channel = failed.message?.channel ?? deps.config.policy.approvals.channel;
  try {
    await deps.messenger.post(channel, {
      text: `:no_entry: I did not create IAM user \`${failed.userName}\` (request \`${failed.id}\`): it was approved, but the policy no longer allows it: ${violations.join('; ')}. Nothing was created.`,
    });
  } catch (e) {
    logger.error('Could not tell the approval channel of a refusal', { requestId: failed.id, errorName: errorName(e) });
  }
  await tellRequester(deps, failed);
  await tellApproversOfFailure(deps, failed);
  return 'failed';
}

function describeAccess(request: AccessRequest): string {
  return { keys: 'access key', console: 'console password', both: 'access key and console password' }[
    request.accessType
  ];
}
