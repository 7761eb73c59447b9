import type { App } from '@slack/bolt';
import {
  createUserModal,
  formErrors,
  readCreateUserForm,
  readCreateUserFormContext,
  readCreateUserFormLike,
} from '../../blocks/create-user-modal.js';
import { CREATE_USER_MODAL } from '../../blocks/ids.js';
import type { Deps } from '../../deps.js';
import { ValidationError } from '../../errors.js';
import { logger } from '../../logger.js';
import { consolePasswordWarning } from '../../services/console-password.js';
import { groupsLike, likeNote } from '../../services/like-user.js';
import { type CheckedDraft, checkCreateUserDraft } from '../../services/request-validation.js';
import { submitRequest } from '../../services/requests.js';
import { requestErrorText } from '../actions/request-errors.js';

/**
 * The create-user form's submission: checks it (IAM included: a few parallel reads) and shows problems inline in
 * the form. A console password in an account where the new user could not change it shows the form again with a
 * warning, once: "Request anyway" sends it. When it passes, stores the request with its name reserved (one
 * conditional write) and hands its posting and the requester's DM to the worker, then closes the form. "Same groups
 * as" (the command's `--like`) adds the groups of an existing managed user the policy allows; the requester is DMed
 * which were copied and which skipped.
 */
export function registerCreateUserView(app: App, deps: Deps): void {
  app.view(CREATE_USER_MODAL, async ({ ack, body, view }) => {
    const { policy } = deps.config;
    const requester = body.user.id;
    const draft = readCreateUserForm(view.state.values as never);
    const context = readCreateUserFormContext(view.private_metadata);
    const like = readCreateUserFormLike(view.state.values as never);
    // Read in parallel with the checks, for console access only; never throws.
    const warning = draft.accessType === 'keys' ? undefined : consolePasswordWarning(deps, draft);
    const refuse = async (error: unknown, doing: string) => {
      // Nothing was stored: the form stays open with the problem on its field.
      const fields = error instanceof ValidationError ? error.fields : { userName: requestErrorText(error, doing) };
      await ack({ response_action: 'errors', errors: formErrors(policy, fields) });
    };
    let checked: CheckedDraft;
    let likeText: string | undefined;
    try {
      // "Same groups as": the groups of an existing managed user the policy allows (the others named as skipped)
      if (like) {
        const copied = await groupsLike(deps, draft.account, like);
        draft.groups = [...new Set([...(draft.groups ?? []), ...copied.groups])];
        likeText = likeNote(copied);
      }
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
        ...(like ? { like } : {}),
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
    // what "Same groups as" copied and skipped (best effort: the request stands)
    if (likeText)
      await deps.messenger.post(requester, { text: likeText }).catch((error: unknown) => {
        logger.warn('Could not tell the requester what "Same groups as" copied', { errorName: (error as Error)?.name });
      });
  });
}
