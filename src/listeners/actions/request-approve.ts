import type { App, BlockButtonAction } from '@slack/bolt';
import { REQUEST_APPROVE } from '../../blocks/ids.js';
import type { Deps } from '../../deps.js';
import { approveRequest } from '../../services/requests.js';
import { requestErrorText } from './request-errors.js';

/**
 * Approve on a request message: ack, then decide from the stored request (no AWS call on this path). A click that
 * does not count gets an ephemeral reply and changes nothing.
 */
export function registerApproveAction(app: App, deps: Deps): void {
  app.action<BlockButtonAction>(REQUEST_APPROVE, async ({ ack, body, action, respond }) => {
    await ack();
    try {
      const outcome = await approveRequest(deps, action.value ?? '', body.user.id);
      if (outcome.kind === 'waiting') {
        await respond({
          response_type: 'ephemeral',
          replace_original: false,
          text: `Your approval is recorded: ${outcome.approvals} of ${outcome.requiredApprovals}. It now needs another approver.`,
        });
      }
    } catch (error) {
      await respond({ response_type: 'ephemeral', replace_original: false, text: requestErrorText(error, 'approve') });
    }
  });
}
