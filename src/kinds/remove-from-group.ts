/** remove-from-group: an existing IAM user taken out of groups (at once for its owner or an approver of them). */
import { verifyChangeAtOnce } from '../services/kinds/change-at-once.js';
import { changeKind } from './change.js';

export const removeFromGroup = changeKind('remove-from-group', {
  // An inline command stores the request before asking IAM: the worker asks it, then decides whether the owner or
  // an approver of the groups asked, which needs no approval (verifyChangeAtOnce).
  verify: verifyChangeAtOnce(),
});
