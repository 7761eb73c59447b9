import type { App, BlockButtonAction } from '@slack/bolt';
import type { Deps } from '../../deps.js';
import type { Job } from '../../jobs/types.js';
import { answerRefusal } from '../../listeners/actions/request-errors.js';
import { GRANT_REVIEWED, reviewBreakGlass } from './break-glass.js';
import { approveExtension, denyExtension, GRANT_EXTENSION_APPROVE, GRANT_EXTENSION_DENY } from './extension.js';
import { GRANT_DONE, GRANT_EXTEND } from './messages.js';
import { clickGrant, type GrantClick, grantLimits } from './signals.js';

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
  // in the approval channel: break-glass's Reviewed, an extension ask's Approve and Deny (approvers only)
  const onApproverClick = (
    actionId: string,
    decide: (value: string, user: string) => Promise<{ job?: Job; text: string }>,
  ) =>
    app.action<BlockButtonAction>(actionId, async ({ ack, body, action, respond }) => {
      await ack();
      const dm = (text: string) => deps.messenger.post(body.user.id, { text });
      try {
        const { job, text } = await decide(action.value ?? '', body.user.id);
        if (job) await deps.dispatcher.dispatch(job);
        await respond({ response_type: 'ephemeral', replace_original: false, text });
      } catch (error) {
        await answerRefusal(respond, error, actionId, dm);
      }
    });
  onApproverClick(GRANT_REVIEWED, (value, user) => reviewBreakGlass(deps, value, user));
  onApproverClick(GRANT_EXTENSION_APPROVE, (value, user) =>
    approveExtension(deps, value, user, (r) => grantLimits(deps.config.policy, r.groups).maxExtensions),
  );
  onApproverClick(GRANT_EXTENSION_DENY, (value, user) => denyExtension(deps, value, user));
}
