import type { App, BlockButtonAction } from '@slack/bolt';
import { KEY_ROTATE_NOW, KEY_SNOOZE } from '../../blocks/ids.js';
import type { Deps } from '../../deps.js';
import { authorizeKeyClick, parseKeyRef, snoozeKey } from '../../services/key-reminders.js';
import { answerRefusal } from './request-errors.js';

/**
 * The buttons of a key-age reminder (DM and App Home): "Rotate now" and "Snooze". Each click is re-authorized from the
 * ownership projection (the payload only names the key); the Slack function does that read (and, for Snooze, its one
 * transactional write), then hands the rest to the worker.
 */
export function registerKeyReminderActions(app: App, deps: Deps): void {
  // A click in the App Home has no response_url (Bolt gives no `respond`): answers go to the clicker's DM.
  const dm = (user: string) => (text: string) => deps.messenger.post(user, { text });

  app.action<BlockButtonAction>(KEY_ROTATE_NOW, async ({ ack, body, action, respond }) => {
    await ack();
    const ref = parseKeyRef(action.value);
    if (!ref) return; // not a value this bot rendered
    try {
      await authorizeKeyClick(deps, body.user.id, ref);
      await deps.dispatcher.dispatch({
        id: `key-rotate-now:${ref.account}:${ref.keyId}:${body.user.id}:${action.action_ts}`,
        type: 'key-rotate-now',
        payload: {
          ...ref,
          requester: body.user.id,
          channel: body.channel?.id ?? body.user.id,
          ...(body.response_url ? { responseUrl: body.response_url } : {}),
        },
      });
    } catch (error) {
      await answerRefusal(body.response_url ? respond : undefined, error, KEY_ROTATE_NOW, dm(body.user.id));
    }
  });

  app.action<BlockButtonAction>(KEY_SNOOZE, async ({ ack, body, action, respond }) => {
    await ack();
    const ref = parseKeyRef(action.value);
    if (!ref) return;
    try {
      const { until, already } = await snoozeKey(deps, body.user.id, ref);
      await deps.dispatcher.dispatch({
        id: `key-snoozed:${ref.account}:${ref.keyId}:${until}:${action.action_ts}`,
        type: 'key-snoozed',
        payload: {
          userName: ref.userName,
          until,
          already,
          clicker: body.user.id,
          fromHome: body.container?.type === 'view',
          ...(body.response_url ? { responseUrl: body.response_url } : {}),
        },
      });
    } catch (error) {
      await answerRefusal(body.response_url ? respond : undefined, error, KEY_SNOOZE, dm(body.user.id));
    }
  });
}
