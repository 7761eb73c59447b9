/**
 * Access reviews from real use (issue 22): every `reviews.everyDays` days (policy.yml, default 90) the worker asks IAM
 * which services each owned managed user used (GenerateServiceLastAccessedDetails on the user's ARN, collected on a
 * later run with GetServiceLastAccessedDetails: IAM makes the report asynchronously) and which services each policy
 * group those users belong to grants (the same job on the group's ARN: a group's report lists every service its
 * policies allow). A membership's use is then derived from the user's job: the services the group grants that the user
 * authenticated to in the period. (The user's report does not say through which policy a service was used: a service
 * two of its groups grant counts as used for both.) Once every job of the round is collected, each owner gets one DM
 * (src/blocks/access-review.ts): Keep / Remove per membership of a policy group, Delete for a user with no activity.
 *
 * State lives in the reminders table (src/store/reminders.ts): the round, each job (id, state, result) and each answer,
 * read consistently (in batches of 100). A day's run is one or more worker parts (src/jobs/access-review.ts): each
 * makes at most `reviews.callsPerRun` IAM calls and starts no IAM call, nor an owner's DM, that the slowest one so far
 * says would end past REVIEW_PART_MS from its invocation's start; a part that stops on its budget with work it could
 * do now hands the rest to a continuation part (at most REVIEW_MAX_PARTS a day); jobs IAM has not finished wait for
 * the next day's run. Groups outside the policy are not reviewed (the bot cannot remove a user from them).
 */
import {
  GenerateServiceLastAccessedDetailsCommand,
  GetGroupCommand,
  GetServiceLastAccessedDetailsCommand,
} from '@aws-sdk/client-iam';
import { accessReviewMessages, type ReviewedUser, type ReviewRef } from '../blocks/access-review.js';
import { DAY } from '../clock.js';
import type { Deps } from '../deps.js';
import { NotAuthorizedError, ValidationError } from '../errors.js';
import { logger } from '../logger.js';
import type { ProjectedUser } from '../store/users.js';
import { isManagedUserPath } from './kinds/run-change.js';

export const roundItemId = (account: string) => `review-round#${account}`;
export const jobItemId = (account: string, round: string, kind: 'user' | 'group', name: string) =>
  `review-job#${account}#${round}#${kind}#${name}`;
/** The answer to one membership (`group`), or to the user itself (Delete). */
export const answerItemId = (account: string, round: string, userName: string, group?: string) =>
  `review-answer#${account}#${round}#${userName}#${group ?? '*'}`;
const dmItemId = (account: string, round: string, owner: string) => `review-dm#${account}#${round}#${owner}`;

/** Results per page of GetServiceLastAccessedDetails (IAM allows 1 to 1,000). */
export const REVIEW_PAGE_SIZE = 200;

export interface AccessReviewResult {
  round: string;
  /** Jobs started (GenerateServiceLastAccessedDetails) and collected in this run. */
  started: number;
  collected: number;
  /** Jobs IAM has not finished, or not reached within the budget: collected by a later run. */
  pending: number;
  /** IAM calls made. */
  calls: number;
  /** Owners DMed in this run. */
  dms: number;
  /**
   * The part stopped on its budget (calls or time) with work it could do now (a job to start or collect, an owner to
   * DM), or started jobs the next part may collect: a continuation part goes on with it.
   */
  more: boolean;
}

/** What the review of one user found: the services it used in the period, and each policy group's services. */
interface Found {
  user: Map<string, string[]>;
  group: Map<string, string[]>;
}

const reviewedUsers = (deps: Pick<Deps, 'config' | 'store'>, account: string) =>
  deps.store.users
    .ofAccount(account)
    .then((users) => users.filter((u) => u.owner && isManagedUserPath(deps.config.policy, u.path)));

const policyGroups = (deps: Pick<Deps, 'config'>, user: Pick<ProjectedUser, 'groups'>) => {
  const listed = new Set(deps.config.policy.groups.map((g) => g.name));
  return user.groups.filter((g) => listed.has(g)).sort();
};

/**
 * One run of an account's access review: starts a new round when none is under way and the last was sent
 * `everyDays` ago or more; starts the round's missing jobs and collects the started ones within the call budget; once
 * all are collected, sends each owner's DM once (claimed before it is sent, given back when the send fails). Safe to
 * run again at any point: a job is started once per round, a DM sent once per owner and round.
 */
export async function runAccessReview(
  deps: Deps,
  account: string,
  options: { maxCalls?: number; outOfTime?: (reserveMs: number) => boolean } = {},
): Promise<AccessReviewResult> {
  const { policy } = deps.config;
  const store = deps.store.reminders;
  const now = deps.clock.now();
  const clockMs = () => deps.clock.now().getTime();
  const callBudget = options.maxCalls ?? policy.reviews.callsPerRun;
  const outOfTime = options.outOfTime ?? (() => false);
  // the slowest IAM call so far: none is started that could not end within the part's time
  let slowestCall = 0;
  const timed = async <T>(call: () => Promise<T>): Promise<T> => {
    const t = clockMs();
    try {
      return await call();
    } finally {
      slowestCall = Math.max(slowestCall, clockMs() - t);
    }
  };
  // out of calls, or of time: what is left goes to the next part (or the next day's run)
  const spent = () => {
    const out = result.calls >= callBudget || outOfTime(slowestCall);
    if (out) result.more = true;
    return out;
  };
  const period = policy.reviews.everyDays * DAY;
  const current = await store.review(roundItemId(account));
  let round = current?.round;
  const result: AccessReviewResult = {
    round: round ?? '',
    started: 0,
    collected: 0,
    pending: 0,
    calls: 0,
    dms: 0,
    more: false,
  };
  if (current?.state === 'sent' && round && now.getTime() - Date.parse(round) < period) return result;
  if (!round || current?.state === 'sent') {
    round = now.toISOString().slice(0, 10);
    await store.setReview(roundItemId(account), { round, state: 'collecting' }, now);
  }
  result.round = round;

  const users = await reviewedUsers(deps, account);
  const groups = [...new Set(users.flatMap((u) => policyGroups(deps, u)))].sort();
  const { iam } = deps.aws.account(account);
  let identity: { accountId: string; partition: string } | undefined;
  const arnOf = async (kind: 'user' | 'group', name: string, path: string) => {
    if (kind === 'group') {
      result.calls++;
      const out = await timed(() => iam.send(new GetGroupCommand({ GroupName: name, MaxItems: 1 })));
      return out.Group?.Arn ?? '';
    }
    if (!identity) {
      const who = await deps.aws.callerIdentity(account);
      identity = { accountId: who.Account ?? '', partition: who.Arn?.split(':')[1] ?? 'aws' };
    }
    return `arn:${identity.partition}:iam::${identity.accountId}:user${path}${name}`;
  };

  const found: Found = { user: new Map(), group: new Map() };
  const targets = [
    ...groups.map((name) => ({ kind: 'group' as const, name, path: '' })),
    ...users.map((u) => ({ kind: 'user' as const, name: u.userName, path: u.path })),
  ];
  const items = await store.reviews(targets.map((t) => jobItemId(account, round, t.kind, t.name)));
  for (const t of targets) {
    const id = jobItemId(account, round, t.kind, t.name);
    const item = items.get(id);
    if (item?.state === 'done') {
      found[t.kind].set(t.name, JSON.parse(item.data ?? '[]') as string[]);
      continue;
    }
    if (spent()) {
      result.pending++;
      continue;
    }
    if (!item?.jobId || item.state === 'failed') {
      const arn = await arnOf(t.kind, t.name, t.path);
      if (spent()) {
        result.pending++;
        continue;
      }
      result.calls++;
      const out = await timed(() => iam.send(new GenerateServiceLastAccessedDetailsCommand({ Arn: arn })));
      await store.setReview(id, { state: 'started', jobId: out.JobId ?? '' }, now);
      result.started++;
      result.pending++; // IAM makes the report in the background: collected by a later run
      continue;
    }
    const services = await collect(deps, account, item.jobId, spent, timed, result);
    if (services === 'failed') {
      await store.setReview(id, { state: 'failed' }, now);
      result.pending++;
      continue;
    }
    if (!services) {
      result.pending++;
      continue;
    }
    const names =
      t.kind === 'group'
        ? services.map((s) => s.namespace)
        : services.filter((s) => s.last && now.getTime() - s.last.getTime() <= period).map((s) => s.namespace);
    const data = [...new Set(names)].sort();
    await store.setReview(id, { state: 'done', data: JSON.stringify(data) }, now);
    found[t.kind].set(t.name, data);
    result.collected++;
  }
  // jobs started by this part: the next part collects them (IAM makes a report in seconds, mostly); one that finds
  // them all still in progress starts nothing, and hands nothing on: they wait for the next day's run
  if (result.started > 0) result.more = true;
  if (result.pending > 0) {
    logger.info('Access review collecting', { account, ...result });
    return result;
  }

  let failedSends = 0;
  const owners = [...new Set(users.map((u) => u.owner as string))].sort();
  const answers = await store.reviews(
    users.flatMap((u) => [
      answerItemId(account, round, u.userName),
      ...policyGroups(deps, u).map((g) => answerItemId(account, round, u.userName, g)),
    ]),
  );
  // the slowest owner's DM so far: none is started that could not end within the part's time
  let slowestDm = 0;
  for (const owner of owners) {
    if (outOfTime(slowestDm)) {
      result.more = true;
      break;
    }
    const reviewed: ReviewedUser[] = [];
    for (const u of users.filter((x) => x.owner === owner)) {
      const usedAny = found.user.get(u.userName) ?? [];
      const memberships = [];
      for (const group of policyGroups(deps, u)) {
        if (answers.has(answerItemId(account, round, u.userName, group))) continue; // answered
        const granted = new Set(found.group.get(group) ?? []);
        memberships.push({ group, used: usedAny.filter((s) => granted.has(s)) });
      }
      const deleteOffered = !usedAny.length && !answers.has(answerItemId(account, round, u.userName));
      if (memberships.length || deleteOffered)
        reviewed.push({ account, userName: u.userName, memberships, usedAny, deleteOffered });
    }
    if (!reviewed.length) continue;
    const dmStarted = clockMs();
    const runId = `review:${account}:${round}:${deps.randomToken().slice(0, 8)}`;
    const step = dmItemId(account, round, owner);
    if (!(await store.claim(step, runId, now))) continue; // sent already (or being sent)
    try {
      // every message of the owner's review, then marked sent: a failure sends them all again on the next run
      for (const message of accessReviewMessages(round, policy.reviews.everyDays, reviewed))
        await deps.messenger.post(owner, message as never);
      await store.markSent([step], runId, deps.clock.now());
      result.dms++;
      const asked = reviewed.reduce((n, u) => n + u.memberships.length + (u.deleteOffered ? 1 : 0), 0);
      await store.countAsked(roundItemId(account), asked, deps.clock.now());
    } catch (error) {
      failedSends++;
      logger.warn('Access review DM failed', { account, errorName: (error as Error)?.name });
      await store.defer([step], runId, deps.clock.now());
    }
    slowestDm = Math.max(slowestDm, clockMs() - dmStarted);
  }
  if (result.more) {
    logger.info('Access review sending', { account, ...result });
    return result;
  }
  // a DM whose send failed is sent by the next run; the round ends when every owner has theirs
  if (!failedSends) await store.setReview(roundItemId(account), { round, state: 'sent' }, now);
  logger.info('Access review', { account, ...result });
  return result;
}

/**
 * Reads a job's result, every page (Marker), within the run's budget. undefined: IAM has not finished it
 * (IN_PROGRESS), or the budget ran out before its last page (read again from its first page next run).
 */
async function collect(
  deps: Deps,
  account: string,
  jobId: string,
  spent: () => boolean,
  timed: <T>(call: () => Promise<T>) => Promise<T>,
  result: AccessReviewResult,
): Promise<{ namespace: string; last?: Date }[] | 'failed' | undefined> {
  const { iam } = deps.aws.account(account);
  const services: { namespace: string; last?: Date }[] = [];
  let marker: string | undefined;
  do {
    if (spent()) return undefined;
    result.calls++;
    const page = await timed(() =>
      iam.send(
        new GetServiceLastAccessedDetailsCommand({
          JobId: jobId,
          MaxItems: REVIEW_PAGE_SIZE,
          ...(marker ? { Marker: marker } : {}),
        }),
      ),
    );
    if (page.JobStatus === 'IN_PROGRESS') return undefined;
    if (page.JobStatus === 'FAILED') return 'failed';
    for (const s of page.ServicesLastAccessed ?? [])
      if (s.ServiceNamespace)
        services.push({ namespace: s.ServiceNamespace, ...(s.LastAuthenticated ? { last: s.LastAuthenticated } : {}) });
    marker = page.IsTruncated ? page.Marker : undefined;
  } while (marker);
  return services;
}

/** An access review waiting for an owner's answers in one account (the App Home shows it). */
export interface ReviewToAnswer {
  account: string;
  round: string;
  /** Memberships asked about and not answered yet. */
  memberships: number;
  /** Users with no activity whose Delete is offered and not answered yet. */
  deletions: number;
}

/**
 * The access reviews `owner` has to answer: per account of their users, the current round once the owner's review DM
 * was sent, with the questions left (the memberships of policy groups not answered, Delete for a user with no
 * activity not answered). Reads only DynamoDB (consistently: what it shows decides nothing), no IAM.
 */
export async function reviewsToAnswer(
  deps: Pick<Deps, 'config' | 'store'>,
  owner: string,
  users: readonly ProjectedUser[],
): Promise<ReviewToAnswer[]> {
  const store = deps.store.reminders;
  const mine = users.filter((u) => u.owner === owner && isManagedUserPath(deps.config.policy, u.path));
  const out: ReviewToAnswer[] = [];
  for (const account of [...new Set(mine.map((u) => u.account))].sort()) {
    const round = (await store.review(roundItemId(account)))?.round;
    if (!round) continue;
    const dm = await store.review(dmItemId(account, round, owner));
    if (dm?.status !== 'sent') continue;
    const theirs = mine.filter((u) => u.account === account);
    const items = await store.reviews(
      theirs.flatMap((u) => [
        jobItemId(account, round, 'user', u.userName),
        answerItemId(account, round, u.userName),
        ...policyGroups(deps, u).map((g) => answerItemId(account, round, u.userName, g)),
      ]),
    );
    let memberships = 0;
    let deletions = 0;
    for (const u of theirs) {
      const job = items.get(jobItemId(account, round, 'user', u.userName));
      if (job?.state !== 'done') continue; // not in this review (it came after the round's jobs)
      memberships += policyGroups(deps, u).filter(
        (g) => !items.has(answerItemId(account, round, u.userName, g)),
      ).length;
      const usedAny = JSON.parse(job.data ?? '[]') as string[];
      if (!usedAny.length && !items.has(answerItemId(account, round, u.userName))) deletions++;
    }
    if (memberships || deletions) out.push({ account, round, memberships, deletions });
  }
  return out;
}

export type ReviewAnswer = 'kept' | 'removed' | 'deleted';

/**
 * A click on a review DM's button, re-authorized from stored state (the button only names the membership): the review
 * round must still be the account's current one, the clicker the user's owner in the projection, the user still a
 * member of the group; Remove only for a membership whose group's services the user did not use, Delete only for a
 * user with no activity. Then records the answer once (a second click is refused: nothing happens twice).
 */
export async function answerReview(
  deps: Pick<Deps, 'config' | 'store' | 'clock'>,
  clicker: string,
  ref: ReviewRef,
  answer: ReviewAnswer,
): Promise<{ user: ProjectedUser }> {
  const store = deps.store.reminders;
  const round = await store.review(roundItemId(ref.a));
  if (round?.round !== ref.r) throw new ValidationError('This access review is over: answer the latest one.');
  const user = await deps.store.users.get(ref.a, ref.u, { consistent: true });
  if (!user) throw new ValidationError(`There is no IAM user \`${ref.u}\` any more.`);
  if (user.owner !== clicker) throw new NotAuthorizedError(`Only the owner of \`${ref.u}\` answers its access review.`);
  const userJob = await store.review(jobItemId(ref.a, ref.r, 'user', ref.u));
  const usedAny = JSON.parse(userJob?.data ?? '[]') as string[];
  if (ref.g !== undefined) {
    if (!policyGroups(deps, user).includes(ref.g))
      throw new ValidationError(`\`${ref.u}\` is not in the group \`${ref.g}\` any more.`);
    if (answer === 'removed') {
      const groupJob = await store.review(jobItemId(ref.a, ref.r, 'group', ref.g));
      const granted = new Set(JSON.parse(groupJob?.data ?? '[]') as string[]);
      if (userJob?.state !== 'done' || groupJob?.state !== 'done' || usedAny.some((s) => granted.has(s)))
        throw new ValidationError(`\`${ref.u}\` used what \`${ref.g}\` grants: the review offers no Remove for it.`);
    }
  } else if (answer !== 'deleted' || userJob?.state !== 'done' || usedAny.length)
    throw new ValidationError(`\`${ref.u}\` was used in the period: the review offers no Delete for it.`);
  const id = answerItemId(ref.a, ref.r, ref.u, ref.g);
  const answered = { roundId: roundItemId(ref.a), round: ref.r, state: answer, by: clicker, now: deps.clock.now() };
  if (!(await store.answerReview(id, answered))) {
    const was = await store.review(id);
    throw new ValidationError(
      `Already answered: ${was?.state ?? 'answered'}${was?.by ? ` by <@${was.by}>` : ''}. Nothing was changed.`,
    );
  }
  return { user };
}
