/**
 * temporary-membership on the resumable runner (worker only: src/services/runner/kinds.ts imports it). The run is
 * the change run (src/kinds/change/run.ts: the re-checks, one AddUserToGroup step per group, the commit, the end and
 * its DMs), then one `wait` step, the grant's clock:
 * - before the end (NOTICE_LEAD_MS, or half the duration for a short grant) it wakes once per end time and DMs the
 *   owner and the requester, with Extend and "Done, remove now", then waits again;
 * - at the end, or at once after "Done, remove now", it ends: one removal step per group this run added (a group
 *   the user was already in when the run was planned was not added, so it is never removed), then the DMs.
 * The wait records when to wake (`wakeAt`, the sparse sweep index's `sweepAt`): the one-minute task `wake-due-runs`
 * wakes it (src/services/runner/sweep.ts). Signals (Extend, Done, an extension's approval) write the grant's facts and
 * wake the run; the wait step decides again from them (an approved extension: its post updated and its asker told,
 * then the new end). Every step is idempotent; each DM is its own step.
 */
import { RemoveUserFromGroupCommand } from '@aws-sdk/client-iam';
import type { Deps } from '../../deps.js';
import { logger } from '../../logger.js';
import { errorName } from '../../services/provisioning.js';
import { approversOf } from '../../services/requests/rules.js';
import { tell } from '../../services/requests.js';
import type { RunKind, RunStep, StepOutcome } from '../../services/runner/types.js';
import { userChanged } from '../../services/user-changes.js';
import type { AccessRequest } from '../../store/requests.js';
import { changeRun } from '../change/run.js';
import { madePermanentSince } from './active.js';
import { breakGlassEscalation, breakGlassPost, reviewWithinMs } from './break-glass.js';
import { tellExtensionApproved } from './extension.js';
import { grantAddedMessage, grantEndedMessage, grantEndingMessage } from './messages.js';

/** How long before the end the owner and requester are told (with Extend and Done). */
export const NOTICE_LEAD_MS = 15 * 60_000;

/** When the notice before `endsAt` is due: NOTICE_LEAD_MS before, or halfway for a grant shorter than twice that. */
export const noticeAt = (grant: NonNullable<AccessRequest['grant']>, endsAt: number): number =>
  endsAt - Math.min(NOTICE_LEAD_MS, Math.floor(grant.durationMs / 2));

const WAIT: RunStep = { t: 'wait', op: 'grant-wait', args: {} };

/** Who hears of the grant: the user's owner and the requester (once each). */
const toldOf = (request: AccessRequest): string[] => [
  ...new Set([request.owner, request.requester].filter((w): w is string => !!w)),
];

/** The groups this run added (its AddUserToGroup steps that were done, not `already so`). */
const addedBy = (request: AccessRequest): RunStep[] =>
  (request.run?.steps ?? []).filter((s) => s.t === 'op' && s.op === 'AddUserToGroup' && s.result === 'done');

/**
 * The grant's clock, a `wait` step deciding from the stored grant (see the file's comment). A grant that was never
 * added (its run failed) has nothing to end.
 */
function waitStep(deps: Deps, request: AccessRequest): StepOutcome {
  const grant = request.grant;
  if (request.status !== 'done' || !grant?.endsAt) return { result: 'skipped', detail: 'nothing was added' };
  const now = deps.clock.now().getTime();
  const ends = Date.parse(grant.endsAt);
  const told = toldOf(request);
  // break-glass: an approver has until reviewDueAt to mark it Reviewed, during the grant or after its end
  const glass = grant.breakGlass;
  const reviewDue = glass && !glass.reviewed && !glass.escalatedAt ? Date.parse(glass.reviewDueAt ?? '') : undefined;
  if (reviewDue !== undefined && now >= reviewDue) {
    const then: RunStep[] = [{ t: 'notify', op: 'break-glass-escalate', args: {} }, ...(grant.endedAt ? [] : [WAIT])];
    return {
      result: 'done',
      detail: 'break-glass not reviewed in time',
      then,
      changes: (r) => {
        const g = r.grant ?? grant;
        return { grant: { ...g, breakGlass: { ...g.breakGlass, escalatedAt: new Date(now).toISOString() } } };
      },
      audit: { action: 'break-glass-escalated', detail: { reviewDueAt: glass?.reviewDueAt ?? null } },
    };
  }
  // an extension approved (./extension.ts): its post brought up to date and its asker told, each a step, once
  const approved = grant.extensionApproved;
  if (approved && !approved.toldAt) {
    const then: RunStep[] = [
      { t: 'notify', op: 'grant-extension-post', args: {} },
      { t: 'notify', op: 'grant-extension-dm', args: { who: approved.by } },
      WAIT,
    ];
    return {
      result: 'done',
      detail: 'extension approved',
      then,
      changes: (r) => {
        const g = r.grant ?? grant;
        return {
          grant: {
            ...g,
            extensionApproved: { ...(g.extensionApproved ?? approved), toldAt: new Date(now).toISOString() },
          },
        };
      },
    };
  }
  if (grant.endedAt)
    return reviewDue === undefined
      ? { result: 'done', detail: 'reviewed' }
      : { result: 'done', waitUntil: new Date(reviewDue) };
  if (grant.endNow || now >= ends) {
    const removals: RunStep[] = addedBy(request).map((s) => ({
      t: 'op',
      op: 'grant-remove',
      args: { userName: s.args.userName ?? request.userName, group: s.args.group ?? '' },
    }));
    const then: RunStep[] = [
      ...removals,
      { t: 'notify', op: 'grant-refresh', args: {} },
      ...told.map((who): RunStep => ({ t: 'notify', op: 'grant-ended', args: { who } })),
      // a break-glass grant not yet reviewed: the run waits on for its review (or escalates it)
      ...(reviewDue !== undefined ? [WAIT] : []),
    ];
    return {
      result: 'done',
      detail: grant.endNow ? 'ended early' : 'ended',
      then,
      changes: (r) => ({ grant: { ...(r.grant ?? grant), endedAt: new Date(now).toISOString() } }),
      audit: {
        action: 'grant-ending',
        detail: {
          endsAt: grant.endsAt,
          early: grant.endNow ? grant.endNow.by : null,
          groups: removals.map((s) => s.args.group ?? ''),
        },
      },
    };
  }
  const notice = noticeAt(grant, ends);
  if (grant.noticeFor !== grant.endsAt && now >= notice) {
    const then: RunStep[] = [...told.map((who): RunStep => ({ t: 'notify', op: 'grant-notice', args: { who } })), WAIT];
    return {
      result: 'done',
      detail: 'notice before the end',
      then,
      changes: (r) => ({ grant: { ...(r.grant ?? grant), noticeFor: grant.endsAt } }),
      audit: { action: 'grant-notice', detail: { endsAt: grant.endsAt, to: told } },
    };
  }
  const next = grant.noticeFor === grant.endsAt ? ends : notice;
  return { result: 'done', waitUntil: new Date(reviewDue === undefined ? next : Math.min(next, reviewDue)) };
}

/**
 * The loud post of a break-glass grant in the approval channel, once added, recorded on the grant (so that Reviewed
 * updates it). A part killed between the post and its checkpoint posts it again (as any DM step).
 */
async function breakGlassPostStep(deps: Deps, request: AccessRequest): Promise<StepOutcome> {
  if (request.status !== 'done' || !request.grant?.breakGlass)
    return { result: 'skipped', detail: 'nothing was added' };
  const posted = await deps.messenger.post(deps.config.policy.approvals.channel, breakGlassPost(request));
  const post = { channel: posted.channel, ts: posted.ts };
  return {
    result: 'done',
    changes: (r) => {
      const g = r.grant ?? (request.grant as NonNullable<AccessRequest['grant']>);
      return { grant: { ...g, breakGlass: { ...g.breakGlass, post } } };
    },
    audit: {
      action: 'break-glass',
      detail: {
        requester: request.requester,
        userName: request.userName,
        account: request.account,
        groups: request.groups,
        until: request.grant.endsAt ?? null,
        reviewDueAt: request.grant.breakGlass.reviewDueAt ?? null,
      },
    },
  };
}

/**
 * One membership removed at the end. A user no longer in the group (removed outside the bot, or deleted) ends it
 * quietly (`skipped`, "gone"); another IAM error throws: the part stops and is retried.
 */
async function removeStep(deps: Deps, request: AccessRequest, step: RunStep): Promise<StepOutcome> {
  const { userName = request.userName, group = '' } = step.args;
  // a permanent membership approved during the grant (its add was `already so`) stays
  const permanent = await madePermanentSince(deps, request, group, request.grant?.startedAt ?? request.updatedAt);
  if (permanent) return { result: 'skipped', detail: 'kept', data: { by: permanent.id } };
  try {
    await deps.aws
      .account(request.account)
      .iam.send(new RemoveUserFromGroupCommand({ UserName: userName, GroupName: group }));
    return { result: 'done' };
  } catch (error) {
    if (errorName(error) === 'NoSuchEntity') return { result: 'skipped', detail: 'gone' };
    // the part stops and is retried (Lambda, then the stall sweep; after a few parts the approvers are told)
    logger.error('A temporary membership could not be removed', { requestId: request.id, errorName: errorName(error) });
    throw new Error(`RemoveUserFromGroup ${userName} ${group} failed`, { cause: error });
  }
}

/** What the end steps did, from the run: removed, found gone, kept. */
function endedOf(request: AccessRequest) {
  const steps = (request.run?.steps ?? []).filter((s) => s.op === 'grant-remove');
  const of = (pred: (s: RunStep) => boolean) => steps.filter(pred).map((s) => s.args.group ?? '');
  return {
    removed: of((s) => s.result === 'done'),
    gone: of((s) => s.result === 'skipped' && s.detail === 'gone'),
    kept: of((s) => s.result === 'skipped' && s.detail === 'kept'),
  };
}

const done: StepOutcome = { result: 'done' };

export const temporaryMembershipRun: RunKind = {
  ...changeRun,
  async plan(deps, request, options) {
    const planned = await changeRun.plan(deps, request, options);
    const post: RunStep[] = request.grant?.breakGlass ? [{ t: 'notify', op: 'break-glass-post', args: {} }] : [];
    return { ...planned, steps: [...planned.steps, ...post, WAIT] };
  },
  async step(deps, request, step) {
    switch (step.op) {
      case 'grant-wait':
        return waitStep(deps, request);
      case 'grant-remove':
        return removeStep(deps, request, step);
      case 'grant-refresh':
        await userChanged(deps, request.account, request.userName, { requestId: request.id });
        return done;
      case 'grant-notice':
        await tell(deps, step.args.who ?? '', request, grantEndingMessage(request));
        return done;
      case 'grant-ended': {
        const { removed, gone, kept } = endedOf(request);
        await tell(deps, step.args.who ?? '', request, grantEndedMessage(request, removed, gone, kept));
        return done;
      }
      case 'tell-owner':
        await tell(deps, step.args.who ?? '', request, grantAddedMessage(request));
        return done;
      case 'grant-extension-post':
        await tellExtensionApproved(deps, request, 'post');
        return done;
      case 'grant-extension-dm':
        await tellExtensionApproved(deps, request, 'dm');
        return done;
      case 'break-glass-post':
        return breakGlassPostStep(deps, request);
      case 'break-glass-escalate':
        await deps.messenger.post(
          deps.config.policy.approvals.channel,
          breakGlassEscalation(request, await approversOf(deps, request)),
        );
        return done;
      default:
        return changeRun.step(deps, request, step);
    }
  },
  describe(step) {
    if (step.op === 'grant-wait') return 'the grant: wait for the notice or the end';
    if (step.op === 'grant-remove')
      return `RemoveUserFromGroup ${step.args.userName ?? ''} ← ${step.args.group ?? ''} (the end)`;
    if (step.op === 'grant-refresh') return 'the end: user projection';
    if (step.op === 'grant-notice') return `DM before the end to ${step.args.who ?? 'nobody'}`;
    if (step.op === 'grant-ended') return `DM at the end to ${step.args.who ?? 'nobody'}`;
    if (step.op === 'grant-extension-post') return 'extension approved: its post in the approval channel';
    if (step.op === 'grant-extension-dm') return `extension approved: DM to ${step.args.who ?? 'nobody'}`;
    if (step.op === 'break-glass-post') return 'break-glass: the post in the approval channel';
    if (step.op === 'break-glass-escalate') return 'break-glass: the escalation (not reviewed in time)';
    return changeRun.describe(step);
  },
  commit(deps, request, failed) {
    const committed = changeRun.commit(deps, request, failed);
    if (failed.length || !request.grant) return committed;
    const now = deps.clock.now();
    const endsAt = new Date(now.getTime() + request.grant.durationMs).toISOString();
    const glass = request.grant.breakGlass;
    const breakGlass = glass && {
      ...glass,
      reviewDueAt: new Date(now.getTime() + reviewWithinMs(deps.config.policy, request.groups)).toISOString(),
    };
    return {
      changes: {
        ...committed.changes,
        grant: { ...request.grant, startedAt: now.toISOString(), endsAt, ...(breakGlass ? { breakGlass } : {}) },
      },
      audit: {
        action: committed.audit.action,
        detail: { ...committed.audit.detail, until: endsAt, ...(glass ? { breakGlass: true } : {}) },
      },
    };
  },
};
