import type { App, BlockButtonAction } from '@slack/bolt';
import * as z from 'zod/mini';
import { parseButtonValue } from '../../blocks/button-value.js';
import { ROTATION_DELETE_FIRST, ROTATION_REACTIVATE, ROTATION_SWITCHED } from '../../blocks/ids.js';
import type { Deps } from '../../deps.js';
import { clickRotation, type RotationClick } from '../../kinds/rotate-key/rotation.js';
import { answerRotation } from '../../services/rotate-key-answer.js';
import { requestErrorText } from './request-errors.js';

const offerSchema = z.object({ u: z.string(), a: z.string(), k: z.string(), d: z.string() });

/** The buttons of a key rotation: delete the inactive key first; the owner's "I've switched" and "Reactivate". */
export function registerRotationActions(app: App, deps: Deps): void {
  // The button only says which keys were offered: every check runs again against IAM, and the inactive key is
  // deleted only if it is still the user's and still inactive.
  app.action<BlockButtonAction>(ROTATION_DELETE_FIRST, async ({ ack, body, action, respond }) => {
    await ack();
    const offer = parseButtonValue(offerSchema, action.value);
    if (!offer) return; // not a value this bot rendered
    const { u, a, k, d } = offer;
    const answer = await answerRotation(
      deps,
      body.user.id,
      { userName: u, account: a, keyId: k, deleteFirst: d },
      body.channel?.id ?? body.user.id,
    ).catch((error: unknown) => ({ text: requestErrorText(error, 'rotate-key') }));
    await respond({ response_type: 'ephemeral', replace_original: true, ...answer });
  });

  // Success is answered by the worker's DM once the key is changed; only a refusal is answered here.
  const onClick = (actionId: string, click: RotationClick) =>
    app.action<BlockButtonAction>(actionId, async ({ ack, body, action, respond }) => {
      await ack();
      try {
        // a signal to the rotation's run: the job (when it woke the run) runs its next part; if the hand-off is
        // lost, the runner's sweep starts it
        const { job } = await clickRotation(deps, action.value ?? '', body.user.id, click);
        if (job) await deps.dispatcher.dispatch(job);
      } catch (error) {
        await respond({ response_type: 'ephemeral', replace_original: false, text: requestErrorText(error, actionId) });
      }
    });
  onClick(ROTATION_SWITCHED, 'switched');
  onClick(ROTATION_REACTIVATE, 'reactivate');
}
