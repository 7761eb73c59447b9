import type { App, BlockButtonAction } from '@slack/bolt';
import { answeredReviewBlocks, parseReviewRef } from '../../blocks/access-review.js';
import { REVIEW_DELETE, REVIEW_KEEP, REVIEW_REMOVE } from '../../blocks/ids.js';
import type { Deps } from '../../deps.js';
import { answerReview, type ReviewAnswer } from '../../services/access-review.js';
import { answerRefusal } from './request-errors.js';

const NOTES: Record<ReviewAnswer, (user: string) => string> = {
  kept: (user) => `:white_check_mark: Kept by <@${user}>.`,
  removed: (user) => `:heavy_minus_sign: Removal asked by <@${user}>.`,
  deleted: (user) => `:wastebasket: Deletion asked by <@${user}> (through approval).`,
};

/**
 * The buttons of an access review's DM: Keep, Remove, Delete. Each click is re-authorized from stored state (the
 * review's round and jobs, the ownership projection: the payload only names the membership) and answered once (a
 * conditional write: a double click does nothing twice). Keep is only recorded; Remove and Delete hand the request to
 * the worker, which starts it as the clicker would by typing the command.
 */
export function registerAccessReviewActions(app: App, deps: Deps): void {
  const on = (actionId: string, answer: ReviewAnswer) =>
    app.action<BlockButtonAction>(actionId, async ({ ack, body, action, respond }) => {
      await ack();
      const ref = parseReviewRef(action.value);
      if (!ref) return; // not a value this bot rendered
      const dm = (text: string) => deps.messenger.post(body.user.id, { text });
      const say = (text: string) =>
        body.response_url ? respond({ response_type: 'ephemeral', replace_original: false, text }) : dm(text);
      try {
        await answerReview(deps, body.user.id, ref, answer);
        // the DM shows the answer in place of that membership's buttons
        const blocks = body.message?.blocks as unknown[] | undefined;
        if (body.response_url && blocks?.length)
          await respond({
            replace_original: true,
            text: String(body.message?.text ?? 'Access review'),
            blocks: answeredReviewBlocks(blocks, action.value ?? '', NOTES[answer](body.user.id)) as never,
          });
        if (answer === 'kept') {
          await say(`Kept: \`${ref.u}\` stays in \`${ref.g}\`. I won't ask about it again until the next review.`);
          return;
        }
        await deps.dispatcher.dispatch({
          id: `review-answer:${ref.a}:${ref.r}:${ref.u}:${ref.g ?? '*'}`,
          type: 'review-answer',
          payload: {
            account: ref.a,
            round: ref.r,
            userName: ref.u,
            ...(ref.g !== undefined ? { group: ref.g } : {}),
            requester: body.user.id,
            ...(body.response_url ? { responseUrl: body.response_url } : {}),
          },
        });
      } catch (error) {
        await answerRefusal(body.response_url ? respond : undefined, error, actionId, dm);
      }
    });
  on(REVIEW_KEEP, 'kept');
  on(REVIEW_REMOVE, 'removed');
  on(REVIEW_DELETE, 'deleted');
}
