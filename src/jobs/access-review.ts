import * as z from 'zod/mini';
import { esc } from '../blocks/text.js';
import type { Deps } from '../deps.js';
import { BotError, ValidationError } from '../errors.js';
import { invocationStartedAt } from '../invocation.js';
import { submitDeleteUser } from '../kinds/delete-user/submit.js';
import { logger } from '../logger.js';
import { runAccessReview } from '../services/access-review.js';
import { checkChangeDraft, submitChangeRequest } from '../services/kinds/change-requests.js';
import type { Job } from './types.js';

const runSchema = z.object({
  account: z.string().check(z.minLength(1)),
  day: z.string(),
  /** 1 (or absent) for the day's first part: how many parts of the day's run this is. */
  part: z.optional(z.int().check(z.minimum(1))),
});

/**
 * The job running one part of one account's access review on one day (its id names the day and the part: the day's
 * second dispatch is skipped, and each continuation is a job of its own).
 */
export const accessReviewJob = (account: string, day: string, part = 1): Job => ({
  id: `access-review:${account}:${day}${part > 1 ? `:part:${part}` : ''}`,
  type: 'access-review',
  payload: { account, day, ...(part > 1 ? { part } : {}) },
});

/**
 * The worker's handler of `access-review` jobs: one part of the day's run (see runAccessReview), its time budget
 * REVIEW_PART_MS counted from the invocation's start on the injected clock; a part that stopped on its budget with
 * work left that it could do now hands it to the next part, at most REVIEW_MAX_PARTS parts a day (the rest waits for
 * the next day's run). A part killed before it hands on is retried by Lambda and hands on then.
 */
export async function accessReviewJobHandler(deps: Deps, payload: Record<string, unknown>): Promise<void> {
  const { account, day, part = 1 } = runSchema.parse(payload);
  const { REVIEW_PART_MS: budget, REVIEW_MAX_PARTS: maxParts } = deps.config.env;
  const now = () => deps.clock.now().getTime();
  const started = invocationStartedAt(now());
  const result = await runAccessReview(deps, account, {
    outOfTime: (reserveMs) => now() - started + reserveMs > budget,
  });
  if (result.more && part < maxParts) await deps.dispatcher.dispatch(accessReviewJob(account, day, part + 1));
  else if (result.more) logger.info('Access review part', { account, part, outcome: 'left-to-next-day' });
}

/** The daily scheduled task: one `access-review` job per account (home and every named account). */
export async function dispatchAccessReviews(deps: Deps): Promise<Record<string, number>> {
  const day = deps.clock.now().toISOString().slice(0, 10);
  let dispatched = 0;
  for (const account of deps.aws.names) {
    await deps.dispatcher.dispatch(accessReviewJob(account, day));
    dispatched++;
  }
  return { dispatched };
}

const answerSchema = z.object({
  account: z.string(),
  round: z.string(),
  userName: z.string(),
  group: z.optional(z.string()),
  requester: z.string(),
  responseUrl: z.optional(z.string()),
});

/**
 * Remove or Delete in an access review, after the Slack function re-authorized the click and recorded the answer
 * once: the request starts exactly as `/iam remove-from-group <user> <group> --reason …` or `/iam delete-user <user>
 * --reason …` typed by the clicker would (the same checks, the same approval rules: a removal by the user's owner is
 * done at once, a deletion goes to approval), and the clicker gets the answer.
 */
export async function reviewAnswerJob(deps: Deps, payload: Record<string, unknown>): Promise<void> {
  const p = answerSchema.parse(payload);
  const days = deps.config.policy.reviews.everyDays;
  let text: string;
  try {
    if (p.group !== undefined) {
      const checked = await checkChangeDraft(deps, {
        kind: 'remove-from-group',
        account: p.account,
        userName: p.userName,
        groups: [p.group],
        justification: `Access review ${p.round}: nothing ${p.group} grants was used in ${days} days.`,
      });
      const { request, atOnce } = await submitChangeRequest(deps, p.requester, checked, { channel: p.requester });
      text = atOnce
        ? `Removing \`${esc(p.userName)}\` from \`${esc(p.group)}\` (request \`${request.id}\`): I'll DM you when it is done.`
        : `Your request \`${request.id}\` to remove \`${esc(p.userName)}\` from \`${esc(p.group)}\` is waiting for approval.`;
    } else {
      const request = await submitDeleteUser(
        deps,
        p.requester,
        {
          account: p.account,
          userName: p.userName,
          justification: `Access review ${p.round}: no activity in ${days} days.`,
        },
        { channel: p.requester },
      );
      text = `Your request \`${request.id}\` to delete \`${esc(p.userName)}\` is waiting for approval.`;
    }
  } catch (error) {
    if (!(error instanceof BotError)) throw error;
    const lines = error instanceof ValidationError ? Object.values(error.fields).map((m) => `• ${esc(m)}`) : [];
    text = `I can't do that: ${error.message}${lines.length ? `\n${lines.join('\n')}` : ''}\nNothing was changed.`;
  }
  if (p.responseUrl) await deps.messenger.respond(p.responseUrl, { text, replaceOriginal: false });
  else await deps.messenger.post(p.requester, { text });
}
