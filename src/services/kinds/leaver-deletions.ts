/**
 * Leavers' users deleted (policy `leavers.deleteAfterDays`, optional). An offboarding that disabled users records
 * when it ended the day they will be deleted (`offboard.deleteAt`), and its report names them and that day. On that
 * day the daily owner check (reconcileOwners) hands the offboarding to the `leaver-deletions` job, which decides once,
 * from IAM read live, which of them nobody kept, records that decision on the offboarding with its audit event (one
 * conditional write) and starts, for each, a delete-user request already approved by the system (deterministic id:
 * created once) whose window already passed: it runs exactly as `/iam delete-user` after its window (the purge
 * steps, each audited). Kept: every user when an approver clicked Reactivate; a user whose owner is someone else
 * now (set-owner, Give to); one with an active key or a console password again (reactivated by hand); one gone, moved
 * outside the managed paths or in a group the policy does not list (the roles could not take it out).
 */
import { GetLoginProfileCommand, GetUserCommand, ListAccessKeysCommand } from '@aws-sdk/client-iam';
import type { Deps } from '../../deps.js';
import type { Job } from '../../jobs/types.js';
import { logger } from '../../logger.js';
import type { AccessRequest, LeaverDeletion, OffboardedUser, Offboarding } from '../../store/requests.js';
import { errorName } from '../provisioning.js';
import { auditEvent, provisionJob, syncApprovalMessage } from '../requests.js';
import { isManagedUserPath } from './run-change.js';
import { ownerIn, readUserState } from './user-state.js';

/** The job deciding an offboarding's deletions (once a day at most: its id names the day). */
export const leaverDeletionsJob = (requestId: string, day: string): Job => ({
  id: `leaver-deletions:${requestId}:${day}`,
  type: 'leaver-deletions',
  payload: { requestId },
});

/** Whether an offboarding's deletion day has come and nothing was decided yet (what the daily check dispatches). */
export const deletionsDue = (request: AccessRequest, now: Date): boolean =>
  request.status === 'done' &&
  !!request.offboard?.deleteAt &&
  !request.offboard.deletions &&
  Date.parse(request.offboard.deleteAt) <= now.getTime();

/** The delete-user request of the i-th user an offboarding deletes: one id, so it is created once. */
export const leaverDeletionId = (offboardingId: string, i: number) => `${offboardingId}-delete-${i + 1}`;

/** The users of an offboarding that its deletions may delete: those it disabled. */
export const toDelete = (off: Offboarding): OffboardedUser[] => off.users.filter((u) => u.outcome === 'disabled');

const isNoSuchEntity = (e: unknown) => errorName(e) === 'NoSuchEntity' || errorName(e) === 'NoSuchEntityException';

/** Why one disabled user of `member` is kept, read live in IAM; undefined: nobody kept it, it is deleted. */
async function keptBecause(deps: Deps, member: string, u: OffboardedUser): Promise<string | undefined> {
  try {
    const iam = deps.aws.account(u.account).iam;
    const user = await iam.send(new GetUserCommand({ UserName: u.userName })).then(
      (out) => out.User,
      (e: unknown) => (isNoSuchEntity(e) ? undefined : Promise.reject(e)),
    );
    if (!user) return 'no longer in IAM';
    if (!isManagedUserPath(deps.config.policy, user.Path ?? '/')) return 'now outside the managed paths';
    const state = await readUserState(iam, u.userName);
    const owner = ownerIn(state);
    if (owner !== member) return owner ? `taken over by <@${owner}>` : 'its owner tag changed';
    const listed = new Set(deps.config.policy.groups.map((g) => g.name));
    const outside = state.groups.filter((g) => !listed.has(g));
    if (outside.length) return `in groups the policy does not list (${outside.join(', ')}): delete it by hand`;
    const keys = (await iam.send(new ListAccessKeysCommand({ UserName: u.userName }))).AccessKeyMetadata ?? [];
    if (keys.some((k) => k.Status === 'Active')) return 'an access key is active again';
    const console = await iam.send(new GetLoginProfileCommand({ UserName: u.userName })).then(
      () => true,
      (e: unknown) => (isNoSuchEntity(e) ? false : Promise.reject(e)),
    );
    if (console) return 'it has a console password again';
    return undefined;
  } catch (error) {
    logger.error('Reading a leaver user before its deletion failed', {
      userName: u.userName,
      errorName: errorName(error),
    });
    return `reading it failed (${errorName(error)}): not deleted`;
  }
}

/**
 * Worker: an offboarding's deletion day (see the module). Guarantees: decides at most once per offboarding (the
 * decision is one conditional write on the request read consistently, with its `leaver-deletions` audit event
 * naming the day and each user's outcome); never deletes a user anybody kept (Reactivate, a new owner, a key or
 * password active again) or that it cannot read; each deleted user gets one delete-user request (a deterministic id,
 * created once) already approved by the system, handed to the worker to run; safe to run again (a repeat creates
 * and decides nothing new: it brings the report up to date and hands a request whose run has not started to the
 * worker again).
 */
export async function runLeaverDeletions(deps: Deps, requestId: string): Promise<{ deleting: number; kept: number }> {
  for (let tries = 0; tries < 5; tries++) {
    const request = await deps.store.requests.get(requestId); // consistent
    const off = request?.offboard;
    if (!request || !off?.deleteAt) return { deleting: 0, kept: 0 };
    const now = deps.clock.now();
    if (off.deletions) {
      // a repeat (Lambda's retry of a part killed after the decision): the report may not say it yet
      await syncApprovalMessage(deps, request);
      return startDeletions(deps, request, off, off.deletions.users);
    }
    if (!deletionsDue(request, now)) return { deleting: 0, kept: 0 };
    const users: LeaverDeletion[] = [];
    for (const [i, u] of toDelete(off).entries()) {
      const why = off.reactivation ? 'reactivated by an approver' : await keptBecause(deps, off.member, u);
      users.push(
        why
          ? { account: u.account, userName: u.userName, outcome: 'kept', why }
          : {
              account: u.account,
              userName: u.userName,
              outcome: 'deleting',
              requestId: leaverDeletionId(request.id, i),
            },
      );
    }
    const deletions = { at: now.toISOString(), users };
    const next = await deps.store.requests.update(request, { offboard: { ...off, deletions } }, now, [], (n) => [
      deps.store.audit.transactionItem(
        auditEvent(deps, n, 'system', 'leaver-deletions', {
          member: off.member,
          deleteAt: off.deleteAt ?? '',
          deletedOn: now.toISOString(),
          deleting: users.filter((d) => d.outcome === 'deleting').map((d) => `${d.userName} (${d.account})`),
          kept: users.filter((d) => d.outcome === 'kept').map((d) => `${d.userName} (${d.account}): ${d.why}`),
        }),
      ),
    ]);
    if (!next) continue; // changed meanwhile (a Reactivate, a Give to): decide again from what is stored
    await syncApprovalMessage(deps, next);
    return startDeletions(deps, next, off, users);
  }
  throw new Error(`Offboarding ${requestId} kept changing while its deletions were decided`);
}

/** Creates (once) and hands to the worker the delete-user request of each user decided `deleting`. */
async function startDeletions(
  deps: Deps,
  offboarding: AccessRequest,
  off: Offboarding,
  users: LeaverDeletion[],
): Promise<{ deleting: number; kept: number }> {
  const deleting = users.filter((d) => d.outcome === 'deleting' && d.requestId);
  for (const d of deleting) {
    const id = d.requestId ?? '';
    let request = await deps.store.requests.get(id);
    if (!request) {
      const record = off.users.find((u) => u.account === d.account && u.userName === d.userName);
      const now = deps.clock.now();
      const fresh: AccessRequest = {
        id,
        kind: 'delete-user',
        status: 'approved',
        requester: 'system',
        owner: off.member,
        recipient: off.member,
        account: d.account,
        accountId: '',
        userName: d.userName,
        path: record?.path ?? deps.config.policy.users.path,
        groups: [],
        accessType: 'keys', // create-user's field; a deletion mints no credentials
        tags: [],
        plan: [],
        approvals: [],
        attempt: 1,
        credentialIssue: 0,
        justification: `<@${off.member}> left: nobody reactivated or took over IAM user ${d.userName} within \`leavers.deleteAfterDays\` (offboarding ${offboarding.id}).`,
        deletion: { offboarding: offboarding.id },
        createdAt: now.toISOString(),
        expiresAt: new Date(now.getTime() + deps.config.policy.requests.lifetimeHours * 3_600_000).toISOString(),
        updatedAt: now.toISOString(),
        version: 0,
      };
      try {
        await deps.store.requests.create(fresh, [
          deps.store.audit.transactionItem(
            auditEvent(deps, fresh, 'system', 'requested', {
              kind: 'delete-user',
              userName: d.userName,
              account: d.account,
              owner: off.member,
              offboarding: offboarding.id,
              deleteAt: off.deleteAt ?? '',
            }),
          ),
        ]);
        request = fresh;
      } catch (error) {
        request = await deps.store.requests.get(id); // another delivery created it first
        if (!request) throw error;
      }
    }
    if (request.status === 'approved') await deps.dispatcher.dispatch(provisionJob(request));
  }
  return { deleting: deleting.length, kept: users.length - deleting.length };
}
