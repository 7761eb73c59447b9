import type { App } from '@slack/bolt';
import {
  createUserModal,
  formErrors,
  readCreateUserForm,
  readCreateUserFormContext,
} from '../../blocks/create-user-modal.js';
import { CREATE_USER_MODAL } from '../../blocks/ids.js';
import type { Deps } from '../../deps.js';
import { ValidationError } from '../../errors.js';
import { consolePasswordWarning } from '../../services/console-password.js';
import { type CheckedDraft, checkCreateUserDraft } from '../../services/request-validation.js';
import { submitRequest } from '../../services/requests.js';
import { requestErrorText } from '../actions/request-errors.js';

/**
 * The create-user form's submission: checks it (IAM included: a few parallel reads) and shows problems inline in
 * the form. A console password in an account where the new user could not change it shows the form again with a
 * warning, once: "Request anyway" sends it. When it passes, stores the request with its name reserved (one
 * conditional write) and hands its posting and the requester's DM to the worker, then closes the form.
 */
export function registerCreateUserView(app: App, deps: Deps): void {
  app.view(CREATE_USER_MODAL, async ({ ack, body, view }) => {
    const { policy } = deps.config;
    const requester = body.user.id;
    const draft = readCreateUserForm(view.state.values as never);
    const context = readCreateUserFormContext(view.private_metadata);
    // Read in parallel with the checks, for console access only; never throws.
    const warning = draft.accessType === 'keys' ? undefined : consolePasswordWarning(deps, draft);
    const refuse = async (error: unknown, doing: string) => {
      // Nothing was stored: the form stays open with the problem on its field.
      const fields = error instanceof ValidationError ? error.fields : { userName: requestErrorText(error, doing) };
      await ack({ response_action: 'errors', errors: formErrors(policy, fields) });
    };
    let checked: CheckedDraft;
    try {
      checked = await checkCreateUserDraft(deps, requester, draft);
    } catch (error) {
      await refuse(error, 'check form');
      return;
    }
    const warned = warning && (await warning);
    if (warned && warned.key !== context.acknowledged) {
      const warnedView = createUserModal({
        policy,
        requester,
        prefill: draft,
        context: { ...context, acknowledged: warned.key },
        warning: `${warned.text} If one of its groups grants \`iam:ChangePassword\`, press *Request anyway*.`,
      });
      await ack({ response_action: 'update', view: warnedView as never });
      return;
    }
    try {
      const { channel } = context;
      await submitRequest(deps, requester, checked, { confirmToRequester: true, ...(channel ? { channel } : {}) });
    } catch (error) {
      await refuse(error, 'submit request');
      return;
    }
    await ack();
  });
}
