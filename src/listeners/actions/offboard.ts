import type { App, BlockButtonAction } from '@slack/bolt';
import * as z from 'zod/mini';
import { parseButtonValue } from '../../blocks/button-value.js';
import { OFFBOARD_REACTIVATE } from '../../blocks/ids.js';
import { GIVE_TO_ACTION, giveToModal } from '../../blocks/offboard.js';
import type { Deps } from '../../deps.js';
import { clickOffboardReactivate } from '../../services/kinds/offboard.js';
import { answerRefusal } from './request-errors.js';

const giveToSchema = z.object({ r: z.string(), a: z.string(), u: z.string() });

/**
 * The buttons of an offboarding report. Reactivate: decided on the server from the stored offboarding (approver, in
 * time, once), one conditional write, the worker restores the keys; the report updates in place. Give to: opens the
 * form for a set-owner request (its submission is checked like `/iam set-owner`, and approved as usual).
 */
export function registerOffboardActions(app: App, deps: Deps): void {
  app.action<BlockButtonAction>(OFFBOARD_REACTIVATE, async ({ ack, body, action, respond }) => {
    await ack();
    try {
      const { deleted } = await clickOffboardReactivate(deps, action.value ?? '', body.user.id);
      if (deleted.length)
        await respond({
          response_type: 'ephemeral',
          replace_original: false,
          text: `Reactivating the keys of the others. Not of ${deleted.map((n) => `\`${n}\``).join(', ')}: deleted by \`leavers.deleteAfterDays\`, and a deleted IAM user cannot be restored.`,
        });
    } catch (error) {
      await answerRefusal(respond, error, 'reactivate');
    }
  });

  app.action<BlockButtonAction>(GIVE_TO_ACTION, async ({ ack, body, action, client }) => {
    await ack();
    const parsed = parseButtonValue(giveToSchema, action.value);
    if (!parsed) return; // not a value this bot rendered
    const { r, a, u } = parsed;
    await client.views.open({
      trigger_id: body.trigger_id,
      view: giveToModal({
        requestId: r,
        account: a,
        userName: u,
        ...(body.channel?.id ? { channel: body.channel.id } : {}),
      }) as never,
    });
  });
}
