import type { Deps } from '../deps.js';
import { accessReviewJobHandler, reviewAnswerJob } from './access-review.js';
import { credentialNotMeJob } from './credential-not-me.js';
import { keyRotateNowJob, keySnoozedJob } from './key-reminders.js';
import { keyScanJobHandler } from './key-scan.js';
import {
  leaverBackJob,
  leaverDeletionsJobHandler,
  leaverJob,
  offboardReactivateJob,
  ownerCheckJobHandler,
  ownerUnknownJob,
} from './leavers.js';
import { projectionRefreshJobHandler } from './projection-refresh.js';
import { provisionJob } from './provision.js';
import { publishHomeJob } from './publish-home.js';
import { publishRequestJob } from './publish-request.js';
import { reportJob } from './report.js';
import { requestUpdateJob } from './request-update.js';
import { runPartJob } from './run-part.js';
import { whoamiJob } from './whoami.js';

export type JobHandler = (deps: Deps, payload: Record<string, unknown>) => Promise<void>;

/** Every job type the worker runs. */
export const jobHandlers: Record<string, JobHandler> = {
  whoami: whoamiJob,
  'credential-not-me': credentialNotMeJob,
  provision: provisionJob,
  'publish-request': publishRequestJob,
  'request-update': requestUpdateJob,
  'publish-home': publishHomeJob,
  leaver: leaverJob,
  'leaver-back': leaverBackJob,
  'owner-unknown': ownerUnknownJob,
  'owner-check': ownerCheckJobHandler,
  'offboard-reactivate': offboardReactivateJob,
  /** An offboarding's `leavers.deleteAfterDays` day: the users nobody kept are deleted (delete-user requests). */
  'leaver-deletions': leaverDeletionsJobHandler,
  /** A continuation of a request's run on the resumable runner (src/services/runner). */
  'run-part': runPartJob,
  'key-scan': keyScanJobHandler,
  /** One part of one account's projection refresh, dispatched by the frequent schedule (fan-out). */
  'refresh-projection': projectionRefreshJobHandler,
  'key-rotate-now': keyRotateNowJob,
  'key-snoozed': keySnoozedJob,
  report: reportJob,
  /** One account's access review run (daily), and a review's Remove or Delete started as the clicker. */
  'access-review': accessReviewJobHandler,
  'review-answer': reviewAnswerJob,
};
