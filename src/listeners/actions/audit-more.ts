import type { App, BlockButtonAction } from '@slack/bolt';
import { AUDIT_MORE } from '../../blocks/ids.js';
import type { Deps } from '../../deps.js';
import { auditAnswer } from '../commands/audit.js';
import { answerRefusal } from './request-errors.js';

/** More on `/iam audit`: the next page, in place of the one shown (re-authorized: approvers only). */
export function registerAuditMoreAction(app: App, deps: Deps): void {
  app.action<BlockButtonAction>(AUDIT_MORE, async ({ ack, body, action, respond }) => {
    await ack();
    try {
      const answer = await auditAnswer(deps, body.user.id, action.value ?? '');
      await respond({ response_type: 'ephemeral', replace_original: true, ...answer });
    } catch (error) {
      await answerRefusal(respond, error, 'read the audit trail');
    }
  });
}
