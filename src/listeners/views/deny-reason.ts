import type { App } from '@slack/bolt';
import { DENY_REASON_BLOCK, DENY_REASON_MODAL, FORM_INPUT } from '../../blocks/ids.js';
import { readDenyFormContext } from '../../blocks/request.js';
import type { Deps } from '../../deps.js';
import { denyRequest } from '../../services/requests.js';
import { requestErrorText } from '../actions/request-errors.js';

/**
 * The deny form's submission: denies the request, deciding again from the stored request (it may have been
 * decided since the form opened); a refusal shows in the form.
 */
export function registerDenyReasonView(app: App, deps: Deps): void {
  app.view(DENY_REASON_MODAL, async ({ ack, body, view }) => {
    const reason = view.state.values[DENY_REASON_BLOCK]?.[FORM_INPUT]?.value?.trim() ?? '';
    const context = readDenyFormContext(view.private_metadata);
    if (!reason) {
      await ack({
        response_action: 'errors',
        errors: { [DENY_REASON_BLOCK]: 'Give a reason; the requester reads it.' },
      });
      return;
    }
    try {
      await denyRequest(deps, context?.requestId ?? '', body.user.id, reason);
    } catch (error) {
      await ack({ response_action: 'errors', errors: { [DENY_REASON_BLOCK]: requestErrorText(error, 'deny') } });
      return;
    }
    await ack();
  });
}
