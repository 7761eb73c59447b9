/**
 * create-user on the resumable runner (worker only: src/services/runner/kinds.ts imports it,
 * never the Slack function). The run of an approved request:
 *
 * 1. `check-policy` (gate): the request as approved must still be allowed by today's policy (its groups listed, its
 *    path the policy's); a refusal ends the request failed before any IAM write. Its checkpoint and the IAM steps'
 *    are written with the credentials step's (RunKind.deferCheckpoint), after the link's DM.
 * 2. The request's plan of IAM operations (src/services/kinds/create-user.ts createUserPlan, what the approval
 *    message shows): `CreateUser` (path, tags), `AddUserToGroup` per group, each idempotent (a user tagged with
 *    this request's id is this request's, made by a killed part or an earlier attempt: already there = done).
 * 3. `deliver-credentials` (deliver): CreateLoginProfile (password reset required) and/or CreateAccessKey, the secret
 *    stored in Secrets Manager and the one-time link DMed to the recipient, as one step: a secret is never
 *    checkpointed. Run again after a kill inside it, it finds the delivery finished (and records it), or replaces
 *    what the dead attempt minted (the key it created is deleted, the password reset) and retires its half-delivered
 *    link, so one key and one live link are left (see deliverStep).
 * 4. `start` (notify): the approval message shows it under way; on a first approval the requester is told. After
 *    the delivery, so that the link (the fast path) waits for no Slack call but its own DM.
 * 5. `commit`: done (with what was created and the link), or failed.
 * 6. `finish` and the `tell-*` steps: the user projection and the approval message; the approval channel (a policy
 *    refusal), the requester, the approvers (a failure), one post per step.
 *
 * On a failed step the runner undoes what ran (RunKind.undo): the memberships its steps added, then the user with
 * whatever it still holds; what could not be removed is listed as `remaining` and the approvers get Retry/Abandon.
 */
import { RemoveUserFromGroupCommand } from '@aws-sdk/client-iam';
import type { Deps } from '../deps.js';
import { ConflictError } from '../errors.js';
import { logger } from '../logger.js';
import type { CredentialBundle } from '../services/credential-types.js';
import { completedDelivery, deliverCredentials, deliveredEvent } from '../services/credentials.js';
import { createUserPlan } from '../services/kinds/create-user.js';
import { describeStep } from '../services/plans/types.js';
import {
  addUserToGroup,
  createIamUser,
  errorName,
  mintCredentials,
  ProvisioningStepError,
  REQUEST_ID_TAG,
  rollbackUser,
  type UserPlan,
} from '../services/provisioning.js';
import {
  abandonAtFrom,
  reservesName,
  syncApprovalMessage,
  tellApproversOfFailure,
  tellRequester,
} from '../services/requests.js';
import type { AuditDetail, RequestChanges, RunKind, StepOutcome } from '../services/runner/types.js';
import { userChanged } from '../services/user-changes.js';
import { type DeliveryState, unfinishedAttempt } from '../store/links.js';
import type { AccessRequest, CreatedResources, RunStep } from '../store/requests.js';
import { kindOf } from './registry.js';

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
 * The delivery key of a request's credentials: one per credential issue, the same for every attempt, so that a
 * delivery an attempt finished is found by any later one, and one it left half-done is retired by the next.
 */
const deliveryKeyOf = (request: AccessRequest) => `create-user:${request.id}:${Math.max(1, request.credentialIssue)}`;

const NOTHING: CreatedResources = { user: false, groups: [], loginProfile: false, accessKey: false };
const yes = (value: string | undefined) => value === 'yes';

/** The run's steps (see the module's comment), from the request's plan. */
function planSteps(request: AccessRequest, announce: boolean): RunStep[] {
  const iam: RunStep[] = [];
  const mint = { console: 'no', accessKey: 'no' };
  for (const op of createUserPlan(request)) {
    if (op.op === 'CreateUser') iam.push({ t: 'op', op: op.op, args: { userName: op.userName, path: op.path } });
    else if (op.op === 'AddUserToGroup')
      iam.push({ t: 'op', op: op.op, args: { userName: op.userName, group: op.group } });
    else if (op.op === 'CreateLoginProfile') mint.console = 'yes';
    else if (op.op === 'CreateAccessKey') mint.accessKey = 'yes';
  }
  // The fast path first: nothing but the policy gate and the IAM writes runs before the one-time link is DMed; the
  // approval message and the requester's notice follow it (the notice is not sent when an earlier step failed: the
  // requester then hears of the failure once, at the end).
  return [
    { t: 'gate', op: 'check-policy', args: {} },
    ...iam,
    {
      t: 'deliver',
      op: 'deliver-credentials',
      args: { userName: request.userName, recipient: request.recipient, ...mint },
    },
    { t: 'notify', op: 'start', args: announce ? { announce: 'yes' } : {} },
    { t: 'commit', op: 'commit', args: {} },
    { t: 'notify', op: 'finish', args: {} },
  ];
}

/** What the run's steps created for the request (a step that found it already so, too: its user is this request's). */
function createdBy(all: readonly RunStep[]): CreatedResources {
  const failedAt = all.findIndex((s) => s.result === 'failed' && s.t !== 'undo');
  const steps = failedAt < 0 ? all : all.slice(0, failedAt); // after a failure, the rest never ran
  const ran = (s: RunStep) => s.result === 'done' || s.result === 'skipped';
  const deliver = steps.find((s) => s.op === 'deliver-credentials' && ran(s));
  return {
    user: steps.some((s) => s.op === 'CreateUser' && ran(s)),
    groups: steps.filter((s) => s.op === 'AddUserToGroup' && ran(s)).map((s) => s.args.group ?? ''),
    loginProfile: Boolean(deliver && yes(deliver.args.console)),
    accessKey: Boolean(deliver && yes(deliver.args.accessKey)),
  };
}

const stepsOf = (request: AccessRequest): RunStep[] => request.run?.steps ?? [];
const refusalOf = (request: AccessRequest) =>
  stepsOf(request).find((s) => s.op === 'check-policy' && s.result === 'failed');

/** The step that failed the request (not an undo). */
const firstFailure = (steps: readonly RunStep[]) => steps.find((s) => s.result === 'failed' && s.t !== 'undo');

const listOf = (value: unknown): string[] => (Array.isArray(value) ? value.map(String) : []);

/** create-user's run kind (see the module's comment). */
export const createUserRun: RunKind = {
  plan: async (_deps, request, options) => planOf(request, options.announce ?? false),
  async step(deps, request, step) {
    switch (step.op) {
      case 'start':
        await syncApprovalMessage(deps, request);
        if (yes(step.args.announce)) await tellRequester(deps, request);
        return { result: 'done' };
      case 'check-policy':
        return checkPolicy(deps, request);
      case 'CreateUser':
        // A user tagged with this request's id was made by this request (a killed part, an earlier attempt): done
        // by it, so undone with it on a failure.
        return iamStep(request, async () =>
          (await createIamUser(deps.aws.account(request.account).iam, userPlan(request))) === 'ours'
            ? { result: 'done', detail: 'already created by this request' }
            : { result: 'done' },
        );
      case 'AddUserToGroup':
        return iamStep(request, async () => {
          await addUserToGroup(deps.aws.account(request.account).iam, request.userName, step.args.group ?? '');
          return { result: 'done' };
        });
      case 'deliver-credentials':
        return deliverStep(deps, request, step);
      case 'RemoveUserFromGroup':
        return removeFromGroup(deps, request, step.args.group ?? '');
      case 'DeleteUser':
        return deleteUser(deps, request);
      case 'finish':
        return finish(deps, request);
      case 'tell-channel':
        await tellChannelOfRefusal(deps, request, step.args.violations ?? '');
        return { result: 'done' };
      case 'tell-requester':
        await tellRequester(deps, request);
        return { result: 'done' };
      case 'tell-approvers':
        await tellApproversOfFailure(deps, request);
        return { result: 'done' };
      default:
        throw new Error(`A create-user request has no step ${step.op}`);
    }
  },
  describe(step) {
    const { userName = '', group = '', path = '' } = step.args;
    switch (step.op) {
      case 'CreateUser':
        return describeStep({ op: 'CreateUser', userName, path });
      case 'AddUserToGroup':
        return describeStep({ op: 'AddUserToGroup', userName, group });
      case 'RemoveUserFromGroup':
        return describeStep({ op: 'RemoveUserFromGroup', userName, group });
      case 'deliver-credentials': {
        const calls = [
          ...(yes(step.args.console) ? ['CreateLoginProfile'] : []),
          ...(yes(step.args.accessKey) ? ['CreateAccessKey'] : []),
        ];
        return `${calls.join(' + ')} ${userName}, delivered to ${step.args.recipient ?? ''} by one-time link`;
      }
      case 'DeleteUser':
        return `DeleteUser ${userName} (its access keys, password and memberships first)`;
      case 'start':
        return 'show the request under way';
      case 'check-policy':
        return 'check the request against the current policy';
      case 'finish':
        return 'show the outcome';
      case 'tell-channel':
        return 'tell the approval channel';
      case 'tell-requester':
        return 'tell the requester';
      case 'tell-approvers':
        return 'tell the approvers';
      default:
        return step.op;
    }
  },
  // The fast path first: the policy gate (no call) and the IAM writes (each harmless to run again: a user tagged with
  // this request's id is its own, a membership added twice is one) are checkpointed with the credentials step, after
  // the one-time link's DM, in one transaction (each with its own result and audit event): the link waits for no
  // checkpoint. A kill before it runs them again. A failed step is checkpointed at once (the runner's undo).
  deferCheckpoint: (step) => step.op === 'check-policy' || step.op === 'CreateUser' || step.op === 'AddUserToGroup',
  // The runner asks for `done` steps only. The credentials step's key and password go with the user: DeleteUser
  // removes what the user holds first.
  undo(step): RunStep | undefined {
    const { userName = '' } = step.args;
    if (step.op === 'CreateUser') return { t: 'undo', op: 'DeleteUser', args: { userName } };
    if (step.op === 'AddUserToGroup')
      return { t: 'undo', op: 'RemoveUserFromGroup', args: { userName, group: step.args.group ?? '' } };
    return undefined;
  },
  commit(deps, request, failedSteps): { changes: RequestChanges; audit: { action: string; detail: AuditDetail } } {
    const steps = stepsOf(request);
    const created = createdBy(steps);
    const refusal = refusalOf(request);
    if (refusal) {
      const violations = listOf(refusal.data?.violations);
      return {
        changes: {
          error: refusal.detail ?? 'refused',
          remaining: [],
          created: NOTHING,
          abandonAt: abandonAtFrom(deps),
        },
        audit: { action: 'provisioning-refused', detail: { violations } },
      };
    }
    if (failedSteps.length) {
      const undone = steps.filter((s) => s.t === 'undo');
      const removed = undone.flatMap((s) => listOf(s.data?.removed));
      const remaining = undone.flatMap((s) => listOf(s.data?.remaining));
      const error = firstFailure(steps)?.detail ?? failedSteps[0]?.detail ?? 'provisioning failed';
      return {
        changes: { error, remaining, created, abandonAt: abandonAtFrom(deps) },
        audit: { action: 'provisioning-failed', detail: { error, removed, remaining } },
      };
    }
    const linkId = steps.find((s) => s.op === 'deliver-credentials')?.data?.linkId;
    return {
      changes: { created, ...(typeof linkId === 'string' ? { linkId } : {}) },
      audit: {
        action: 'provisioned',
        detail: {
          userName: request.userName,
          account: request.account,
          groups: created.groups,
          loginProfile: created.loginProfile,
          accessKey: created.accessKey,
          linkId: typeof linkId === 'string' ? linkId : null,
        },
      },
    };
  },
  stopped(deps, request, reason): RequestChanges {
    return {
      error: `provisioning stopped before it finished: ${reason}`,
      remaining: [kindOf(request).words.stalledRemaining(request)],
      abandonAt: abandonAtFrom(deps),
    };
  },
  async tellStopped(deps, request) {
    await syncApprovalMessage(deps, request);
    await tellRequester(deps, request);
    await tellApproversOfFailure(deps, request);
  },
};

/** The plan of a new run: its steps, and the credential issue its delivery key names (1 from the first run on). */
function planOf(request: AccessRequest, announce: boolean) {
  return {
    steps: planSteps(request, announce),
    changes: { credentialIssue: Math.max(1, request.credentialIssue) },
  };
}

/** The policy re-check before the first IAM write (defence in depth: the approval was decided under the policy of
 * its day; IAM is written only under today's). A refusal fails the step: nothing after it runs. */
function checkPolicy(deps: Deps, request: AccessRequest): StepOutcome {
  const violations = policyViolations(deps.config.policy, request);
  if (!violations.length) return { result: 'done', detail: 'allowed' };
  logger.warn('Provisioning refused under the current policy', { requestId: request.id, violations });
  return {
    result: 'failed',
    detail: `refused: the policy no longer allows it (${violations.join('; ')})`,
    data: { violations },
  };
}

/**
 * An IAM step: a ProvisioningStepError (or any error) fails it with its safe summary; a ConflictError (a live run
 * holds the delivery) is thrown, so that the part stops and is retried.
 */
async function iamStep(request: AccessRequest, run: () => Promise<StepOutcome>): Promise<StepOutcome> {
  try {
    return await run();
  } catch (error) {
    if (error instanceof ConflictError) throw error;
    const summary =
      error instanceof ProvisioningStepError ? error.message : `provisioning failed (${errorName(error)})`;
    logger.error('Provisioning failed; undoing', {
      requestId: request.id,
      step: error instanceof ProvisioningStepError ? error.step : undefined,
      errorName: errorName(error instanceof ProvisioningStepError ? (error.cause ?? error) : error),
    });
    return { result: 'failed', detail: summary };
  }
}

/**
 * The credentials step: mint, store, DM, as one step (no secret is ever checkpointed). A delivery an earlier run of
 * this step finished, or whose DM it recorded, or whose link was opened (its part was killed before the checkpoint)
 * is recorded as it is: nothing is minted again (see deliveredMeanwhile). Otherwise mints (replacing what a dead run
 * minted: its key deleted, the password reset) and delivers under the request's delivery key, which retires a link
 * the dead run left half-delivered (its secret deleted, its DM saying it was replaced). A delivery held by a live run
 * throws a ConflictError (the part stops; Lambda retries it). Any other failure fails the step with a safe summary.
 */
async function deliverStep(deps: Deps, request: AccessRequest, step: RunStep): Promise<StepOutcome> {
  const deliveryKey = deliveryKeyOf(request);
  // one read of the delivery key's item answers both questions, and the claim's too (see DeliveryRequest.known)
  const known = await deps.store.links.deliveryState(deliveryKey);
  const delivered =
    (await completedDelivery(deps, deliveryKey, known)) ?? (await deliveredMeanwhile(deps, deliveryKey, known));
  if (delivered)
    return {
      result: 'skipped',
      detail: 'delivered already',
      data: { linkId: delivered.linkId },
      changes: () => ({ linkId: delivered.linkId }),
    };
  const iam = deps.aws.account(request.account).iam;
  return iamStep(request, async () => {
    const credentials = await mintCredentials(iam, {
      userName: request.userName,
      console: yes(step.args.console),
      accessKey: yes(step.args.accessKey),
    });
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
    let linkId: string;
    try {
      const delivery = await deliverCredentials(deps, {
        deliveryKey,
        requestId: request.id,
        recipientSlackId: request.recipient,
        requesterSlackId: request.requester,
        approverSlackIds: request.approvals.map((a) => a.user),
        account: request.account,
        purpose: `New IAM user ${request.userName} (${describeAccess(request)})`,
        bundle,
        known,
      });
      linkId = delivery.linkId;
    } catch (error) {
      // Another run's delivery of these credentials holds its lease: retry later (Lambda does), undoing nothing.
      if (error instanceof ConflictError) throw error;
      throw new ProvisioningStepError(
        'deliverCredentials',
        `delivering the credentials failed (${errorName(error)})`,
        NOTHING,
        error,
      );
    }
    return {
      result: 'done',
      data: { linkId, ...(credentials.accessKey ? { accessKeyId: credentials.accessKey.accessKeyId } : {}) },
      changes: () => ({ linkId }),
    };
  });
}

/**
 * The link a dead run of the credentials step delivered without recording the delivery: its DM is recorded on the
 * link (the run died just after), or its recipient opened it meanwhile. Those credentials are out and IAM still
 * holds them (nothing was minted since: minting is this step's, and it runs under the run's lease), so the delivery
 * is completed with that link, and audited as any delivery, instead of minting again and sending a second link. A
 * link whose DM is not recorded (the run died between the post and that write) is retired by the next delivery.
 */
async function deliveredMeanwhile(
  deps: Deps,
  deliveryKey: string,
  known: DeliveryState,
): Promise<{ linkId: string } | undefined> {
  const unfinished = await unfinishedAttempt(deps.store.links, deliveryKey, known);
  const link = unfinished && (await deps.store.links.get(unfinished.linkHash));
  if (!unfinished || !link) return undefined;
  const out = link.status === 'opened' || link.status === 'revoked' || (link.status === 'pending' && link.dmTs);
  if (!out) return undefined;
  const now = deps.clock.now();
  await deps.store.links.completeDelivery(deliveryKey, unfinished.linkId, now);
  await deps.store.audit.record(deliveredEvent(link, deliveryKey, now));
  return { linkId: unfinished.linkId };
}

/** Undo of a membership an `AddUserToGroup` step added: already gone counts as undone. Never throws. */
async function removeFromGroup(deps: Deps, request: AccessRequest, group: string): Promise<StepOutcome> {
  const label = `membership of ${request.userName} in ${group}`;
  try {
    await deps.aws
      .account(request.account)
      .iam.send(new RemoveUserFromGroupCommand({ UserName: request.userName, GroupName: group }));
    return { result: 'done', data: { removed: [label] } };
  } catch (error) {
    if (errorName(error) === 'NoSuchEntity') return { result: 'skipped', detail: 'already gone' };
    return {
      result: 'failed',
      detail: errorName(error),
      data: { remaining: [`${label} (RemoveUserFromGroup: ${errorName(error)})`] },
    };
  }
}

/**
 * Undo of `CreateUser`: the user this request created, with whatever it still holds (access keys, the console
 * password, memberships no step recorded), in the order real IAM requires. Records what it removed and, where a call
 * failed, exactly what still exists. Never throws.
 */
async function deleteUser(deps: Deps, request: AccessRequest): Promise<StepOutcome> {
  const { removed, remaining } = await rollbackUser(deps.aws.account(request.account).iam, request.userName, {
    ...NOTHING,
    user: true,
  });
  if (!remaining.length) return { result: 'done', data: { removed } };
  return { result: 'failed', detail: 'not everything could be removed', data: { removed, remaining } };
}

/**
 * After the commit: the user projection (done), the request's IAM user name given back (done: an ended request
 * holds it no longer), the approval message; then one step per post: the approval channel (a policy refusal), the
 * requester, the approvers (failed: they get Retry).
 */
async function finish(deps: Deps, request: AccessRequest): Promise<StepOutcome> {
  if (request.status === 'done') {
    await userChanged(deps, request.account, request.userName, { requestId: request.id });
    if (reservesName(request)) await deps.store.requests.releaseName(request.account, request.userName, request.id);
  }
  await syncApprovalMessage(deps, request);
  const refusal = refusalOf(request);
  const then: RunStep[] = [
    ...(refusal
      ? [
          {
            t: 'notify' as const,
            op: 'tell-channel',
            args: { violations: listOf(refusal.data?.violations).join('; ') },
          },
        ]
      : []),
    { t: 'notify', op: 'tell-requester', args: {} },
    ...(request.status === 'failed' ? [{ t: 'notify' as const, op: 'tell-approvers', args: {} }] : []),
  ];
  return { result: 'done', then };
}

/** The approval channel's notice of a request refused under the current policy. A Slack failure is logged. */
async function tellChannelOfRefusal(deps: Deps, request: AccessRequest, violations: string): Promise<void> {
  const channel = request.message?.channel ?? deps.config.policy.approvals.channel;
  try {
    await deps.messenger.post(channel, {
      text: `:no_entry: I did not create IAM user \`${request.userName}\` (request \`${request.id}\`): it was approved, but the policy no longer allows it: ${violations}. Nothing was created.`,
    });
  } catch (e) {
    logger.error('Could not tell the approval channel of a refusal', {
      requestId: request.id,
      errorName: errorName(e),
    });
  }
}

function describeAccess(request: AccessRequest): string {
  return { keys: 'access key', console: 'console password', both: 'access key and console password' }[
    request.accessType
  ];
}
