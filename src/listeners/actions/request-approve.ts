import type { App, BlockButtonAction } from '@slack/bolt';
import { REQUEST_APPROVE } from '../../blocks/ids.js';
import type { Deps } from '../../deps.js';
import { approveRequest } from '../../services/requests.js';
import { answerRefusal } from './request-errors.js';

/**
 * Approve on a request message (or in an approver's App Home): decides from the stored request with one read and one conditional write, hands the
 * rest (message, DMs, provisioning, the "1 of 2" answer) to the worker, and answers Slack. A click that does not
 * count gets an ephemeral reply and changes nothing.
 */
export function registerApproveAction(app: App, deps: Deps): void {
  app.action<BlockButtonAction>(REQUEST_APPROVE, async ({ ack, body, action, respond }) => {
    await ack();
    try {
      await approveRequest(
        deps,
        action.value ?? '',
        body.user.id,
        body.response_url ? { responseUrl: body.response_url } : {},
      );
    } catch (error) {
      await answerRefusal(respond, error, 'approve', (text) => deps.messenger.post(body.user.id, { text }));
    }
  });
}
