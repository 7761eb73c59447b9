import type { App, BlockButtonAction } from '@slack/bolt';
import { JOB_RERUN } from '../../blocks/ids.js';
import type { Deps } from '../../deps.js';
import { rerunFailedJob } from '../../services/failed-jobs.js';
import { answerRefusal } from './request-errors.js';

/** Re-run on `/iam jobs`: an approver hands a failed job to the worker again (once, however often clicked). */
export function registerJobRerunAction(app: App, deps: Deps): void {
  app.action<BlockButtonAction>(JOB_RERUN, async ({ ack, body, action, respond }) => {
    await ack();
    try {
      const text = await rerunFailedJob(deps, action.value ?? '', body.user.id);
      await respond({ response_type: 'ephemeral', replace_original: false, text });
    } catch (error) {
      await answerRefusal(respond, error, 're-run');
    }
  });
}
