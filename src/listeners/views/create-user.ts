import type { App } from '@slack/bolt';
import { formErrors, readCreateUserForm, readCreateUserFormContext } from '../../blocks/create-user-modal.js';
import { CREATE_USER_MODAL } from '../../blocks/ids.js';
import type { Deps } from '../../deps.js';
import { ValidationError } from '../../errors.js';
import { type CheckedDraft, checkCreateUserDraft } from '../../services/request-validation.js';
import { submitRequest } from '../../services/requests.js';
import { requestErrorText } from '../actions/request-errors.js';

/**
 * The create-user form's submission: checks it (IAM included: a few parallel reads) and shows problems inline in
 * the form; when it passes, stores the request with its name reserved (one conditional write) and hands its posting
 * and the requester's DM to the worker, then closes the form.
 */
export function registerCreateUserView(app: App, deps: Deps): void {
  app.view(CREATE_USER_MODAL, async ({ ack, body, view }) => {
    const { policy } = deps.config;
    const requester = body.user.id;
    const { channel } = readCreateUserFormContext(view.private_metadata);
    try {
      const checked: CheckedDraft = await checkCreateUserDraft(
        deps,
        requester,
        readCreateUserForm(view.state.values as never),
      );
      await submitRequest(deps, requester, checked, { confirmToRequester: true, ...(channel ? { channel } : {}) });
    } catch (error) {
      // Nothing was stored: the form stays open with the problem on its field.
      const fields =
        error instanceof ValidationError ? error.fields : { userName: requestErrorText(error, 'submit request') };
      await ack({ response_action: 'errors', errors: formErrors(policy, fields) });
      return;
    }
    await ack();
  });
}
