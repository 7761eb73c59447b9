import type { App, BlockButtonAction } from '@slack/bolt';
import type { Deps } from '../../deps.js';
import { DELETE_USER_CANCEL } from '../../kinds/delete-user/messages.js';
import { cancelDeletion } from '../../kinds/delete-user/signals.js';
import { answerRefusal } from './request-errors.js';

/** A deletion's Cancel (the DMs once its user is disabled): a signal to its run; the worker restores. */
export function registerDeleteUserActions(app: App, deps: Deps): void {
  app.action<BlockButtonAction>(DELETE_USER_CANCEL, async ({ ack, body, action, respond }) => {
    await ack();
    const dm = (text: string) => deps.messenger.post(body.user.id, { text });
    try {
      const { job, text } = await cancelDeletion(deps, action.value ?? '', body.user.id);
      // the job runs the woken run's next part; if the hand-off is lost, the one-minute task wakes it
      if (job) await deps.dispatcher.dispatch(job);
      if (body.channel?.id) await respond({ response_type: 'ephemeral', replace_original: false, text });
      else await dm(text);
    } catch (error) {
      await answerRefusal(body.channel?.id ? respond : undefined, error, DELETE_USER_CANCEL, dm);
    }
  });
}
