import type { App, BlockButtonAction } from '@slack/bolt';
import { REQUEST_DENY } from '../../blocks/ids.js';
import { denyReasonModal } from '../../blocks/request.js';
import type { Deps } from '../../deps.js';
import { checkCanDeny } from '../../services/requests.js';
import { answerRefusal } from './request-errors.js';

/**
 * Deny on a request message (or in an approver's App Home): opens the form asking for a reason, if the clicker may deny it now (one read, then
 * views.open, which must happen within the trigger's 3 seconds).
 */
export function registerDenyAction(app: App, deps: Deps): void {
  app.action<BlockButtonAction>(REQUEST_DENY, async ({ ack, body, action, respond, client }) => {
    await ack();
    try {
      const request = await checkCanDeny(
        deps,
        action.value ?? '',
        body.user.id,
        body.response_url ? { responseUrl: body.response_url } : {},
      );
      await client.views.open({ trigger_id: body.trigger_id, view: denyReasonModal(request) as never });
    } catch (error) {
      await answerRefusal(respond, error, 'deny', (text) => deps.messenger.post(body.user.id, { text }));
    }
  });
}
