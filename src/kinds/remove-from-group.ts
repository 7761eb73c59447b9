/** remove-from-group: an existing IAM user taken out of groups (at once for its owner or an approver of them). */
import { changeKind } from './change.js';

export const removeFromGroup = changeKind('remove-from-group');
