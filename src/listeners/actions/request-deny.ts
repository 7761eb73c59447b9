import type { App, BlockButtonAction } from '@slack/bolt';
import { REQUEST_DENY } from '../../blocks/ids.js';
import { denyReasonModal, denyRefusedView } from '../../blocks/request.js';
import type { Deps } from '../../deps.js';
import { logger } from '../../logger.js';
import { checkCanDeny } from '../../services/requests.js';
import { answerRefusal, requestErrorText } from './request-errors.js';

/**
 * Deny on a request message (or in an approver's App Home): opens the form asking for a reason first (views.open is
 * the first call: the trigger_id lasts 3 s, and reading the request or asking Slack who clicks could outlast it),
 * then checks that the clicker may deny the request now; if not, the form becomes the refusal (views.update), or,
 * when the form could not be opened or changed, the refusal is answered ephemerally (a DM from the App Home). The
 * submission decides again from the stored request (deny-reason.ts).
 */
export function registerDenyAction(app: App, deps: Deps): void {
  app.action<BlockButtonAction>(REQUEST_DENY, async ({ ack, body, action, respond, client }) => {
    await ack();
    const requestId = action.value ?? '';
    const answer = (error: unknown) =>
      answerRefusal(respond, error, 'deny', (text) => deps.messenger.post(body.user.id, { text }));
    let viewId: string | undefined;
    try {
      const opened = await client.views.open({ trigger_id: body.trigger_id, view: denyReasonModal({ id: requestId }) });
      viewId = opened.view?.id;
    } catch (error) {
      logger.warn('Could not open the deny form', { requestId, errorName: (error as Error)?.name });
    }
    try {
      await checkCanDeny(deps, requestId, body.user.id);
    } catch (error) {
      if (!viewId) {
        await answer(error);
        return;
      }
      const text = requestErrorText(error, 'deny');
      await client.views.update({ view_id: viewId, view: denyRefusedView(text) }).catch(async (failed: unknown) => {
        logger.warn('Could not show the refusal in the deny form', { requestId, errorName: (failed as Error)?.name });
        await answer(error);
      });
      return;
    }
    // The form could not be opened (its trigger expired): say so, changing nothing.
    if (!viewId) await answer(new Error('views.open failed'));
  });
}
