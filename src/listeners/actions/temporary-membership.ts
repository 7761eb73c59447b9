import type { App, BlockButtonAction } from '@slack/bolt';
import type { Deps } from '../../deps.js';
import { GRANT_REVIEWED, reviewBreakGlass } from '../../kinds/temporary-membership/break-glass.js';
import { GRANT_DONE, GRANT_EXTEND } from '../../kinds/temporary-membership/messages.js';
import { clickGrant, type GrantClick } from '../../kinds/temporary-membership/signals.js';
import { answerRefusal } from './request-errors.js';

/**
 * A temporary membership's buttons (the DM before its end, the App Home): Extend and "Done, remove now", signals to
 * its run, and a break-glass grant's Reviewed; the clicker is answered here (ephemeral, or a DM from the App Home), the worker removes.
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
  // break-glass: Reviewed, on its post (and its escalation) in the approval channel: approvers only
  app.action<BlockButtonAction>(GRANT_REVIEWED, async ({ ack, body, action, respond }) => {
    await ack();
    const dm = (text: string) => deps.messenger.post(body.user.id, { text });
    try {
      const { job, text } = await reviewBreakGlass(deps, action.value ?? '', body.user.id);
      if (job) await deps.dispatcher.dispatch(job);
      await respond({ response_type: 'ephemeral', replace_original: false, text });
    } catch (error) {
      await answerRefusal(respond, error, GRANT_REVIEWED, dm);
    }
  });
}
