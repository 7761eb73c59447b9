import type { App } from '@slack/bolt';
import * as z from 'zod/mini';
import { FORM_INPUT, GIVE_TO_BLOCKS, GIVE_TO_MODAL } from '../../blocks/ids.js';
import type { Deps } from '../../deps.js';
import { ValidationError } from '../../errors.js';
import { checkChangeDraft, submitChangeRequest } from '../../services/kinds/change-requests.js';
import { requestErrorText } from '../actions/request-errors.js';

const contextSchema = z.object({
  requestId: z.string(),
  account: z.string(),
  userName: z.string(),
  channel: z.optional(z.string()),
});

/**
 * Give to (an offboarding report): a set-owner request for the IAM user, checked exactly as `/iam set-owner` checks
 * it (the user exists under a managed path, the new owner is not the owner already) and approved as usual. Problems
 * show on the form's fields.
 */
export function registerGiveToView(app: App, deps: Deps): void {
  app.view(GIVE_TO_MODAL, async ({ ack, body, view }) => {
    let context: z.infer<typeof contextSchema>;
    try {
      context = contextSchema.parse(JSON.parse(view.private_metadata || '{}'));
    } catch {
      await ack({
        response_action: 'errors',
        errors: { [GIVE_TO_BLOCKS.newOwner]: 'This form is broken; use the button again.' },
      });
      return;
    }
    const values = view.state.values as Record<string, Record<string, { selected_user?: string; value?: string }>>;
    const newOwner = values[GIVE_TO_BLOCKS.newOwner]?.[FORM_INPUT]?.selected_user ?? undefined;
    const justification = values[GIVE_TO_BLOCKS.justification]?.[FORM_INPUT]?.value ?? '';
    try {
      const checked = await checkChangeDraft(deps, {
        kind: 'set-owner',
        userName: context.userName,
        account: context.account,
        ...(newOwner ? { newOwner } : {}),
        justification,
      });
      await submitChangeRequest(deps, body.user.id, checked, {
        confirmToRequester: true,
        ...(context.channel ? { channel: context.channel } : {}),
      });
    } catch (error) {
      const fields = error instanceof ValidationError ? error.fields : { newOwner: requestErrorText(error, 'give to') };
      const errors: Record<string, string> = {};
      for (const [field, message] of Object.entries(fields)) {
        const block = field === 'justification' ? GIVE_TO_BLOCKS.justification : GIVE_TO_BLOCKS.newOwner;
        errors[block] = errors[block] ? `${errors[block]} ${message}` : message;
      }
      await ack({ response_action: 'errors', errors });
      return;
    }
    await ack();
  });
}
