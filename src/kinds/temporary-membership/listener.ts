import type { App, BlockButtonAction } from '@slack/bolt';
import type { Deps } from '../../deps.js';
import { answerRefusal } from '../../listeners/actions/request-errors.js';
import { GRANT_DONE, GRANT_EXTEND } from './messages.js';
import { clickGrant, type GrantClick } from './signals.js';

/**
 * A temporary membership's buttons (the DM before its end, the App Home): Extend and "Done, remove now", signals to
 * its run; the clicker is answered here (ephemeral, or a DM from the App Home), the worker removes.
 */
export function registerTemporaryMembershipActions(app: App, deps: Deps): void {
  const onClick = (actionId: string, click: GrantClick) =>
    app.action<BlockButtonAction>(actionId, async ({ ack, body, action, respond }) => {
      await ack();
      const dm = (text: string) => deps.messenger.post(body.user.id, { text });
      try {
        const { job, text } = await clickGrant(deps, action.value ?? '', body.user.id, click);
        // the job runs the woken run's next part; if the hand-off is lost, the one-minute task wakes it
        if (job) await deps.dispatcher.dispatch(job);
        if (body.channel?.id) await respond({ response_type: 'ephemeral', replace_original: false, text });
        else await dm(text);
      } catch (error) {
        await answerRefusal(body.channel?.id ? respond : undefined, error, actionId, dm);
      }
    });
  onClick(GRANT_EXTEND, 'extend');
  onClick(GRANT_DONE, 'done');
}
