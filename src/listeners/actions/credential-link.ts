import type { App, BlockButtonAction } from '@slack/bolt';
import { CREDENTIAL_LINK_OPEN, CREDENTIAL_NOT_ME } from '../../blocks/ids.js';
import type { Deps } from '../../deps.js';

/** The buttons of the one-time credential DM. */
export function registerCredentialLinkActions(app: App, deps: Deps): void {
  // A URL button: the browser opens the link; Slack still reports the click, which only needs an ack.
  app.action(CREDENTIAL_LINK_OPEN, async ({ ack }) => {
    await ack();
  });

  // "This wasn't me": ack at once, then the worker deactivates and alerts (AssumeRole and IAM can be slow). The
  // job re-authorizes from the stored link; the payload only says which link and who pressed. One job per press:
  // the service's conditional write makes a second press a no-op.
  app.action<BlockButtonAction>(
    { type: 'block_actions', action_id: CREDENTIAL_NOT_ME },
    async ({ ack, body, action }) => {
      await ack();
      if (!action.value) return;
      await deps.dispatcher.dispatch({
        id: `credential-not-me:${action.value}:${body.user.id}:${action.action_ts}`,
        type: 'credential-not-me',
        payload: { linkId: action.value, userId: body.user.id, responseUrl: body.response_url },
      });
    },
  );
}
