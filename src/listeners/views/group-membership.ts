import type { App } from '@slack/bolt';
import { GROUP_MEMBERSHIP_MODAL } from '../../blocks/ids.js';
import { membershipFormErrors, readMembershipForm, readMembershipFormContext } from '../../blocks/membership-modal.js';
import type { Deps } from '../../deps.js';
import { ValidationError } from '../../errors.js';
import { draftLike } from '../../kinds/like.js';
import { checkChangeDraft, submitChangeRequest } from '../../services/kinds/change-requests.js';
import { groupsLike } from '../../services/like-user.js';
import { requestErrorText } from '../actions/request-errors.js';

/**
 * The membership form's submission: checks the change (reads only) and shows problems on the fields; when it
 * passes, stores the request (one write, one hand-off), closes the form; the worker DMs the requester what happens next.
 */
export function registerMembershipView(app: App, deps: Deps): void {
  app.view(GROUP_MEMBERSHIP_MODAL, async ({ ack, body, view }) => {
    const requester = body.user.id;
    const context = readMembershipFormContext(view.private_metadata);
    const draft = readMembershipForm(view.state.values as never, context);
    try {
      // "Same groups as": the groups of an existing managed user the policy allows, that this user lacks
      const like = draftLike(draft);
      if (like) {
        const copied = await groupsLike(deps, draft.account, like, draft.userName);
        draft.groups = [...new Set([...(draft.groups ?? []), ...copied.groups])];
      }
      const checked = await checkChangeDraft(deps, draft);
      // The worker DMs the requester: that it waits for approval, or (a removal allowed at once) that it runs.
      await submitChangeRequest(deps, requester, checked, {
        confirmToRequester: true,
        ...(context.channel ? { channel: context.channel } : {}),
      });
    } catch (error) {
      const fields =
        error instanceof ValidationError ? error.fields : { userName: requestErrorText(error, 'submit change') };
      await ack({ response_action: 'errors', errors: membershipFormErrors(fields) });
      return;
    }
    await ack();
  });
}
