import type { App, BlockButtonAction } from '@slack/bolt';
import { REQUEST_ABANDON } from '../../blocks/ids.js';
import type { Deps } from '../../deps.js';
import { abandonRequest } from '../../services/requests.js';
import { answerRefusal } from './request-errors.js';

/**
 * Abandon on a failed request's message: an approver ends it, releasing its user name; the message (updated by the
 * worker) keeps listing what is left in IAM.
 */
export function registerAbandonAction(app: App, deps: Deps): void {
  app.action<BlockButtonAction>(REQUEST_ABANDON, async ({ ack, body, action, respond }) => {
    await ack();
    try {
      await abandonRequest(deps, action.value ?? '', body.user.id);
    } catch (error) {
      await answerRefusal(respond, error, 'abandon');
    }
  });
}
