/**
 * The life cycle of a request, and who may decide it. Every transition is a conditional write on the stored request
 * (its version), decided from the stored request and the policy only, and recorded in the audit trail; the approval
 * message and the requester follow each change. One module per verb under ./requests/; this file is their public face.
 */

export type { ApprovalOutcome } from './requests/approve.js';
export { approveRequest, startProvisioning } from './requests/approve.js';
export { auditEvent, recordSystemAudit } from './requests/audit.js';
export type { ClickOptions, RequestDeps } from './requests/common.js';
export { abandonAtFrom, auditSubject, kindOf, newRequestId, provisionJob, reservesName } from './requests/common.js';
export { checkCanDeny, denyRequest } from './requests/deny.js';
export type { FollowUp, Reply } from './requests/follow-up.js';
export { followUpRequest, refreshApproverHomes, requestUpdateJob } from './requests/follow-up.js';
export { AnsweredConflictError } from './requests/pending.js';
export type { RetryOutcome } from './requests/retry-abandon.js';
export { abandonRequest, retryRequest } from './requests/retry-abandon.js';
export type { ApprovalRule } from './requests/rules.js';
export {
  approvalRule,
  approversOf,
  authorizeApprover,
  isAmong,
  isApprover,
  mayDecide,
  ruleOf,
} from './requests/rules.js';
export type { SubmitOptions } from './requests/submit.js';
export { publishRequest, publishRequestJob, submitRequest } from './requests/submit.js';
export {
  abandonExpiredFailures,
  expireDueRequests,
  expireRequest,
  failStalledProvisioning,
} from './requests/sweeps.js';
export {
  renderApprovalMessage,
  syncApprovalMessage,
  tell,
  tellApproversOfFailure,
  tellRequester,
} from './requests/tell.js';
