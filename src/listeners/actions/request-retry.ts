import type { App, BlockButtonAction } from '@slack/bolt';
import { REQUEST_RETRY } from '../../blocks/ids.js';
import type { Deps } from '../../deps.js';
import { retryRequest } from '../../services/requests.js';
import { requestErrorText } from './request-errors.js';

/** Retry on a failed request's message: an approver starts provisioning again (the message shows progress). */
export function registerRetryAction(app: App, deps: Deps): void {
  app.action<BlockButtonAction>(REQUEST_RETRY, async ({ ack, body, action, respond }) => {
    await ack();
    try {
      await retryRequest(deps, action.value ?? '', body.user.id);
    } catch (error) {
      await respond({ response_type: 'ephemeral', replace_original: false, text: requestErrorText(error, 'retry') });
    }
  });
}
