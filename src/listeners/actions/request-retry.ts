import type { App, BlockButtonAction } from '@slack/bolt';
import { REQUEST_RETRY } from '../../blocks/ids.js';
import type { Deps } from '../../deps.js';
import { retryRequest } from '../../services/requests.js';
import { answerRefusal } from './request-errors.js';

/**
 * Retry on a failed request's message: an approver starts provisioning again (the worker shows progress), or, when
 * the approval is older than the request lifetime, sends the request back for a fresh approval.
 */
export function registerRetryAction(app: App, deps: Deps): void {
  app.action<BlockButtonAction>(REQUEST_RETRY, async ({ ack, body, action, respond }) => {
    await ack();
    try {
      await retryRequest(deps, action.value ?? '', body.user.id, { responseUrl: body.response_url });
    } catch (error) {
      await answerRefusal(respond, error, 'retry');
    }
  });
}
