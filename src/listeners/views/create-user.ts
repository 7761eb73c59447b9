import type { App } from '@slack/bolt';
import { formErrors, readCreateUserForm, readCreateUserFormContext } from '../../blocks/create-user-modal.js';
import { CREATE_USER_MODAL } from '../../blocks/ids.js';
import type { Deps } from '../../deps.js';
import { ValidationError } from '../../errors.js';
import { logger } from '../../logger.js';
import { type CheckedDraft, checkCreateUserDraft } from '../../services/request-validation.js';
import { submitRequest } from '../../services/requests.js';
import { requestErrorText } from '../actions/request-errors.js';

/**
 * The create-user form's submission: checks it (IAM included: a few parallel reads) and shows problems inline in
 * the form; when it passes, closes the form, posts the request and DMs the requester.
 */
export function registerCreateUserView(app: App, deps: Deps): void {
  app.view(CREATE_USER_MODAL, async ({ ack, body, view, client }) => {
    const { policy } = deps.config;
    const requester = body.user.id;
    let checked: CheckedDraft;
    try {
      checked = await checkCreateUserDraft(deps, requester, readCreateUserForm(view.state.values as never));
    } catch (error) {
      const fields =
        error instanceof ValidationError ? error.fields : { userName: requestErrorText(error, 'check form') };
      await ack({ response_action: 'errors', errors: formErrors(policy, fields) });
      return;
    }
    await ack();
    try {
      const { channel } = readCreateUserFormContext(view.private_metadata);
      await submitRequest(deps, requester, checked, { confirmToRequester: true, ...(channel ? { channel } : {}) });
    } catch (error) {
      logger.error('Could not submit a create-user request', { errorName: (error as Error)?.name });
      await client.chat
        .postMessage({ channel: requester, text: requestErrorText(error, 'submit request') })
        .catch(() => undefined);
    }
  });
}
